"""Prompt-following checker: reads a clip back into (colour, shape, motion, background). numpy only.

    background  the palette colour most border pixels are nearest to
    foreground  the palette colour nearest the median of the pixels far from the background
    mask        per pixel, coverage c = projection of (pixel - bg) onto (fg - bg); foreground where c > 0.5,
                restricted to the largest 4-connected component of each frame
    shape       median over frames of A / (pi R^2), A = area, R = largest centroid-to-boundary distance:
                ~1 for a disc, 2/pi = 0.64 for a square, 0.41 for an equilateral triangle (rotation-invariant)
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

CIRCLE_MIN = 0.79  # A / (pi R^2) above: circle
SQUARE_MIN = 0.595  # between: square; below: triangle
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


def _profile(mask: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """Largest distance from the centroid to a foreground pixel corner, per angle bin."""
    ys, xs = np.nonzero(mask)
    prof = np.zeros(ANG_BINS)
    # sample 4 sub-points per pixel for a smoother boundary
    for oy in (0.25, 0.75):
        for ox in (0.25, 0.75):
            dx, dy = xs + ox - cx, ys + oy - cy
            b = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * ANG_BINS).astype(int) % ANG_BINS
            np.maximum.at(prof, b, np.hypot(dx, dy))
    return prof


def read(clip: np.ndarray) -> Reading:
    """clip: (F, H, W, 3) floats in [0, 1] (or uint8)."""
    v = np.asarray(clip, np.float32)
    if v.max() > 1.5:
        v = v / 255.0
    f, h, w, _ = v.shape
    border = np.concatenate([v[:, 0], v[:, -1], v[:, :, 0], v[:, :, -1]], axis=1).reshape(-1, 3)
    bg_i = int(np.bincount(_nearest(border), minlength=len(_NAMES)).argmax())
    bg = _PAL[bg_i]
    dist = np.sqrt(((v - bg) ** 2).sum(-1))
    far = dist > 0.5 * max(dist.max(), 1e-6)
    fg_i = int(_nearest(np.median(v[far], axis=0))) if far.any() else bg_i
    fg = _PAL[fg_i]
    d = fg - bg
    cov = np.clip(((v - bg) @ d) / max(float(d @ d), 1e-6), 0.0, 1.0)
    feats: dict = {"area": [], "cx": [], "cy": [], "ratio": []}
    profiles = []
    for k in range(f):
        m = _largest_component(cov[k] > 0.5)
        area = float(m.sum())
        if area < 2:
            feats["area"].append(0.0)
            feats["cx"].append(np.nan)
            feats["cy"].append(np.nan)
            feats["ratio"].append(np.nan)
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
        profiles.append(prof)
    ratio = float(np.nanmedian(feats["ratio"])) if np.isfinite(feats["ratio"]).any() else 0.0
    shape = "circle" if ratio >= CIRCLE_MIN else "square" if ratio >= SQUARE_MIN else "triangle"
    feats["shape_ratio"] = ratio
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
