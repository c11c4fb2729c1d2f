#!/usr/bin/env python
"""Reference PSNR / SSIM (numpy only) and the golden numbers test/bench/metrics.test.ts checks.

scikit-image is not a dependency of this project, so this script re-implements exactly what
`skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255, channel_axis=-1)` computes, step by step:

  * inputs as float64;
  * separable Gaussian filter, sigma 1.5, radius r = int(3.5 * 1.5 + 0.5) = 5 (11 taps, weights
    exp(-x^2 / (2 sigma^2)) normalised to sum 1), boundary mode "reflect" (scipy.ndimage's
    half-sample symmetric: d c b a | a b c d | d c b a), applied along rows then columns;
  * ux, uy, uxx, uyy, uxy = filtered x, y, x*x, y*y, x*y; vx = uxx - ux^2, vy = uyy - uy^2,
    vxy = uxy - ux*uy (population covariance);
  * C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2;
    S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2));
  * the mean of S over the interior (a margin of r pixels cropped on every side), per channel,
    then averaged over the 3 channels.

This project's extensions (skimage raises for images smaller than 11x11):
  * per axis the radius is clipped to r_axis = min(5, (n - 1) // 2) (window 2 r_axis + 1, the
    Gaussian weights truncated there and renormalised) and the crop margin is r_axis;
  * a video's SSIM is the mean over frames of each frame's SSIM;
  * "luma" mode: SSIM of Y = 0.299 R + 0.587 G + 0.114 B (float64, not rounded), data_range 255.
PSNR: 10 log10(255^2 / MSE), MSE over every value of every frame; identical inputs -> 100 (cap).
psnr_latent: peak = max(ref) - min(ref) of the reference (uncached) latent, in float64.

Test inputs come from xorshift32 (test/media/helpers.ts `pseudoRandomBytes` implements the same).

Usage:
    .venv/bin/python scripts/ssim-reference.py           # (re)write test/bench/metrics-goldens.json
    .venv/bin/python scripts/ssim-reference.py --check   # exit 1 when the committed goldens differ
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parent.parent / "test" / "bench" / "metrics-goldens.json"
PSNR_CAP = 100.0


def xorshift_bytes(n: int, seed: int) -> np.ndarray:
    s = (seed & 0xFFFFFFFF) or 1
    out = np.empty(n, dtype=np.uint8)
    for i in range(n):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        out[i] = s & 0xFF
    return out


def gaussian_taps(radius: int, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (sigma * sigma) * x * x)
    return w / w.sum()


def reflect_index(i: int, n: int) -> int:
    # scipy.ndimage mode "reflect" (half-sample symmetric), valid for |overhang| <= n.
    if i < 0:
        return -i - 1
    if i >= n:
        return 2 * n - i - 1
    return i


def filter_axis(img: np.ndarray, axis: int, radius: int) -> np.ndarray:
    n = img.shape[axis]
    taps = gaussian_taps(radius)
    out = np.zeros_like(img)
    moved = np.moveaxis(img, axis, 0)
    res = np.moveaxis(out, axis, 0)
    for i in range(n):
        acc = np.zeros_like(moved[0])
        for k in range(-radius, radius + 1):
            acc = acc + taps[k + radius] * moved[reflect_index(i + k, n)]
        res[i] = acc
    return out


def gaussian2d(img: np.ndarray, ry: int, rx: int) -> np.ndarray:
    return filter_axis(filter_axis(img, 0, ry), 1, rx)


def ssim_plane(x: np.ndarray, y: np.ndarray, data_range: float = 255.0) -> float:
    h, w = x.shape
    ry, rx = min(5, (h - 1) // 2), min(5, (w - 1) // 2)
    f = lambda im: gaussian2d(im, ry, rx)
    ux, uy = f(x), f(y)
    uxx, uyy, uxy = f(x * x), f(y * y), f(x * y)
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s[ry:h - ry, rx:w - rx].mean())


def ssim_frame(a: np.ndarray, b: np.ndarray, mode: str) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    if mode == "luma":
        wts = np.array([0.299, 0.587, 0.114])
        return ssim_plane(a @ wts, b @ wts)
    return float(np.mean([ssim_plane(a[..., c], b[..., c]) for c in range(3)]))


def ssim_video(a: np.ndarray, b: np.ndarray, mode: str = "rgb") -> tuple[float, list[float]]:
    per = [ssim_frame(a[i], b[i], mode) for i in range(a.shape[0])]
    return float(np.mean(per)), per


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(peak * peak / mse))


def psnr_latent(ref: np.ndarray, other: np.ndarray) -> float:
    ref, other = ref.astype(np.float64), other.astype(np.float64)
    mse = float(np.mean((ref - other) ** 2))
    peak = float(ref.max() - ref.min())
    if mse == 0:
        return PSNR_CAP
    if peak == 0:
        return -PSNR_CAP
    return min(PSNR_CAP, 10 * math.log10(peak * peak / mse))


# --------------------------------------------------------------------------- cases
# Every case is [F, H, W, 3] uint8; the TS test rebuilds them from these formulas.

def perturb(a: np.ndarray, seed: int, amp: int) -> np.ndarray:
    """b = clip(a + (r % (2 amp + 1)) - amp) with r = xorshift bytes."""
    r = xorshift_bytes(a.size, seed).reshape(a.shape).astype(np.int64)
    return np.clip(a.astype(np.int64) + r % (2 * amp + 1) - amp, 0, 255).astype(np.uint8)


def pattern(f: int, h: int, w: int) -> np.ndarray:
    """a[i, y, x, c] = (3x + 5y + 7i + 60c + ((x * y) >> 3)) % 256 (smooth-ish, integer maths)."""
    i, y, x, c = np.meshgrid(np.arange(f), np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return ((3 * x + 5 * y + 7 * i + 60 * c + ((x * y) >> 3)) % 256).astype(np.uint8)


def cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    noise = xorshift_bytes(2 * 32 * 32 * 3, 1).reshape(2, 32, 32, 3)
    smooth = pattern(3, 24, 20)
    small = xorshift_bytes(2 * 5 * 7 * 3, 3).reshape(2, 5, 7, 3)
    video = pattern(9, 32, 32)
    return {
        "noise_32": (noise, perturb(noise, 2, 20)),
        "pattern_quantised": (smooth, (smooth // 16) * 16),
        "small_5x7": (small, perturb(small, 4, 30)),
        "video_9x32x32": (video, perturb(video, 5, 6)),
    }


def latent_case() -> tuple[np.ndarray, np.ndarray]:
    """ref[i] = f32(((i * 37) % 101 - 50) / 25), other[i] = f32(ref[i] + ((i * 13) % 7 - 3) / 200)."""
    i = np.arange(240)
    ref = (((i * 37) % 101 - 50) / 25).astype(np.float32)
    other = (ref.astype(np.float64) + ((i * 13) % 7 - 3) / 200).astype(np.float32)
    return ref, other


def goldens() -> dict:
    out: dict = {"psnr_cap": PSNR_CAP, "cases": {}}
    for name, (a, b) in cases().items():
        s_rgb, per_rgb = ssim_video(a, b, "rgb")
        s_luma, _ = ssim_video(a, b, "luma")
        out["cases"][name] = {
            "shape": list(a.shape),
            "psnr": float(f"{psnr(a, b):.12g}"),
            "ssim": float(f"{s_rgb:.12g}"),
            "ssim_per_frame": [float(f"{v:.12g}") for v in per_rgb],
            "ssim_luma": float(f"{s_luma:.12g}"),
        }
    ref, other = latent_case()
    out["latent"] = {"n": int(ref.size), "psnr_latent": float(f"{psnr_latent(ref, other):.12g}")}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = json.dumps(goldens(), indent=2) + "\n"
    if args.check:
        if not GOLDEN.exists() or GOLDEN.read_text() != text:
            print(f"{GOLDEN} would change", file=sys.stderr)
            return 1
        print("goldens up to date")
        return 0
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(text)
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
