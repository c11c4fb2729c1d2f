"""The tiny pipeline builder and the reference CLI the TypeScript parity tests use as ground truth."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import torch

from sencache_fixtures import tiny
from conftest import PY_DIR, rng_latent, worker_env


def test_build_is_deterministic_and_tiny(tiny_dir, tmp_path):
    again = tiny.build(tmp_path / "again")
    for part in ("transformer/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                 "text_encoder/model.safetensors"):
        assert (again / part).read_bytes() == (tiny_dir / part).read_bytes()
    assert json.loads((tiny_dir / "sencache.json").read_text())["defaults"]["height"] == 32
    assert sum(f.stat().st_size for f in tiny_dir.rglob("*") if f.is_file()) < 2_000_000


def test_reference_cli_writes_the_pipelines_latents(tmp_path):
    from diffusers import DiffusionPipeline

    model = tiny.build(tmp_path / "unipc", scheduler="unipc")
    out = tmp_path / "ref.bin"
    subprocess.run(
        [sys.executable, "-m", "sencache_fixtures.tiny", "reference", "--model", str(model), "--prompt", "a cat",
         "--negative-prompt", "blurry", "--seed", "3", "--steps", "3", "--guidance", "4.0", "--height", "32",
         "--width", "32", "--frames", "5", "--max-sequence-length", "16", "--out", str(out)],
        cwd=str(PY_DIR), env=worker_env(), check=True, capture_output=True, timeout=120,
    )
    shape = json.loads((tmp_path / "ref.bin.json").read_text())["shape"]
    got = np.fromfile(out, dtype="<f4").reshape(shape)
    pipe = DiffusionPipeline.from_pretrained(str(model), dtype=torch.float32)
    assert type(pipe.scheduler).__name__ == "UniPCMultistepScheduler"
    pipe.set_progress_bar_config(disable=True)
    want = pipe(prompt="a cat", negative_prompt="blurry", height=32, width=32, num_frames=5, num_inference_steps=3,
                guidance_scale=4.0, generator=torch.Generator().manual_seed(3), output_type="latent",
                max_sequence_length=16).frames
    assert shape == [1, 4, 2, 4, 4]
    np.testing.assert_array_equal(got, want.numpy())


def test_bfloat16_load_denoises(client, tiny_dir, model):
    from sencache_worker import protocol as P

    loaded = client.ok("load", source=str(tiny_dir), dtype="bfloat16").result
    bf = loaded["model"]
    assert bf != model["model"]
    # A bf16 model answers in bf16 on the wire (the TS edge widens it); the bits widen exactly to float32.
    assert loaded["wire_dtype"] == "bfloat16"
    cond = client.ok("encode_prompt", model=bf, text="a cat").result["cond"]
    x = rng_latent((1, 4, 2, 4, 4))
    out = client.ok("denoise", [P.tensor("x", x)], model=bf, items=[P.DenoiseItem(cond, 500.0, "cond")]).get("out")
    assert out.dtype == "bfloat16" and out.array.dtype == np.uint16 and out.array.shape == x.shape
    widened = (out.array.astype(np.uint32) << 16).view(np.float32)
    assert np.isfinite(widened).all() and np.abs(widened).max() > 0
    assert client.ok("release", handles=[bf]).result == {"released": 1}
    assert client.call("encode_prompt", model=bf, text="x").error.code == P.UNKNOWN_MODEL
