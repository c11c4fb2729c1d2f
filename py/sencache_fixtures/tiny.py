"""A tiny random Wan-family pipeline built from configs, and the reference sampler used as ground truth.

    python -m sencache_fixtures.tiny build --out DIR [--scheduler flow-euler|unipc] [--seed S]
    python -m sencache_fixtures.tiny reference --model DIR --prompt P [--negative-prompt N] --seed S
        --steps K --guidance G [--height H --width W --frames F --max-sequence-length L] --out FILE

`build` writes a real `WanPipeline` (WanTransformer3DModel, AutoencoderKLWan, UMT5EncoderModel, a local
word-level tokenizer, the scheduler Wan ships with its flow shift) with `save_pretrained`, then loads it back
through `DiffusionPipeline.from_pretrained` to prove users' load path works. Nothing is downloaded.

`reference` runs `WanPipeline.__call__(..., output_type="latent", generator=torch.Generator().manual_seed(S))`
and writes the final latents as raw float32 little-endian bytes to FILE and `{"shape": [...]}` to FILE.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .families import wan
from .parts import FLOW_SIGMAS, TINY_WORDS, run_reference, save

# Latent geometry and defaults of the tiny model (sencache.json carries them to the worker).
TINY_DEFAULTS = {
    "height": 32,
    "width": 32,
    "num_frames": 5,
    "guidance_scale": 5.0,
    "num_inference_steps": 10,
    "max_sequence_length": 16,
}

SCHEDULERS = ("flow-euler", "unipc", "dpm")


def _scheduler(kind: str):
    from diffusers import DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

    if kind == "flow-euler":
        return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0)
    if kind == "unipc":
        return UniPCMultistepScheduler(**FLOW_SIGMAS)
    if kind == "dpm":
        # dpmsolver++ order 2 on flow sigmas: a deterministic multistep solver the Wan transformer can drive.
        return DPMSolverMultistepScheduler(**FLOW_SIGMAS, algorithm_type="dpmsolver++", solver_order=2)
    raise ValueError(f"unknown scheduler {kind!r}; use one of {', '.join(SCHEDULERS)}")


def build_pipeline(scheduler: str = "flow-euler", seed: int = 0):
    """A random tiny WanPipeline in memory (deterministic for a given seed): families.py's Wan 2.1 T2V parts with
    this module's vocabulary and scheduler."""
    return wan("t2v", seed, words=TINY_WORDS, scheduler=_scheduler(scheduler))[0]


def build(out: str | os.PathLike, scheduler: str = "flow-euler", seed: int = 0) -> Path:
    """Write the tiny pipeline to `out`, with its sencache.json, and check it loads back."""
    return save(build_pipeline(scheduler, seed), out, {"defaults": TINY_DEFAULTS})


def _model_defaults(model: str) -> dict:
    path = Path(model) / "sencache.json"
    if path.is_file():
        return json.loads(path.read_text()).get("defaults", {})
    return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sencache_fixtures.tiny", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write the tiny random Wan pipeline to a folder")
    b.add_argument("--out", required=True)
    b.add_argument("--scheduler", choices=list(SCHEDULERS), default="flow-euler")
    b.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("reference", help="run WanPipeline.__call__ and write its final latents")
    r.add_argument("--model", required=True)
    r.add_argument("--prompt", required=True)
    r.add_argument("--negative-prompt", default="")
    r.add_argument("--seed", type=int, required=True)
    r.add_argument("--steps", type=int, default=None)
    r.add_argument("--guidance", type=float, default=None)
    r.add_argument("--height", type=int, default=None)
    r.add_argument("--width", type=int, default=None)
    r.add_argument("--frames", type=int, default=None)
    r.add_argument("--max-sequence-length", type=int, default=None)
    r.add_argument("--threads", type=int, default=None)
    r.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import torch

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    if args.cmd == "build":
        path = build(args.out, args.scheduler, args.seed)
        print(str(path))
        return 0

    d = {**TINY_DEFAULTS, **_model_defaults(args.model)} if _model_defaults(args.model) else {
        "height": 480, "width": 832, "num_frames": 81, "guidance_scale": 5.0,
        "num_inference_steps": 50, "max_sequence_length": 512,
    }
    call = {
        "prompt": args.prompt,
        "negative_prompt": args.negative_prompt,
        "seed": args.seed,
        "height": args.height if args.height is not None else int(d["height"]),
        "width": args.width if args.width is not None else int(d["width"]),
        "num_frames": args.frames if args.frames is not None else int(d["num_frames"]),
        "num_inference_steps": args.steps if args.steps is not None else int(d["num_inference_steps"]),
        "guidance_scale": args.guidance if args.guidance is not None else float(d["guidance_scale"]),
        "max_sequence_length": args.max_sequence_length if args.max_sequence_length is not None else int(d.get("max_sequence_length", 512)),
    }
    run_reference(args.model, call, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
