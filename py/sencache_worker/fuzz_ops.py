"""One generator per op of `protocol.OPS`: a valid-looking request with the fuzzer's real handles, or one that exceeds
one limit the worker reported in `hello` (just above it, or far above).

`GENERATORS[op](fz, over)` returns a `Case`; `fuzz_messages.py` damages valid cases (dtypes, shapes, fields, frames).
`COVERS[op]` names the limits an op's over-cases exceed; every op has a generator (checked at import, like
limits.BOUNDS) and every limit of `limits.Limits` is exceeded by some op (checked by py/tests/test_fuzz.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from . import protocol as P
from .fuzz_files import big_png, many_frame_gif

# Request bytes above this are sent as empty frames (the worker refuses the length; nothing that big is built here).
BUILD_BYTES = 3 << 20

# (name, wire dtype, shape, raw bytes or None: random finite values of that dtype and shape)
Tensor = tuple[str, str, list, "bytes | None"]


@dataclass
class Case:
    op: str
    args: dict
    tensors: list = field(default_factory=list)
    over: str | None = None  # the limit this request exceeds: its reply must be an error
    label: str = ""


def _above(fz, name: str, far_cap: int | None = None) -> tuple[int, str]:
    """A value just above the worker's limit `name`, or far above (capped where the request's size scales with it)."""
    lim = fz.limits[name]
    if fz.rng.random() < 0.5:
        return lim + 1, "just"
    far = fz.rng.choice([lim * 2, lim * 10, lim * 1000, 2**31, 2**62])
    return (max(lim + 1, min(far, far_cap)) if far_cap else far), "far"


def _over(fz, op: str, build: dict[str, Callable]) -> Case:
    name = fz.rng.choice(COVERS[op])
    case = build[name](*_above(fz, name, FAR_CAPS.get(name)))
    case.over, case.label = name, f"{name} {case.label}".strip()
    return case


def _model(fz) -> tuple[str, list, dict]:
    """A loaded model's handle, latent shape and size: the bundled one, or half of the time the i2v model when loaded."""
    if fz.rng.random() < 0.5 and fz.i2v is not None:
        size = {k: fz.i2v["size"][k] for k in ("height", "width", "num_frames")}
        return fz.i2v["model"], list(fz.i2v["shape"]), size
    return fz.model or "m1", list(fz.shape), fz.size


def _side(n: int, other: int) -> int:
    """The other side of a frame of more than `n` pixels when one side is `other`."""
    return n // other + 1


# -- the ops ---------------------------------------------------------------------------------------------------

def _hello(fz, over):
    if over:
        return Case("hello", {"client": "c" * fz.rng.choice([10_000, 900_000]), "protocols": [1] * fz.rng.choice([1, 50_000])})
    return Case("hello", {"client": "fuzz", "protocols": fz.rng.choice([[1], [1, 2], [2], [], [0, 1]])})


def _no_args(op):
    def gen(fz, over):
        return Case(op, {"pad": "x" * 500_000} if over else {})
    return gen


def _load(fz, over):
    if over:
        return Case("load", {"source": "/" + "a" * fz.rng.choice([5_000, 900_000])})
    d = fz.model_dir
    return Case("load", {"source": fz.rng.choice([d, d + "/", d + "/.", d + "/../" + d.rsplit("/", 1)[-1], "", "/", "/etc/passwd",
                                                  "/nonexistent/x", "nobody/none", d + "/transformer"])})


def _encode_prompt(fz, over):
    m = _model(fz)[0]
    if over:
        return _over(fz, "encode_prompt", {
            "max_text_chars": lambda n, how: Case("encode_prompt", {"model": m, "text": "a" * n}, label=how),
            "max_sequence_length": lambda n, how: Case("encode_prompt", {"model": m, "text": "a cat", "max_sequence_length": n}, label=how),
        })
    args = {"model": m, "text": fz.rng.choice(["a", "a red square", "", "\u2603 \x00 x", "word " * 50])}
    msl = fz.rng.choice([None, 1, 16, 77])
    if msl:
        args["max_sequence_length"] = msl
    return Case("encode_prompt", args)


