"""sencache worker: serves full denoiser evaluations of diffusers video pipelines over ZeroMQ (proto/SPEC.md)."""

import os

# The worker never downloads: a model id must already be in the local Hugging Face cache.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

__version__ = "0.1.0"
WORKER_NAME = "sencache-worker"
