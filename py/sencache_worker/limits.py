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
    max_media_files: int = 1_024  # files in one read_media request
    max_media_bytes: int = 256 << 20  # bytes of all files of one read_media request
    max_source_frames: int = 4_096  # frames decoded from the files of one read_media request
    max_source_pixels: int = 8_192 * 8_192  # height × width of one decoded read_media frame or encode_image image
    max_label_chars: int = 256  # encode_video title and each label, in characters
    # What the worker holds at once (HELD): checked when a load / encode_prompt / encode_image would add one more.
    max_models: int = 32  # loaded models (each distinct source + load options is one)
    max_held_handles: int = 4_096  # prompt and conditioning-image handles not yet released

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


# The limits on what is held rather than on one request: `check_held` applies them on the compute thread, where the
# worker's models and handles are (the per-request bounds of BOUNDS run before a request is queued).
HELD = frozenset({"max_models", "max_held_handles"})


def check_held(op: str, held: int, limits: Limits, name: str) -> None:
    """Refuse a request that would hold one more model or handle than `limits` allow (`held`: how many now)."""
    limit = getattr(limits, name)
    if held >= limit:
        what = "models loaded" if name == "max_models" else "prompt and image handles held"
        raise P.ProtocolError(
            P.TOO_LARGE,
            f"`{op}` would make {held + 1} {what}, more than this worker's limit of {limit} ({name} in hello); "
            "release handles you no longer need, or start the worker with a larger --limit.",
        )


BRANCHES = frozenset({"cond", "uncond"})


def _too_large(req: P.Request, what: str, value: int, limit: int, name: str) -> P.ProtocolError:
    return P.ProtocolError(
        P.TOO_LARGE,
        f"`{req.op}` asks for {what} {value}, more than this worker's limit of {limit} ({name} in hello); "
        "ask for less, or start the worker with a larger --limit.",
        req.op,
        req.id,
    )


def _pixels(req, what: str, h: int, w: int, limit: int, name: str) -> None:
    if h * w > limit:
        raise _too_large(req, what, h * w, limit, name)


def _bound_encode_prompt(req, a, lim: Limits) -> None:
    if len(a.text) > lim.max_text_chars:
        raise _too_large(req, "a prompt of length", len(a.text), lim.max_text_chars, "max_text_chars")
    if a.max_sequence_length is not None and a.max_sequence_length > lim.max_sequence_length:
        raise _too_large(req, "max_sequence_length", a.max_sequence_length, lim.max_sequence_length, "max_sequence_length")


def _bound_size(req, a, lim: Limits) -> None:
    """A video size asked for: prepare_latents, and the target of encode_image / read_media."""
    if a.num_frames > lim.max_frames:
        raise _too_large(req, "num_frames", a.num_frames, lim.max_frames, "max_frames")
    _pixels(req, "a frame of pixels", a.height, a.width, lim.max_pixels, "max_pixels")


def _bound_encode_image(req, a, lim: Limits) -> None:
    _bound_size(req, a, lim)
    _pixels(req, "an image of pixels", a.image.shape[0], a.image.shape[1], lim.max_source_pixels, "max_source_pixels")


def _bound_denoise(req, a, lim: Limits) -> None:
    if len(a.items) > lim.max_items:
        raise _too_large(req, "denoise items", len(a.items), lim.max_items, "max_items")
    for i, it in enumerate(a.items):
        if it.branch not in BRANCHES:
            raise P.ProtocolError(P.BAD_ARGS, f"`denoise` item {i} has branch {it.branch!r}; use \"cond\" or \"uncond\".", req.op, req.id)
    if math.prod(a.x.shape[1:]) > lim.max_latent_elements:
        raise _too_large(req, "a latent of elements", math.prod(a.x.shape[1:]), lim.max_latent_elements, "max_latent_elements")


def _bound_time_embedding(req, a, lim: Limits) -> None:
    if len(a.timesteps) > lim.max_timesteps:
        raise _too_large(req, "timesteps", len(a.timesteps), lim.max_timesteps, "max_timesteps")


