"""Train the tiny Wan pipeline on the procedural clips.

    .venv/bin/python -m sencache_train.train --out models/tiny-wan-t2v --minutes 70 --vae-minutes 12 --seed 0

1. VAE (AutoencoderKLWan): reconstruction (MSE + L1) + small KL, on fresh clips of the training triples.
2. Encode a fixed pool of clips (posterior means); set the VAE's latents_mean / latents_std from their
   per-channel statistics, so normalised latents are (z - mean) / std, exactly what WanPipeline undoes.
3. Transformer + text encoder: flow matching, x_t = (1 - s) x0 + s e, target v = e - x0, s from a
   shifted logit-normal / uniform mixture (shift = the scheduler's flow_shift), timestep = 1000 s;
   10 % of prompts replaced by "" (the pipeline's default negative prompt) for classifier-free guidance.
   AdamW, warm-up, cosine decay over the time budget, EMA of weights; checkpoints (EMA weights) via
   save_pretrained every --ckpt-minutes.

Continued training (`--resume DIR`): load a saved pipeline, keep its VAE and latent normalisation as they
are, encode a fresh pool (`--pool-offset`) with the frozen encoder and train transformer + text encoder
further for a fixed number of steps (`--steps`, so the result does not depend on machine load).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch

from . import dataset, model as M
from .checkpoint import meta, save


def log(fh, msg: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    fh.write(line + "\n")
    fh.flush()


def to_video(clips: np.ndarray) -> torch.Tensor:
    """(B, F, H, W, 3) in [0, 1] -> (B, 3, F, H, W) in [-1, 1]."""
    return torch.from_numpy(clips).permute(0, 4, 1, 2, 3).contiguous() * 2.0 - 1.0


def decode_unclamped(vae, z: torch.Tensor) -> torch.Tensor:
    """AutoencoderKLWan._decode without the final clamp (so gradients never vanish at the range ends)."""
    vae.clear_cache()
    x = vae.post_quant_conv(z)
    outs = []
    for i in range(z.shape[2]):
        vae._conv_idx = [0]
        outs.append(vae.decoder(x[:, :, i : i + 1], feat_cache=vae._feat_map, feat_idx=vae._conv_idx, first_chunk=(i == 0)))
    vae.clear_cache()
    return torch.cat(outs, 2)


def lr_at(step_frac: float, step: int, base: float, warmup: int) -> float:
    w = min(1.0, (step + 1) / warmup)
    return base * w * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step_frac))))


def train_vae(pipe, args, fh) -> None:
    vae = pipe.vae
    vae.train()
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    t0 = time.time()
    budget = args.vae_minutes * 60
    step = 0
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = lr_at(frac, step, args.vae_lr, 30)
        clips, _ = dataset.batch(args.seed + 1000, step * args.vae_batch, args.vae_batch)
        x = to_video(clips)
        post = vae.encode(x).latent_dist
        z = post.sample(generator=None)
        y = decode_unclamped(vae, z)
        rec = (y - x).pow(2).mean() + 0.5 * (y - x).abs().mean()
        kl = post.kl().mean() / z[0].numel()
        loss = rec + args.kl * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        if step % 10 == 0:
            log(fh, f"vae step {step} rec {rec.item():.5f} kl {kl.item():.4f} lr {opt.param_groups[0]['lr']:.2e} t {time.time() - t0:.0f}s")
        step += 1
    vae.eval()


@torch.no_grad()
def vae_eval(vae, seed: int, n: int = 64) -> dict:
    clips, _ = dataset.batch(seed, 0, n, split="heldout")
    x = to_video(clips)
    z = vae.encode(x).latent_dist.mode()
    y = vae.decode(z).sample
    mse = (y - x).pow(2).mean().item() / 4.0  # in [0, 1] units
    return {"mse01": mse, "psnr": 10 * math.log10(1.0 / mse)}


@torch.no_grad()
def encode_pool(pipe, args, fh, keep_stats: bool = False) -> tuple[torch.Tensor, list[str]]:
    vae = pipe.vae
    zs, prompts = [], []
    t0 = time.time()
    for start in range(0, args.pool, 32):
        clips, specs = dataset.batch(args.seed + 2000, args.pool_offset + start, 32)
        zs.append(vae.encode(to_video(clips)).latent_dist.mode())
        prompts += [s.prompt for s in specs]
        if start % 1024 == 0:
            log(fh, f"encoded {start + 32}/{args.pool} t {time.time() - t0:.0f}s")
    z = torch.cat(zs)
    if keep_stats:  # continued training: the transformer already lives in this normalisation
        mean = torch.tensor(vae.config.latents_mean, dtype=z.dtype)
        std = torch.tensor(vae.config.latents_std, dtype=z.dtype)
    else:
        mean = z.mean(dim=(0, 2, 3, 4))
        std = z.std(dim=(0, 2, 3, 4))
        vae.register_to_config(latents_mean=[float(v) for v in mean], latents_std=[float(v) for v in std])
    log(fh, f"latents_mean {mean.numpy().round(3).tolist()} latents_std {std.numpy().round(3).tolist()}")
    zn = (z - mean.view(1, -1, 1, 1, 1)) / std.view(1, -1, 1, 1, 1)
    return zn, prompts


def text_embeds(te, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Same as WanPipeline._get_t5_prompt_embeds: encoder output, zeroed past each prompt's length."""
    h = te(ids, mask).last_hidden_state
    return h * mask.unsqueeze(-1).to(h.dtype)


