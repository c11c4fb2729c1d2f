"""Fine-tune only the VAE decoder (encoder frozen), so the latent space the transformer learned is unchanged.

    .venv/bin/python -m sencache_train.finetune_decoder --model models/tiny-wan-t2v --out /tmp/vae-ft --minutes 15

Reads the VAE from --model, writes the fine-tuned VAE (save_pretrained) to --out; copy it over
<model>/vae when the transformer training no longer writes the model directory.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from diffusers import AutoencoderKLWan

from . import dataset
from .checkpoint import tidy_saved
from .train import decode_unclamped, lr_at, to_video


@torch.no_grad()
def psnr(vae, seed: int, n: int = 64) -> float:
    x = to_video(dataset.batch(seed, 0, n, split="heldout")[0])
    y = vae.decode(vae.encode(x).latent_dist.mode()).sample
    return 10 * math.log10(4.0 / (y - x).pow(2).mean().item())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/tiny-wan-t2v")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-minutes", type=float, default=5.0)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vae = AutoencoderKLWan.from_pretrained(args.model, subfolder="vae")
    print(f"held-out PSNR before {psnr(vae, args.seed + 5000):.2f} dB", flush=True)
    vae.requires_grad_(False)
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    t0 = last = time.time()
    budget = args.minutes * 60
    step = 0
    while time.time() - t0 < budget:
        for g in opt.param_groups:
            g["lr"] = lr_at((time.time() - t0) / budget, step, args.lr, 20)
        x = to_video(dataset.batch(args.seed + 3000, step * args.batch, args.batch)[0])
        with torch.no_grad():
            z = vae.encode(x).latent_dist.mode()
        y = decode_unclamped(vae, z)
        loss = (y - x).pow(2).mean() + 0.5 * (y - x).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 20 == 0:
            print(f"[{time.strftime('%H:%M:%S')}] dec step {step} loss {loss.item():.5f} t {time.time() - t0:.0f}s", flush=True)
        step += 1
        if time.time() - last > args.save_minutes * 60:
            vae.save_pretrained(args.out)
            tidy_saved(args.out, None)
            last = time.time()
    vae.save_pretrained(args.out)
    tidy_saved(args.out, None)
    print(f"held-out PSNR after {psnr(vae, args.seed + 5000):.2f} dB ({step} steps)", flush=True)


if __name__ == "__main__":
    main()