def _bound_decode(req, a, lim: Limits) -> None:
    shape = a.latents.shape
    if len(shape) >= 3 and shape[2] > lim.max_latent_frames:
        raise _too_large(req, "latent frames", shape[2], lim.max_latent_frames, "max_latent_frames")
    if math.prod(shape[1:]) > lim.max_latent_elements:
        raise _too_large(req, "a latent of elements", math.prod(shape[1:]), lim.max_latent_elements, "max_latent_elements")


def _bound_encode_media(req, a, lim: Limits) -> None:
    f, h, w = a.video.shape[:3]
    if f > lim.max_frames:
        raise _too_large(req, "video frames", f, lim.max_frames, "max_frames")
    _pixels(req, "a frame of pixels", h, w, lim.max_pixels, "max_pixels")


def _bound_encode_video(req, a, lim: Limits) -> None:
    """What the encoder allocates: the upscaled frames (and a grid's rows), and the text it draws."""
    f, h, w = a.video.shape[-4:-1]
    rows = a.video.shape[0] if a.video.ndim == 5 else 1
    if f > lim.max_frames:
        raise _too_large(req, "video frames", f, lim.max_frames, "max_frames")
    if rows > lim.max_items:
        raise _too_large(req, "grid rows", rows, lim.max_items, "max_items")
    _pixels(req, "an upscaled frame of pixels", h * a.scale, w * a.scale, lim.max_pixels, "max_pixels")
    if len(a.columns) > lim.max_frames:
        raise _too_large(req, "grid columns", len(a.columns), lim.max_frames, "max_frames")
    for text in (a.title, *a.labels):
        if len(text) > lim.max_label_chars:
            raise _too_large(req, "a title or label of length", len(text), lim.max_label_chars, "max_label_chars")
    if len(a.labels) > lim.max_items:
        raise _too_large(req, "labels", len(a.labels), lim.max_items, "max_items")


def _bound_read_media(req, a, lim: Limits) -> None:
    """Sizes known before decoding; the decoded frames (count, source size) are bounded while decoding (media.py)."""
    if len(a.names) > lim.max_media_files:
        raise _too_large(req, "files", len(a.names), lim.max_media_files, "max_media_files")
    total = sum(f.nbytes for f in a.files)
    if total > lim.max_media_bytes:
        raise _too_large(req, "file bytes", total, lim.max_media_bytes, "max_media_bytes")
    _bound_size(req, a, lim)


def _bound_release(req, a, lim: Limits) -> None:
    if len(a.handles) > lim.max_handles:
        raise _too_large(req, "handles", len(a.handles), lim.max_handles, "max_handles")


# What bounds each op of protocol.OPS before it is queued (None: nothing it takes scales its work beyond the
# message size). Every op has an entry, so a new op must decide (checked at import and by the tests).
BOUNDS = {
    "hello": None,
    "ping": None,
    "load": None,  # a folder or model id; loading cost is the model's, bounded by what the operator installed
    "encode_prompt": _bound_encode_prompt,
    "encode_image": _bound_encode_image,
    "prepare_latents": _bound_size,
    "denoise": _bound_denoise,
    "time_embedding": _bound_time_embedding,
    "decode": _bound_decode,
    "encode_media": _bound_encode_media,
    "encode_video": _bound_encode_video,
    "read_media": _bound_read_media,
    "release": _bound_release,
    "echo": None,  # answered with the frames it brought (bounded by max_message_bytes)
    "stats": None,
    "ops": None,
    "shutdown": None,
}
if set(BOUNDS) != set(P.OPS):  # pragma: no cover - a developer error, caught at import
    raise RuntimeError(f"limits.BOUNDS and protocol.OPS differ: {sorted(set(BOUNDS) ^ set(P.OPS))}; give each op its bound")


def check(req: P.Request, a, limits: Limits) -> None:
    """Bounds that need no model: refuse before the request is queued."""
    bound = BOUNDS[req.op]
    if bound is not None:
        bound(req, a, limits)


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
