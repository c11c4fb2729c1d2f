"""What one request may cost: argument bounds the worker enforces before any work and reports in `hello`.

Every bound is a worker option (`--limit name=value`); proto/SPEC.md ("Limits") states the defaults. A
request over a bound is refused with `too_large` (a size) or `bad_args` (a value out of its range)
before anything is allocated, so a refused request leaves the worker's memory where it was.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

from . import protocol as P


@dataclass(frozen=True)
class Limits:
    max_text_chars: int = 16_384  # prompt length, in characters
    max_sequence_length: int = 1_024  # text encoder tokens (Wan 512, CogVideoX 226, LTX 128)
    max_frames: int = 257  # video frames asked of prepare_latents or sent to encode_media (LTX-Video's longest)
    max_pixels: int = 2_048 * 2_048  # height × width of a video frame
    max_latent_elements: int = 1 << 26  # C·F'·H'·W' of one latent (Wan 720p × 81 frames is 4.8 M)
    max_latent_frames: int = 65  # F' of a latent given to decode (257 frames at a temporal scale of 4)
    max_timesteps: int = 10_000  # timesteps in one time_embedding request
    max_items: int = 64  # denoise items (rows) in one request
    max_handles: int = 4_096  # handles in one release request

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def parse(cls, items: list[str]) -> "Limits":
        """`name=value` pairs (the worker's --limit options) over the defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {}
        for item in items:
            name, _, value = item.partition("=")
            name = name.strip().replace("-", "_")
            if name not in known or not value.strip().isdigit() or int(value) < 1:
                raise ValueError(f"--limit {item!r}: write name=positive-integer with name one of {', '.join(sorted(known))}")
            values[name] = int(value)
        return cls(**values)


BRANCHES = frozenset({"cond", "uncond"})


def _too_large(req: P.Request, what: str, value: int, limit: int, name: str) -> P.ProtocolError:
    return P.ProtocolError(
        P.TOO_LARGE,
        f"`{req.op}` asks for {what} {value}, more than this worker's limit of {limit} ({name} in hello); "
        "ask for less, or start the worker with a larger --limit.",
        req.op,
        req.id,
    )


def check(req: P.Request, a, limits: Limits) -> None:
    """Bounds that need no model: refuse before the request is queued."""
    op = req.op
    if op == "encode_prompt":
        if len(a.text) > limits.max_text_chars:
            raise _too_large(req, "a prompt of length", len(a.text), limits.max_text_chars, "max_text_chars")
        if a.max_sequence_length is not None and a.max_sequence_length > limits.max_sequence_length:
            raise _too_large(req, "max_sequence_length", a.max_sequence_length, limits.max_sequence_length, "max_sequence_length")
    elif op == "prepare_latents":
        if a.num_frames > limits.max_frames:
            raise _too_large(req, "num_frames", a.num_frames, limits.max_frames, "max_frames")
        if a.height * a.width > limits.max_pixels:
            raise _too_large(req, "a frame of pixels", a.height * a.width, limits.max_pixels, "max_pixels")
    elif op == "denoise":
        if len(a.items) > limits.max_items:
            raise _too_large(req, "denoise items", len(a.items), limits.max_items, "max_items")
        for i, it in enumerate(a.items):
            if it.branch not in BRANCHES:
                raise P.ProtocolError(P.BAD_ARGS, f"`denoise` item {i} has branch {it.branch!r}; use \"cond\" or \"uncond\".", op, req.id)
        if math.prod(a.x.shape[1:]) > limits.max_latent_elements:
            raise _too_large(req, "a latent of elements", math.prod(a.x.shape[1:]), limits.max_latent_elements, "max_latent_elements")
    elif op == "time_embedding":
        if len(a.timesteps) > limits.max_timesteps:
            raise _too_large(req, "timesteps", len(a.timesteps), limits.max_timesteps, "max_timesteps")
    elif op == "decode":
        shape = a.latents.shape
        if len(shape) >= 3 and shape[2] > limits.max_latent_frames:
            raise _too_large(req, "latent frames", shape[2], limits.max_latent_frames, "max_latent_frames")
        if math.prod(shape[1:]) > limits.max_latent_elements:
            raise _too_large(req, "a latent of elements", math.prod(shape[1:]), limits.max_latent_elements, "max_latent_elements")
    elif op == "encode_media":
        f, h, w = a.video.shape[:3]
        if f > limits.max_frames:
            raise _too_large(req, "video frames", f, limits.max_frames, "max_frames")
        if h * w > limits.max_pixels:
            raise _too_large(req, "a frame of pixels", h * w, limits.max_pixels, "max_pixels")
    elif op == "release":
        if len(a.handles) > limits.max_handles:
            raise _too_large(req, "handles", len(a.handles), limits.max_handles, "max_handles")


def check_t(req: P.Request, items, t_max: float) -> None:
    """`t` is the scheduler's timestep: a number in [0, num_train_timesteps] (the model's, from `load`)."""
    for i, it in enumerate(items):
        if not 0.0 <= it.t <= t_max:
            raise P.ProtocolError(
                P.BAD_ARGS,
                f"`denoise` item {i} has t = {it.t}; t is the scheduler's timestep, in [0, {t_max:g}] for this model.",
                req.op,
                req.id,
            )


def canonical_source(source: str) -> str:
    """One name per model: a local folder as its real absolute path (so ./m, /abs/m and /abs/m/ are one model)."""
    if source.strip() == "":
        raise P.ProtocolError(P.BAD_ARGS, "`load` needs a non-empty `source`: a pipeline folder or a model id.")
    expanded = os.path.expanduser(source)
    if os.path.isdir(expanded):
        return os.path.realpath(expanded)
    return source


def not_a_pipeline(source: str) -> P.ProtocolError:
    """The one answer for any local path that holds no pipeline, whether or not it exists (a peer learns nothing)."""
    return P.ProtocolError(
        P.UNKNOWN_MODEL, f"No diffusers pipeline at {source!r} that this worker can read; pass a pipeline folder or a model id."
    )


def check_folder(folder: str) -> None:
    """A local pipeline folder must not reach outside itself through symlinks (a config could be any file)."""
    root = os.path.realpath(folder)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                target = os.path.realpath(path)
                if os.path.commonpath([root, target]) != root:
                    raise P.ProtocolError(
                        P.LOAD_FAILED,
                        f"{os.path.relpath(path, root)} in the model folder is a symlink that leads outside it; "
                        "copy the file into the folder instead.",
                    )
        if dirpath.count(os.sep) - root.count(os.sep) >= 2:
            dirnames[:] = []
