"""Procedural clips of one coloured shape on a flat background, with a prompt from a small grammar.

"a red square moving left on a blue background"

Everything is a pure function of a seed (numpy only, nothing on disk). Clips are float32 arrays of
shape (F, H, W, 3) in [0, 1]; F = 9 frames (4k+1, as Wan's VAE wants), H = W = 32.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

FRAMES = 9
SIZE = 32

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.10, 0.10),
    "green": (0.10, 0.75, 0.15),
    "blue": (0.10, 0.20, 0.90),
    "yellow": (0.95, 0.85, 0.10),
    "white": (0.95, 0.95, 0.95),
    "black": (0.05, 0.05, 0.05),
}
SHAPES = ("square", "circle", "triangle")
MOTIONS = ("moving left", "moving right", "moving up", "moving down", "growing", "shrinking", "rotating")

# Words of the grammar: the tokenizer's vocabulary.
VOCAB = sorted({w for phrase in ["a on background", *COLOURS, *SHAPES, *MOTIONS] for w in phrase.split()})

TRAVEL = 11.0  # pixels travelled by a moving shape over the clip
# the largest circumradius a shape travelling TRAVEL px can have and keep its path (plus 1 px) inside the frame
MAX_MOVING_RADIUS = (SIZE - TRAVEL) / 2 - 1.0
ROTATION = 40.0  # degrees turned by a rotating shape over the clip


def all_triples() -> list[tuple[str, str, str]]:
    """(colour, shape, motion) triples the grammar allows (a circle does not visibly rotate)."""
    return [
        (c, s, m)
        for c, s, m in itertools.product(COLOURS, SHAPES, MOTIONS)
        if not (s == "circle" and m == "rotating")
    ]


def _heldout() -> frozenset[tuple[str, str, str]]:
    triples = all_triples()
    rng = np.random.default_rng(20240611)
    while True:
        pick = [triples[i] for i in rng.choice(len(triples), size=16, replace=False)]
        rest = [t for t in triples if t not in pick]
        # every colour, shape and motion, and every pair of them, must still be seen in training
        ok = all(
            {(t[i], t[j]) for t in rest} >= {(t[i], t[j]) for t in triples}
            for i, j in ((0, 1), (0, 2), (1, 2))
        )
        if ok:
            return frozenset(pick)


HELDOUT: frozenset[tuple[str, str, str]] = _heldout()
TRAIN_TRIPLES: tuple[tuple[str, str, str], ...] = tuple(t for t in all_triples() if t not in HELDOUT)
HELDOUT_TRIPLES: tuple[tuple[str, str, str], ...] = tuple(t for t in all_triples() if t in HELDOUT)


@dataclass(frozen=True)
class ClipSpec:
    colour: str
    shape: str
    motion: str
    background: str
    cx: float  # start centre (pixels)
    cy: float
    radius: float  # start radius of the circumscribed circle (pixels)
    angle: float  # start angle (degrees)

    @property
    def prompt(self) -> str:
        return prompt_for(self.colour, self.shape, self.motion, self.background)


def prompt_for(colour: str, shape: str, motion: str, background: str) -> str:
    return f"a {colour} {shape} {motion} on a {background} background"


_PROMPT = re.compile(r"^a (\w+) (\w+) (.+) on a (\w+) background$")


def partial_prompts(prompt: str) -> list[str]:
    """The prompts that state the same shape but leave out one or more of colour, motion and background
    (7 of them, in a fixed order), e.g. "a red square on a blue background", "a square moving left".
    Training on some of these makes each word's effect less tied to the words beside it."""
    m = _PROMPT.match(prompt)
    if m is None:
        raise ValueError(f"not a prompt of the grammar: {prompt!r}")
    colour, shape, motion, background = m.groups()
    out = []
    for drop in range(1, 8):  # bit 0: colour, bit 1: motion, bit 2: background
        words = ["a"] + ([] if drop & 1 else [colour]) + [shape] + ([] if drop & 2 else [motion])
        words += [] if drop & 4 else ["on", "a", background, "background"]
        out.append(" ".join(words))
    return out