def train_transformer(pipe, zn, prompts, args, fh) -> None:
    tr, te, tok = pipe.transformer, pipe.text_encoder, pipe.tokenizer
    tr.train()
    te.train()
    full = sorted(set(prompts))
    partial = {p: dataset.partial_prompts(p) for p in full} if args.p_partial > 0 else {}
    uniq = sorted(set(full).union(*partial.values())) + [""]
    index = {p: i for i, p in enumerate(uniq)}
    # row i: the partial prompts of prompt i (by index), for prompts of the pool
    vtab = torch.full((len(uniq), len(next(iter(partial.values()), []))), -1, dtype=torch.long)
    for p, qs in partial.items():
        vtab[index[p]] = torch.tensor([index[q] for q in qs])
    t = tok(uniq, padding="max_length", max_length=M.MAX_SEQ, truncation=True, add_special_tokens=True,
            return_attention_mask=True, return_tensors="pt")
    all_ids, all_mask = t.input_ids, t.attention_mask
    pid = torch.tensor([index[p] for p in prompts])
    empty = index[""]
    params = list(tr.parameters()) + list(te.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ema_tr = {k: v.detach().clone() for k, v in tr.state_dict().items()}
    ema_te = {k: v.detach().clone() for k, v in te.state_dict().items()}
    g = torch.Generator().manual_seed(args.seed + 3)
    rng = np.random.default_rng(args.seed + 4)
    t0 = time.time()
    last_ckpt = t0
    budget = args.minutes * 60
    step, run = 0, None
    shift = M.SHIFT
    while True:
        el = time.time() - t0
        if args.steps:  # fixed step budget: cosine over steps, independent of machine load
            if step >= args.steps:
                break
            frac = step / args.steps
        else:
            if el >= budget:
                break
            frac = el / budget
        lr = lr_at(frac, step, args.lr, args.warmup)
        for gr in opt.param_groups:
            gr["lr"] = lr
        idx = torch.from_numpy(rng.integers(0, zn.shape[0], args.batch))
        x0 = zn[idx]
        # augmentation-free; prompt dropout for CFG
        p = pid[idx].clone()
        if args.p_partial > 0:  # leave out some attributes (never the shape) from a share of the prompts
            cut = torch.rand(args.batch, generator=g) < args.p_partial
            which = torch.randint(0, vtab.shape[1], (args.batch,), generator=g)
            p[cut] = vtab[p[cut], which[cut]]
        p[torch.rand(args.batch, generator=g) < args.p_uncond] = empty
        ids, mask = all_ids[p], all_mask[p]
        half = args.batch // 2
        u = torch.cat([torch.sigmoid(torch.randn(half, generator=g)), torch.rand(args.batch - half, generator=g)])
        s = shift * u / (1 + (shift - 1) * u)
        e = torch.randn(x0.shape, generator=g)
        sv = s.view(-1, 1, 1, 1, 1)
        xt = (1 - sv) * x0 + sv * e
        emb = text_embeds(te, ids, mask)
        v = tr(xt, s * 1000.0, emb, return_dict=False)[0]
        loss = (v - (e - x0)).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for sd, mod in ((ema_tr, tr), (ema_te, te)):
                for k, val in mod.state_dict().items():
                    if val.dtype.is_floating_point:
                        sd[k].mul_(decay).add_(val.detach(), alpha=1 - decay)
        run = loss.item() if run is None else 0.98 * run + 0.02 * loss.item()
        if step % 50 == 0:
            log(fh, f"dit step {step} loss {loss.item():.4f} avg {run:.4f} lr {lr:.2e} t {el:.0f}s")
        step += 1
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            save(pipe, args.out, ema_tr, ema_te, meta(args, step, run, time.time() - t0))
            log(fh, f"checkpoint at step {step} -> {args.out}")
            last_ckpt = time.time()
    save(pipe, args.out, ema_tr, ema_te, meta(args, step, run, time.time() - t0, final=True))
    log(fh, f"final checkpoint at step {step} -> {args.out}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/tiny-wan-t2v")
    ap.add_argument("--minutes", type=float, default=70.0, help="transformer training time")
    ap.add_argument("--vae-minutes", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vae-batch", type=int, default=8)
    ap.add_argument("--vae-lr", type=float, default=1e-3)
    ap.add_argument("--kl", type=float, default=1e-3)
    ap.add_argument("--pool", type=int, default=6144)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--p-uncond", type=float, default=0.1)
    ap.add_argument("--p-partial", type=float, default=0.0,
                    help="share of prompts that leave out some of colour / motion / background (dataset.partial_prompts)")
    ap.add_argument("--ckpt-minutes", type=float, default=10.0)
    ap.add_argument("--log", default=None)
    ap.add_argument("--resume", default=None, help="continue training the transformer + text encoder of this saved pipeline")
    ap.add_argument("--steps", type=int, default=0, help="transformer step budget (overrides --minutes when > 0)")
    ap.add_argument("--pool-offset", type=int, default=0, help="first data-set index of the latent pool")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fh = open(args.log or args.out.rstrip("/") + ".log", "a")
    log(fh, f"args {vars(args)}")
    if args.resume:
        from diffusers import WanPipeline

        pipe = WanPipeline.from_pretrained(args.resume, dtype=torch.float32)
        pipe._sencache_tokenizer_dir = os.path.join(args.resume, "tokenizer")
        prev = os.path.join(args.resume, "training.json")
        args._previous = json.load(open(prev)) if os.path.exists(prev) else None
        args._vae_eval = vae_eval(pipe.vae, args.seed + 5000)
        log(fh, f"resumed from {args.resume}; vae held-out reconstruction {args._vae_eval}")
        zn, prompts = encode_pool(pipe, args, fh, keep_stats=True)
    else:
        pipe = M.build(args.seed)
        log(fh, f"params vae {M.count(pipe.vae)} text {M.count(pipe.text_encoder)} transformer {M.count(pipe.transformer)}")
        train_vae(pipe, args, fh)
        args._vae_eval = vae_eval(pipe.vae, args.seed + 5000)
        log(fh, f"vae held-out reconstruction {args._vae_eval}")
        zn, prompts = encode_pool(pipe, args, fh)
    train_transformer(pipe, zn, prompts, args, fh)


if __name__ == "__main__":
    main()
