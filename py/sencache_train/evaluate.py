"""Generate clips for held-out prompts with the real WanPipeline and score them with the checker.

    .venv/bin/python -m sencache_train.evaluate --model models/tiny-wan-t2v --n 48 --steps 50
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from . import checker, dataset


def load(model: str):
    from diffusers import WanPipeline

    pipe = WanPipeline.from_pretrained(model)
    pipe.set_progress_bar_config(disable=True)
    with open(os.path.join(model, "sencache.json")) as f:
        defaults = json.load(f)
    return pipe, defaults


def generate(pipe, defaults: dict, prompts: list[str], seeds: list[int], steps: int, guidance: float) -> np.ndarray:
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    out = pipe(
        prompt=prompts,
        height=defaults["height"],
        width=defaults["width"],
        num_frames=defaults["num_frames"],
        num_inference_steps=steps,
        guidance_scale=guidance,
        max_sequence_length=defaults["max_sequence_length"],
        generator=gens,
        output_type="np",
    )
    return np.asarray(out.frames)


def check_dataset(n: int, seed: int) -> dict:
    specs, reads = [], []
    for split in ("train", "heldout"):
        for i in range(n // 2):
            x, s = dataset.clip(seed, i, split)
            specs.append(s)
            reads.append(checker.read(x))
    return checker.score(reads, specs)


@torch.no_grad()
def check_reconstructions(pipe, n: int, seed: int) -> dict:
    """The checker on VAE round trips (encode -> mode -> decode) of held-out data-set clips: the ceiling
    the generations can reach through this VAE."""
    clips, specs = dataset.batch(seed, 0, n, split="heldout")
    x = torch.from_numpy(clips).permute(0, 4, 1, 2, 3) * 2 - 1
    y = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mode()).sample
    mse = float(((y - x) ** 2).mean() / 4)
    rec = ((y.permute(0, 2, 3, 4, 1).numpy() + 1) / 2).clip(0, 1)
    res = checker.score([checker.read(c) for c in rec], specs)
    res["psnr"] = round(10 * np.log10(1 / mse), 2)
    return res


@torch.no_grad()
def time_forward(pipe, defaults: dict, reps: int = 200) -> dict:
    """Median wall time of one transformer forward on a CFG pair (batch 2) at the default size."""
    tr = pipe.transformer
    z = tr.config.in_channels
    f = (defaults["num_frames"] - 1) // pipe.vae_scale_factor_temporal + 1
    h = defaults["height"] // pipe.vae_scale_factor_spatial
    w = defaults["width"] // pipe.vae_scale_factor_spatial
    x = torch.randn(2, z, f, h, w)
    emb = torch.randn(2, defaults["max_sequence_length"], tr.config.text_dim)
    t = torch.tensor([500.0, 500.0])
    for _ in range(10):
        tr(x, t, emb, return_dict=False)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        tr(x, t, emb, return_dict=False)
        ts.append(time.perf_counter() - t0)
    return {"median_ms": round(1000 * float(np.median(ts)), 2), "p10_ms": round(1000 * float(np.percentile(ts, 10)), 2),
            "threads": torch.get_num_threads(), "latent": [2, z, f, h, w]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/tiny-wan-t2v")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--split", choices=("heldout", "train"), default="heldout")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dataset-check", type=int, default=0, help="also score the checker on this many data-set clips")
    ap.add_argument("--recon-check", type=int, default=0, help="also score the checker on this many VAE round trips")
    ap.add_argument("--time-forward", action="store_true", help="also time one transformer forward on a CFG pair")
    ap.add_argument("--png", default=None, help="write a contact sheet of the generations here")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.dataset_check:
        print("checker on data-set clips:", json.dumps(check_dataset(args.dataset_check, args.seed + 100)))
    pipe, defaults = load(args.model)
    if args.time_forward:
        print("transformer forward, CFG pair:", json.dumps(time_forward(pipe, defaults)))
    if args.recon_check:
        print("checker on VAE reconstructions:", json.dumps(check_reconstructions(pipe, args.recon_check, args.seed + 200)))
    if args.n == 0:
        return
    steps = args.steps or defaults["num_inference_steps"]
    guidance = defaults["guidance_scale"] if args.guidance is None else args.guidance
    if args.split == "heldout":
        specs = dataset.heldout_prompts(args.n, args.seed)
    else:
        rng = np.random.default_rng([args.seed, 8])
        specs = [dataset.sample_spec(rng) for _ in range(args.n)]
    t0 = time.time()
    clips = []
    for b in range(0, args.n, args.batch):
        sl = specs[b : b + args.batch]
        clips.append(generate(pipe, defaults, [s.prompt for s in sl], [args.seed * 100000 + b + i for i in range(len(sl))], steps, guidance))
    clips = np.concatenate(clips)
    secs = time.time() - t0
    reads = [checker.read(c) for c in clips]
    if args.verbose:
        for s, r in zip(specs, reads):
            print(f"{s.prompt:55s} -> {r.colour} {r.shape} {r.motion} on {r.background}")
    res = checker.score(reads, specs)
    res.update(split=args.split, steps=steps, guidance=guidance, seed=args.seed, seconds=round(secs, 1))
    print("generations:", json.dumps(res))
    if args.png:
        from PIL import Image

        rows = [np.concatenate(list(c), axis=1) for c in clips]
        sheet = (np.concatenate(rows, axis=0) * 255).clip(0, 255).astype(np.uint8)
        Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST).save(args.png)


if __name__ == "__main__":
    main()
