"""GPU check helper (scripts/gpu-check.sh): random-init pipelines with transformers shaped like the released models,
and the in-process per-step time of the worker's own denoise path.

    python scripts/gpu_check.py build --family wan|cogvideox|ltx --out DIR [--tiny]   -> JSON {height, width, frames}
    python scripts/gpu_check.py time --model DIR --device cuda --dtype bfloat16 --steps N --height H --width W --frames F

The transformer has the released model's block stack (width, depth, heads, patch, latent channels) with random
weights; the text encoder, tokenizer and VAE are the tiny ones of the test fixtures (the text projection takes their
16-dim embeddings instead of 4096: a negligible part of a step). --tiny shrinks the stack and the latent so the whole
check runs on a CPU in seconds (to know the script works); the shapes of a real check are in SHAPES.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

# latent [C, F', H', W'] of the released models' default sizes, and their transformer configs.
SHAPES = {
    "wan": {"latent": [16, 21, 60, 104], "label": "Wan 2.1 T2V 1.3B, 480x832, 81 frames"},
    "cogvideox": {"latent": [16, 13, 60, 90], "label": "CogVideoX-5b, 480x720, 49 frames"},
    "ltx": {"latent": [128, 16, 16, 24], "label": "LTX-Video 0.9, 512x768, 121 frames"},
}
TINY_LATENT = {"wan": [16, 3, 8, 8], "cogvideox": [16, 3, 8, 8], "ltx": [128, 2, 4, 4]}


def _transformer(family: str, tiny: bool, text_dim: int):
    import torch
    from diffusers import CogVideoXTransformer3DModel, LTXVideoTransformer3DModel, WanTransformer3DModel

    torch.manual_seed(0)
    if family == "wan":  # Wan2.1-T2V-1.3B: dim 1536 = 12 x 128, 30 layers, ffn 8960
        return WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2 if tiny else 12, attention_head_dim=16 if tiny else 128,
            in_channels=16, out_channels=16, text_dim=text_dim, freq_dim=256, ffn_dim=64 if tiny else 8960,
            num_layers=1 if tiny else 30, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
            rope_max_seq_len=1024,
        )
    if family == "cogvideox":  # CogVideoX-5b: 48 heads x 64, 42 layers, rotary
        return CogVideoXTransformer3DModel(
            num_attention_heads=2 if tiny else 48, attention_head_dim=16 if tiny else 64, in_channels=16,
            out_channels=16, time_embed_dim=8 if tiny else 512, text_embed_dim=text_dim, num_layers=1 if tiny else 42,
            sample_width=8 if tiny else 90, sample_height=8 if tiny else 60, sample_frames=9 if tiny else 49,
            patch_size=2, temporal_compression_ratio=4, max_text_seq_length=8,
            use_rotary_positional_embeddings=True,
        )
    # LTX-Video 0.9: 32 heads x 64, 28 layers, 128 latent channels, patch 1
    return LTXVideoTransformer3DModel(
        in_channels=128, out_channels=128, patch_size=1, patch_size_t=1, num_attention_heads=2 if tiny else 32,
        attention_head_dim=16 if tiny else 64, cross_attention_dim=32 if tiny else 2048, num_layers=1 if tiny else 28,
        caption_channels=text_dim,
    )


def build(family: str, out: str, tiny: bool) -> dict:
    import torch

    if family == "wan":
        from sencache_fixtures.tiny import build_pipeline

        from diffusers import AutoencoderKLWan

        pipe = build_pipeline("flow-euler", 0)
        text_dim = pipe.text_encoder.config.d_model
        # the adapter takes the latent channels from the VAE: a tiny VAE with Wan 2.1's 16
        pipe.register_modules(vae=AutoencoderKLWan(
            base_dim=4, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True],
            latents_mean=[0.0] * 16, latents_std=[1.0] * 16,
        ).eval())
    else:
        from sencache_fixtures import families

        pipe, _ = families.CASES["cogvideox-5b" if family == "cogvideox" else "ltx"][0](0)
        text_dim = families.TEXT_DIM
    pipe.transformer = None
    shaped = _transformer(family, tiny, text_dim).to(torch.bfloat16).eval()
    pipe.register_modules(transformer=shaped)
    pipe.save_pretrained(out, safe_serialization=True)
    from sencache_worker.adapters import load

    adapter = load(out, torch.device("cpu"), "float32", None)
    info = adapter.info()
    c, f, h, w = TINY_LATENT[family] if tiny else SHAPES[family]["latent"]
    size = {"height": h * info.latent.spatial_scale, "width": w * info.latent.spatial_scale, "frames": (f - 1) * info.latent.temporal_scale + 1}
    # sencache.json with the size and 10 steps, as a model folder carries its defaults
    (Path(out) / "sencache.json").write_text(json.dumps({"defaults": {
        "height": size["height"], "width": size["width"], "num_frames": size["frames"], "guidance_scale": 5.0,
        "num_inference_steps": 10, "max_sequence_length": 8}}) + "\n")
    return {**size, "latent": [c, f, h, w], "label": SHAPES[family]["label"] + (" (tiny stand-in)" if tiny else "")}


def time_steps(model: str, device: str, dtype: str, steps: int, height: int, width: int, frames: int) -> dict:
    import numpy as np
    import torch

    from sencache_worker.adapters import load
    from sencache_worker.devices import resolve_device

    dev = resolve_device(device, torch)
    adapter = load(model, dev, dtype, None)
    c, _ = adapter.encode_prompt("a red square", 8)[0], None
    u = adapter.encode_prompt("", 8)[0]
    x = adapter.prepare_latents(0, height, width, frames)
    x2 = np.concatenate([x, x])
    ts = np.linspace(999, 50, steps + 2, dtype=np.float32)
    times = []
    for i, t in enumerate(ts):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        adapter.denoise(x2, np.array([t, t], np.float32), [c, u])  # returns numpy: synchronised
        if i >= 2:  # two warm-up steps
            times.append((time.perf_counter() - t0) * 1000)
    return {"ms_per_step": statistics.median(times), "steps": len(times), "latent": list(x.shape), "device": str(dev)}


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--family", choices=list(SHAPES), required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--tiny", action="store_true")
    t = sub.add_parser("time")
    for k in ("model", "device", "dtype"):
        t.add_argument(f"--{k}", required=True)
    for k in ("steps", "height", "width", "frames"):
        t.add_argument(f"--{k}", type=int, required=True)
    a = p.parse_args()
    if a.cmd == "build":
        print(json.dumps(build(a.family, a.out, a.tiny)))
    else:
        print(json.dumps(time_steps(a.model, a.device, a.dtype, a.steps, a.height, a.width, a.frames)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
