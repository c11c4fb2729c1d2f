"""A tiny random Wan-family pipeline built from configs, and the reference sampler used as ground truth.

    python -m sencache_worker.tiny build --out DIR [--scheduler flow-euler|unipc] [--seed S]
    python -m sencache_worker.tiny reference --model DIR --prompt P [--negative-prompt N] --seed S
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# Latent geometry and defaults of the tiny model (sencache.json carries them to the worker).
TINY_DEFAULTS = {
    "height": 32,
    "width": 32,
    "num_frames": 5,
    "guidance_scale": 5.0,
    "num_inference_steps": 10,
    "max_sequence_length": 16,
}

_WORDS = (
    "a an the of in on at with and is are to from over under through into "
    "red green blue yellow orange purple white black grey pink "
    "cat dog bird fish car ball box circle square triangle tree house river sky sun moon "
    "running jumping flying walking spinning moving rolling sitting falling rising "
    "slowly quickly big small bright dark night day city forest beach snow rain"
).split()


def _tokenizer():
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in _WORDS:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=512
    ), len(vocab)


SCHEDULERS = ("flow-euler", "unipc", "dpm")


def _scheduler(kind: str):
    from diffusers import (
        DPMSolverMultistepScheduler,
        FlowMatchEulerDiscreteScheduler,
        UniPCMultistepScheduler,
    )

    if kind == "flow-euler":
        return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0)
    if kind == "unipc":
        return UniPCMultistepScheduler(
            num_train_timesteps=1000,
            prediction_type="flow_prediction",
            use_flow_sigmas=True,
            flow_shift=3.0,
        )
    if kind == "dpm":
        # dpmsolver++ order 2 on flow sigmas: a deterministic multistep solver the Wan transformer can drive.
        return DPMSolverMultistepScheduler(
            num_train_timesteps=1000,
            prediction_type="flow_prediction",
            use_flow_sigmas=True,
            flow_shift=3.0,
            algorithm_type="dpmsolver++",
            solver_order=2,
        )
    raise ValueError(f"unknown scheduler {kind!r}; use one of {', '.join(SCHEDULERS)}")


def build_pipeline(scheduler: str = "flow-euler", seed: int = 0):
    """A random tiny WanPipeline in memory (deterministic for a given seed)."""
    import torch
    from diffusers import AutoencoderKLWan, WanPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer, vocab_size = _tokenizer()
    z_dim, text_dim = 4, 16
    torch.manual_seed(seed)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=vocab_size,
            d_model=text_dim,
            d_kv=8,
            d_ff=32,
            num_layers=1,
            num_heads=2,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=16,
            dropout_rate=0.0,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    ).eval()
    torch.manual_seed(seed + 1)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=z_dim,
        out_channels=z_dim,
        text_dim=text_dim,
        freq_dim=16,
        ffn_dim=32,
        num_layers=2,
        rope_max_seq_len=32,
    ).eval()
    torch.manual_seed(seed + 2)
    vae = AutoencoderKLWan(
        base_dim=4,
        z_dim=z_dim,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        latents_mean=[0.1, -0.2, 0.05, 0.0],
        latents_std=[1.5, 0.8, 1.2, 1.0],
    ).eval()
    return WanPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=_scheduler(scheduler),
        transformer=transformer,
    )


def build(out: str | os.PathLike, scheduler: str = "flow-euler", seed: int = 0) -> Path:
    """Write the tiny pipeline to `out`, with its sencache.json, and check it loads back."""
    from diffusers import DiffusionPipeline

    out = Path(out)
    pipe = build_pipeline(scheduler, seed)
    pipe.save_pretrained(out, safe_serialization=True)
    (out / "sencache.json").write_text(json.dumps({"defaults": TINY_DEFAULTS}, indent=2) + "\n")
    DiffusionPipeline.from_pretrained(str(out))  # the users' path must work
    return out


def reference(
    model: str,
    prompt: str,
    negative_prompt: str,
    seed: int,
    steps: int,
    guidance: float,
    height: int,
    width: int,
    frames: int,
    max_sequence_length: int,
):
    """Final latents of the pipeline's own sampling loop, float32 [1, C, F', H', W']."""
    import torch
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(model, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    out = pipe(
        prompt=prompt,
        negative_prompt=negative_prompt,
        height=height,
        width=width,
        num_frames=frames,
        num_inference_steps=steps,
        guidance_scale=guidance,
        generator=torch.Generator().manual_seed(seed),
        output_type="latent",
        max_sequence_length=max_sequence_length,
    )
    return out.frames.float().contiguous()


def _model_defaults(model: str) -> dict:
    path = Path(model) / "sencache.json"
    if path.is_file():
        return json.loads(path.read_text()).get("defaults", {})
    return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sencache_worker.tiny", description=__doc__.split("\n")[0])
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
    latents = reference(
        args.model,
        args.prompt,
        args.negative_prompt,
        args.seed,
        args.steps if args.steps is not None else int(d["num_inference_steps"]),
        args.guidance if args.guidance is not None else float(d["guidance_scale"]),
        args.height if args.height is not None else int(d["height"]),
        args.width if args.width is not None else int(d["width"]),
        args.frames if args.frames is not None else int(d["num_frames"]),
        args.max_sequence_length if args.max_sequence_length is not None else int(d.get("max_sequence_length", 512)),
    )
    arr = latents.numpy().astype("<f4", copy=False)
    Path(args.out).write_bytes(arr.tobytes())
    Path(args.out + ".json").write_text(json.dumps({"shape": list(arr.shape)}) + "\n")
    print(json.dumps({"out": args.out, "shape": list(arr.shape)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
