"""Prompt-following checker: reads a clip back into (colour, shape, motion, background). numpy only.

    background  the palette colour most border pixels are nearest to
    foreground  the palette colour nearest the median of the pixels far from the background
    mask        per pixel, coverage c = projection of (pixel - bg) onto (fg - bg); foreground where c > 0.5,
                restricted to the largest 4-connected component of each frame
    shape       the polar boundary profile r(theta) around the centroid (largest distance per 10-degree bin),
                its Fourier harmonics 3 and 4 relative to its mean: a triangle has a strong 3rd (0.15 on
                data-set clips), a square a strong 4th (0.08), a disc neither (< 0.02). Rotation-invariant and
                tolerant of blur; median over the larger half of the frames. Polygon when the harmonic
                exceeds HARMONIC_MIN (about twice the largest a data-set disc shows), else circle.
                (The compactness A / (pi R^2) is reported as a feature too.)
    motion      centroid displacement first -> last frames (moving left/right/up/down), else the area ratio
                (growing/shrinking), else the rotation that best aligns the polar boundary profile of the
                first frame with the last (rotating), else "still"
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dataset import COLOURS, MOTIONS, SHAPES

_NAMES = list(COLOURS)
_PAL = np.array([COLOURS[n] for n in _NAMES], np.float32)

HARMONIC_MIN = 0.03  # relative amplitude of the 3rd / 4th harmonic of the boundary profile
SHAPE_BINS = 36
MOVE_MIN = 4.0  # pixels of centroid travel
GROW = 1.8  # area ratio
SHRINK = 0.55
ROT_MIN_GAIN = 0.25  # relative drop of the profile mismatch when rotated
ANG_BINS = 72


@dataclass
class Reading:
    colour: str
    shape: str
    motion: str
    background: str
    features: dict


def _nearest(rgb: np.ndarray) -> np.ndarray:
    d = ((rgb[..., None, :] - _PAL) ** 2).sum(-1)
    return d.argmin(-1)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    best: list[tuple[int, int]] = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        stack, comp = [(y0, x0)], []
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            comp.append((y, x))
            for yy, xx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                    seen[yy, xx] = True
                    stack.append((yy, xx))
        if len(comp) > len(best):
            best = comp
    out = np.zeros_like(mask, dtype=bool)
    if best:
        ys, xs = zip(*best)
        out[list(ys), list(xs)] = True
    return out


def _profile(mask: np.ndarray, cx: float, cy: float, bins: int = ANG_BINS, sub: int = 2) -> np.ndarray:
    """Largest distance from the centroid to a foreground sub-pixel point, per angle bin."""
    ys, xs = np.nonzero(mask)
    prof = np.zeros(bins)
    offs = (np.arange(sub) + 0.5) / sub
    for oy in offs:
        for ox in offs:
            dx, dy = xs + ox - cx, ys + oy - cy
            b = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * bins).astype(int) % bins
            np.maximum.at(prof, b, np.hypot(dx, dy))
    return prof


def _harmonics(mask: np.ndarray, cx: float, cy: float) -> tuple[float, float]:
    prof = _profile(mask, cx, cy, SHAPE_BINS, 4)
    f = np.abs(np.fft.rfft(prof)) / SHAPE_BINS / max(prof.mean(), 1e-6)
    return float(f[3]), float(f[4])


def border(clip: np.ndarray) -> np.ndarray:
    """The outermost pixel ring of every frame of a (F, H, W, 3) clip, as (F, 2H + 2W, 3)."""
    return np.concatenate([clip[:, 0], clip[:, -1], clip[:, :, 0], clip[:, :, -1]], axis=1)


def read(clip: np.ndarray) -> Reading:
    """clip: (F, H, W, 3) floats in [0, 1] (or uint8)."""
    v = np.asarray(clip, np.float32)
    if v.max() > 1.5:
        v = v / 255.0
    f, h, w, _ = v.shape
    bg_i = int(np.bincount(_nearest(border(v).reshape(-1, 3)), minlength=len(_NAMES)).argmax())
    bg = _PAL[bg_i]
    dist = np.sqrt(((v - bg) ** 2).sum(-1))
    far = dist > 0.5 * max(dist.max(), 1e-6)
    fg_i = int(_nearest(np.median(v[far], axis=0))) if far.any() else bg_i
    fg = _PAL[fg_i]
    d = fg - bg
    cov = np.clip(((v - bg) @ d) / max(float(d @ d), 1e-6), 0.0, 1.0)
    feats: dict = {"area": [], "cx": [], "cy": [], "ratio": [], "h3": [], "h4": []}
    profiles = []
    for k in range(f):
        m = _largest_component(cov[k] > 0.5)
        area = float(m.sum())
        if area < 2:
            feats["area"].append(0.0)
            feats["cx"].append(np.nan)
            feats["cy"].append(np.nan)
            feats["ratio"].append(np.nan)
            feats["h3"].append(np.nan)
            feats["h4"].append(np.nan)
            profiles.append(None)
            continue
        ys, xs = np.nonzero(m)
        cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
        prof = _profile(m, cx, cy)
        r = prof.max()
        feats["area"].append(area)
        feats["cx"].append(cx)
        feats["cy"].append(cy)
        feats["ratio"].append(area / (np.pi * r * r))
        h3, h4 = _harmonics(m, cx, cy)
        feats["h3"].append(h3)
        feats["h4"].append(h4)
        profiles.append(prof)
    area = np.array(feats["area"])
    big = area >= max(np.median(area[area > 0]) if (area > 0).any() else 0, 2)
    if big.any():
        ratio = float(np.median(np.array(feats["ratio"])[big]))
        h3 = float(np.median(np.array(feats["h3"])[big]))
        h4 = float(np.median(np.array(feats["h4"])[big]))
    else:
        ratio = h3 = h4 = 0.0
    shape = "circle" if max(h3, h4) < HARMONIC_MIN else "triangle" if h3 >= h4 else "square"
    feats.update(shape_ratio=ratio, shape_h3=h3, shape_h4=h4)
    motion = _motion(feats, profiles)
    return Reading(_NAMES[fg_i], shape, motion, _NAMES[bg_i], feats)


def _ends(vals: list[float]) -> tuple[float, float]:
    a = np.array(vals, float)
    ok = np.isfinite(a)
    if ok.sum() < 2:
        return np.nan, np.nan
    a = a[ok]
    return float(a[:2].mean()), float(a[-2:].mean())


def _motion(feats: dict, profiles: list) -> str:
    x0, x1 = _ends(feats["cx"])
    y0, y1 = _ends(feats["cy"])
    if not np.isfinite(x0):
        feats["why"] = "no foreground"
        return "still"
    dx, dy = x1 - x0, y1 - y0
    area = np.array(feats["area"])
    a0, a1 = area[:2].mean(), area[-2:].mean()
    feats.update(dx=dx, dy=dy, area_ratio=a1 / max(a0, 1e-6))
    if max(abs(dx), abs(dy)) >= MOVE_MIN:
        if abs(dx) >= abs(dy):
            return "moving left" if dx < 0 else "moving right"
        return "moving up" if dy < 0 else "moving down"
    if feats["area_ratio"] >= GROW:
        return "growing"
    if feats["area_ratio"] <= SHRINK:
        return "shrinking"
    p = [q for q in profiles if q is not None]
    first, last = p[0], p[-1]
    errs = np.array([np.abs(first - np.roll(last, s)).mean() for s in range(-ANG_BINS // 6, ANG_BINS // 6 + 1)])
    e0 = errs[ANG_BINS // 6]
    gain = (e0 - errs.min()) / max(e0, 1e-6)
    feats["rot_gain"] = float(gain)
    feats["rot_deg"] = float((errs.argmin() - ANG_BINS // 6) * 360 / ANG_BINS)
    if gain >= ROT_MIN_GAIN and abs(feats["rot_deg"]) >= 10:
        return "rotating"
    return "still"


def score(readings: list[Reading], specs: list) -> dict:
    """Accuracy per attribute (and all four together) against ClipSpec-like objects."""
    keys = ("colour", "background", "shape", "motion")
    hits = {k: [getattr(r, k) == getattr(s, k) for r, s in zip(readings, specs)] for k in keys}
    out = {k: float(np.mean(v)) for k, v in hits.items()}
    out["all"] = float(np.mean([all(hits[k][i] for k in keys) for i in range(len(specs))]))
    out["n"] = len(specs)
    return out


assert set(MOTIONS) | {"still"} and set(SHAPES)