def _size(fz, i2v=False) -> dict:
    """seed and size: the i2v model's encode_image handle was made for its own; else a random seed."""
    seed = fz.rng.choice([0, 1, 2**31, 2**63 - 1])
    return dict(fz.i2v["size"]) if i2v else {**fz.size, "seed": seed}


def _encode_image(fz, over):
    i2v = fz.rng.random() < 0.7 and fz.i2v is not None
    m = fz.i2v["model"] if i2v else fz.model or "m1"
    size = _size(fz, i2v)
    side = fz.rng.choice([1, 7, 16, 33])
    image: Tensor = ("image", "uint8", [side, fz.rng.choice([1, 16, 40]), 3], None)
    if over:
        def with_size(key, value, how):
            return Case("encode_image", {"model": m, **size, key: value}, [image], label=how)
        return _over(fz, "encode_image", {
            "max_frames": lambda n, how: with_size("num_frames", n, how),
            "max_pixels": lambda n, how: with_size("height", _side(n - 1, size["width"]), how),
            "max_source_pixels": lambda n, how: Case("encode_image", {"model": m, **size},
                                                     [("image", "uint8", [_side(n - 1, 256), 256, 3], None)], label=how),
        })
    return Case("encode_image", {"model": m, **size}, [image])


def _prepare_latents(fz, over):
    i2v = fz.rng.random() < 0.5 and fz.i2v is not None
    m = fz.i2v["model"] if i2v else fz.model or "m1"
    args = {"model": m, **_size(fz, i2v)}
    if over:
        return _over(fz, "prepare_latents", {
            "max_frames": lambda n, how: Case("prepare_latents", {**args, "num_frames": n}, label=how),
            "max_pixels": lambda n, how: Case("prepare_latents", {**args, "height": _side(n - 1, args["width"])}, label=how),
        })
    if i2v:
        args["image"] = fz.i2v["image"]
    return Case("prepare_latents", args)