def sample_spec(rng: np.random.Generator, triples=TRAIN_TRIPLES, background: str | None = None) -> ClipSpec:
    colour, shape, motion = triples[rng.integers(len(triples))]
    if background is None:
        others = [c for c in COLOURS if c != colour]
        background = others[rng.integers(len(others))]
    if motion == "growing":
        radius = rng.uniform(5.5, 6.5)
    elif motion == "shrinking":
        radius = rng.uniform(11.5, 12.5)
    else:
        radius = rng.uniform(8.0, MAX_MOVING_RADIUS)
    end_radius = radius * _scale(motion, 1.0)
    margin = max(radius, end_radius) + 1.0
    lo, hi = margin, SIZE - margin
    cx, cy = rng.uniform(lo, hi), rng.uniform(lo, hi)
    half = TRAVEL / 2
    # keep the whole path inside the frame: centre the path around a point at least `half` from edges
    if motion in ("moving left", "moving right"):
        mid = rng.uniform(lo + half, hi - half)
        cx = mid + half if motion == "moving left" else mid - half
    elif motion in ("moving up", "moving down"):
        mid = rng.uniform(lo + half, hi - half)
        cy = mid + half if motion == "moving up" else mid - half
    return ClipSpec(colour, shape, motion, background, float(cx), float(cy), float(radius), 0.0)


def _scale(motion: str, s: float) -> float:
    if motion == "growing":
        return 1.0 + 1.0 * s  # radius doubles
    if motion == "shrinking":
        return 1.0 - 0.5 * s  # radius halves
    return 1.0


def _coverage(shape: str, x: np.ndarray, y: np.ndarray, r: float, angle_deg: float) -> np.ndarray:
    """Boolean inside-test at points (x, y) relative to the centre; r = circumradius."""
    a = np.deg2rad(angle_deg)
    ca, sa = np.cos(a), np.sin(a)
    u = ca * x + sa * y
    v = -sa * x + ca * y
    if shape == "circle":
        return u * u + v * v <= (0.85 * r) ** 2  # circles a bit smaller: similar area to the others
    if shape == "square":
        h = r / np.sqrt(2.0)
        return (np.abs(u) <= h) & (np.abs(v) <= h)
    if shape == "triangle":
        # equilateral, pointing up (image y grows downwards); inradius = r / 2
        inside = np.ones_like(u, dtype=bool)
        for k in range(3):
            t = np.deg2rad(90.0 + 120.0 * k)
            inside &= (u * np.cos(t) + v * np.sin(t)) <= r / 2
        return inside
    raise ValueError(shape)


_SS = 4  # supersampling per axis
_sub = (np.arange(SIZE * _SS) + 0.5) / _SS
_GX, _GY = np.meshgrid(_sub, _sub)


def render(spec: ClipSpec, frames: int = FRAMES) -> np.ndarray:
    """The clip as float32 (F, H, W, 3) in [0, 1]."""
    fg = np.array(COLOURS[spec.colour], np.float32)
    bg = np.array(COLOURS[spec.background], np.float32)
    out = np.empty((frames, SIZE, SIZE, 3), np.float32)
    for f in range(frames):
        s = f / (frames - 1)
        cx, cy, angle = spec.cx, spec.cy, spec.angle
        if spec.motion == "moving left":
            cx -= TRAVEL * s
        elif spec.motion == "moving right":
            cx += TRAVEL * s
        elif spec.motion == "moving up":
            cy -= TRAVEL * s
        elif spec.motion == "moving down":
            cy += TRAVEL * s
        elif spec.motion == "rotating":
            angle += ROTATION * s
        r = spec.radius * _scale(spec.motion, s)
        inside = _coverage(spec.shape, _GX - cx, _GY - cy, r, angle)
        cov = inside.reshape(SIZE, _SS, SIZE, _SS).mean(axis=(1, 3)).astype(np.float32)[..., None]
        out[f] = bg * (1.0 - cov) + fg * cov
    return out


def clip(seed: int, index: int, split: str = "train") -> tuple[np.ndarray, ClipSpec]:
    """Clip number `index` of the stream for `seed` (train triples or held-out triples)."""
    rng = np.random.default_rng([seed, index, 0 if split == "train" else 1])
    spec = sample_spec(rng, TRAIN_TRIPLES if split == "train" else HELDOUT_TRIPLES)
    return render(spec), spec


def batch(seed: int, start: int, n: int, split: str = "train") -> tuple[np.ndarray, list[ClipSpec]]:
    clips, specs = zip(*(clip(seed, start + i, split) for i in range(n)))
    return np.stack(clips), list(specs)


def heldout_prompts(n: int, seed: int = 0) -> list[ClipSpec]:
    """n evaluation specs cycling through the held-out triples, backgrounds drawn from the seed."""
    rng = np.random.default_rng([seed, 7])
    specs = []
    for i in range(n):
        c, s, m = HELDOUT_TRIPLES[i % len(HELDOUT_TRIPLES)]
        others = [b for b in COLOURS if b != c]
        specs.append(ClipSpec(c, s, m, others[rng.integers(len(others))], 0.0, 0.0, 0.0, 0.0))
    return specs