def _denoise(fz, over):
    i2v = fz.rng.random() < 0.5 and fz.i2v is not None
    m, cond, shape = (fz.i2v["model"], fz.i2v["cond"], fz.i2v["shape"]) if i2v else (fz.model or "m1", fz.cond or "c1", fz.shape)

    def case(n, latent=shape[1:], how=""):
        items = [{"cond": cond, "t": fz.rng.choice([0.0, 1.0, 500.0, 999.0, 1000.0]), "branch": fz.rng.choice(["cond", "uncond"])}
                 for _ in range(n)]
        if i2v:
            for it in items:
                it["image"] = fz.i2v["image"]
        dtype = fz.rng.choice(["float32", "float32", "bfloat16", "float16"])
        return Case("denoise", {"model": m, "items": items}, [("x", dtype, [n, *latent], None)], label=how)

    if over:
        c, f = shape[1], shape[2]
        return _over(fz, "denoise", {
            "max_items": lambda n, how: case(n, how=how),
            "max_latent_elements": lambda n, how: case(1, [c, f, _side(n // (c * f), shape[4]), shape[4]], how),
        })
    return case(fz.rng.choice([1, 1, 2, 3]))


def _time_embedding(fz, over):
    m = _model(fz)[0]
    if over:
        return _over(fz, "time_embedding", {
            "max_timesteps": lambda n, how: Case("time_embedding", {"model": m, "timesteps": [500.0] * n}, label=how)})
    return Case("time_embedding", {"model": m, "timesteps": [fz.rng.uniform(0, 1000) for _ in range(fz.rng.randint(1, 8))]})


def _decode(fz, over):
    m, shape, _ = _model(fz)
    if over:
        c = shape[1]
        return _over(fz, "decode", {
            "max_latent_frames": lambda n, how: Case("decode", {"model": m}, [("latents", "float32", [1, c, n, 1, 1], None)], label=how),
            "max_latent_elements": lambda n, how: Case("decode", {"model": m}, [("latents", "float32", [1, c, 1, _side(n // c, 8), 8], None)],
                                                       label=how),
        })
    return Case("decode", {"model": m}, [("latents", "float32", fz.rng.choice([shape, [1, shape[1], 1, 4, 4], [1, shape[1], 3, 2, 6]]), None)])


def _encode_media(fz, over):
    m, _, size = _model(fz)
    if over:
        return _over(fz, "encode_media", {
            "max_frames": lambda n, how: Case("encode_media", {"model": m}, [("video", "uint8", [n, 1, 1, 3], None)], label=how),
            "max_pixels": lambda n, how: Case("encode_media", {"model": m},
                                              [("video", "uint8", [fz.rng.choice([0, 1]), _side(n - 1, 256), 256, 3], None)], label=how),
        })
    f = fz.rng.choice([size["num_frames"], 1, 9])
    return Case("encode_media", {"model": m, "sample": fz.rng.random() < 0.3}, [("video", "uint8", [f, size["height"], size["width"], 3], None)])


def _encode_video(fz, over):
    rng = fz.rng
    if over:
        def grid(rows, **args):
            return [("video", "uint8", [rows, 2, 4, 4, 3], None)], {"format": "grid", **args}

        def case(tensors_args, how):
            tensors, args = tensors_args
            return Case("encode_video", args, tensors, label=how)
        return _over(fz, "encode_video", {
            "max_frames": lambda n, how: case(([("video", "uint8", [n, 1, 1, 3], None)], {"format": rng.choice(["mp4", "gif", "png"])})
                                              if rng.random() < 0.5 else grid(1, columns=[0] * n), how),
            "max_items": lambda n, how: case(grid(n) if rng.random() < 0.5 else grid(1, labels=["x"] * n), how),
            "max_pixels": lambda n, how: case(_scaled(fz, n), how),
            "max_label_chars": lambda n, how: case(grid(1, title="t" * n) if rng.random() < 0.5 else grid(1, labels=["l" * n]), how),
        })
    fmt = rng.choice(["mp4", "gif", "png", "grid"])
    shape = [rng.randint(1, 6), rng.choice([1, 3, 8, 16]), rng.choice([1, 2, 5, 16]), 3]
    args = {"format": fmt, "fps": rng.choice([0.002, 1.0, 16.0, 24.5, 240.0]), "scale": rng.choice([1, 1, 2, 4])}
    if fmt == "grid":
        rows = rng.randint(1, 3)
        shape = [rows, *shape]
        args.update(labels=[rng.choice(["a", "policy none", "\u2603", ""]) for _ in range(rows)], title=rng.choice(["", "T"]),
                    columns=sorted(rng.sample(range(shape[1]), rng.randint(1, shape[1]))))
    return Case("encode_video", args, [("video", "uint8", shape, None)])


def _scaled(fz, n: int):
    """A frame of more than n pixels once upscaled: 8x8 at a large `scale` where that is enough, else the frame itself."""
    scale = min(64, math.isqrt(n // 64) + 1)
    if fz.rng.random() < 0.5 and 64 * scale * scale > fz.limits["max_pixels"]:
        return [("video", "uint8", [1, 8, 8, 3], None)], {"format": "png", "scale": scale}
    return [("video", "uint8", [1, _side(n - 1, 64), 64, 3], None)], {"format": "png"}


def _read_media(fz, over):
    rng, files = fz.rng, fz.files
    target = {"height": rng.choice([8, 16, 17]), "width": rng.choice([8, 16, 32]), "num_frames": rng.choice([1, 4, 9])}

    def case(names, datas, how="", **args):
        return Case("read_media", {"names": names, **target, **args}, [(f"file{i}", "uint8", [len(d)], d) for i, d in enumerate(datas)],
                    label=how)
    if over:
        return _over(fz, "read_media", {
            "max_media_files": lambda n, how: case(["a.png"] * n, [b"\x89"] * n, how),
            "max_media_bytes": lambda n, how: Case("read_media", {"names": ["a.png"], **target},
                                                   [("file0", "uint8", [n], bytes(n) if n <= BUILD_BYTES else b"")], label=how),
            "max_source_frames": lambda n, how: case(["many.gif"], [many_frame_gif(n)], how),
            "max_source_pixels": lambda n, how: case(["big.png"], [big_png(*((n, 1) if how == "just" else (_side(n - 1, 1 << 14), 1 << 14)))], how),
            "max_frames": lambda n, how: case(["a.png"], [files["a.png"]], how, num_frames=n),
            "max_pixels": lambda n, how: case(["a.png"], [files["a.png"]], how, height=_side(n - 1, target["width"])),
        })
    names = [rng.choice(sorted(files)) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.1:  # a file named as the other kind: an image read by ffmpeg, a video by Pillow
        names = [n.rsplit(".", 1)[0] + rng.choice([".mp4", ".png", ".webm", ".gif"]) for n in names]
        return case(names, [files[rng.choice(sorted(files))] for _ in names])
    return case(names, [files[n] for n in names])


def _release(fz, over):
    if over:
        return _over(fz, "release", {"max_handles": lambda n, how: Case("release", {"handles": ["h"] * n}, label=how)})
    handles, fz.created = fz.created, []  # the handles earlier fuzz requests made (never the session's own)
    return Case("release", {"handles": handles or ["nope.000000"]})


def _echo(fz, over):
    n = fz.rng.choice([0, 1, 2, 3, 200 if over else 3])
    return Case("echo", {}, [(f"t{i}", fz.rng.choice(sorted(P.DTYPES)), [fz.rng.randint(0, 4) for _ in range(fz.rng.randint(0, 4))], None)
                             for i in range(n)])


GENERATORS: dict[str, Callable[..., Case]] = {
    "hello": _hello, "ping": _no_args("ping"), "load": _load, "encode_prompt": _encode_prompt, "encode_image": _encode_image,
    "prepare_latents": _prepare_latents, "denoise": _denoise, "time_embedding": _time_embedding, "decode": _decode,
    "encode_media": _encode_media, "encode_video": _encode_video, "read_media": _read_media, "release": _release, "echo": _echo,
    "stats": _no_args("stats"), "ops": _no_args("ops"), "shutdown": _no_args("shutdown"),
}
# The limits (hello `limits`) each op's over-cases exceed; ops without one get oversized strings and lists instead.
COVERS: dict[str, tuple[str, ...]] = {
    "encode_prompt": ("max_text_chars", "max_sequence_length"),
    "encode_image": ("max_frames", "max_pixels", "max_source_pixels"),
    "prepare_latents": ("max_frames", "max_pixels"),
    "denoise": ("max_items", "max_latent_elements"),
    "time_embedding": ("max_timesteps",),
    "decode": ("max_latent_frames", "max_latent_elements"),
    "encode_media": ("max_frames", "max_pixels"),
    "encode_video": ("max_frames", "max_items", "max_pixels", "max_label_chars"),
    "read_media": ("max_media_files", "max_media_bytes", "max_source_frames", "max_source_pixels", "max_frames", "max_pixels"),
    "release": ("max_handles",),
}
# Where a request's bytes grow with the value, "far above" is capped (still over the fuzz worker's limit).
FAR_CAPS = {"max_text_chars": 200_000, "max_timesteps": 100_000, "max_items": 2_000, "max_handles": 100_000, "max_media_files": 4_000,
            "max_media_bytes": 3 << 20, "max_source_frames": 1_000, "max_latent_elements": 1 << 19, "max_frames": 100_000,
            "max_label_chars": 200_000, "max_pixels": 1 << 20, "max_source_pixels": 1 << 20}
if set(GENERATORS) != set(P.OPS):  # pragma: no cover - a developer error, caught at import
    raise RuntimeError(f"fuzz_ops.GENERATORS and protocol.OPS differ: {sorted(set(GENERATORS) ^ set(P.OPS))}; give each op its generator")
