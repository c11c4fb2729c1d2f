"""What the fuzzer sends: random and malformed messages, and requests of every op (fuzz_ops.py) sent valid, over a limit,
or damaged — wrong tensor dtypes and shapes, missing and extra fields, truncated and corrupted frames.

`Fuzzer.message()` draws one message (its frames and a label of the kind of damage) from its own seeded random
source, so a seed replays the same run; `fuzz.py` sends them to a worker and counts what comes back. A label starts
with the variant: `over OP LIMIT just|far` must be refused (the worker's limit `LIMIT` from hello is exceeded).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import msgpack
import numpy as np

from . import protocol as P
from .fuzz_files import samples
from .fuzz_ops import BUILD_BYTES, GENERATORS, Case
from .limits import Limits

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "models" / "tiny-wan-t2v"
# The message size limit of the worker under fuzz: "drop: oversized frame" messages are just over it.
FUZZ_MAX_MESSAGE_BYTES = 4 << 20
# The fuzz worker's lowered limits (--limit), so that just above each size limit is a cheap message.
FUZZ_LIMITS = {"max_pixels": 1 << 16, "max_source_pixels": 1 << 16, "max_latent_elements": 1 << 16, "max_media_bytes": 1 << 20,
               "max_source_frames": 64}
VARIANTS = ("valid", "over", "tensor", "fields", "frames", "mutated")
BAD_DTYPES = ("float8", "", "F32", "uint8 ", 1, None, [], {"a": 1}, True)


class Fuzzer:
    def __init__(self, rng: random.Random, model: str | None, cond: str | None, shape: tuple[int, ...], *, limits: dict | None = None,
                 size: dict | None = None, model_dir: str = str(BUNDLED), i2v: dict | None = None):
        self.rng = rng
        self.model, self.cond, self.shape, self.model_dir = model, cond, shape, model_dir
        self.limits = {**Limits().as_dict(), **FUZZ_LIMITS, **(limits or {})}  # the worker's, from hello
        self.size = size or {"height": 32, "width": 32, "num_frames": 5}
        self.i2v = i2v  # {model, cond, image, shape, size} of an image-to-video model, when one is loaded
        self.created: list[str] = []  # handles ok replies gave out; a valid `release` frees them
        self.files = samples()
        self.next_id = 1000
        self.ops = list(P.OPS)

    # -- random values ---------------------------------------------------------------------------------------

    def scalar(self):
        r = self.rng.random()
        choices = [
            None, True, False, 0, -1, 1, 2**31, 2**63 - 1, -(2**63), 2**64 - 1, 1e30, -1e30, float("nan"), float("inf"),
            -float("inf"), 0.5, "", "x" * self.rng.randint(1, 64), "cond", "uncond", "bogus", b"\x00\xff", "float32", "\u2603",
            self.model or "m1", self.cond or "c1", "../../etc/passwd", "/", ".", "", "mp4", "grid", "a.gif",
        ]
        if r < 0.85:
            return self.rng.choice(choices)
        if r < 0.9:
            return self.rng.randint(-(2**40), 2**40)
        return self.rng.uniform(-1e6, 1e6)

    def value(self, depth: int = 0):
        r = self.rng.random()
        if depth > 3 or r < 0.6:
            return self.scalar()
        if r < 0.8:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 5))]
        if r < 0.97:
            return {self.rng.choice(["model", "text", "items", "t", "cond", "branch", "seed", "height", "width", "num_frames",
                                     "timesteps", "handles", "source", "dtype", "shape", "name", "x", "y", "format", "names",
                                     "scale", "labels", "columns", "image", "video", "sample"]): self.value(depth + 1)
                    for _ in range(self.rng.randint(0, 5))}
        return msgpack.ExtType(self.rng.randint(0, 127), b"abc")

    # -- messages --------------------------------------------------------------------------------------------

    def mid(self) -> int:
        self.next_id += 1
        return self.next_id

    def pack(self, header) -> bytes:
        try:
            return msgpack.packb(header, use_bin_type=True)
        except Exception:
            return msgpack.packb({"v": 1, "op": "ping", "id": self.mid()})

    def message(self) -> tuple[list[bytes], str]:
        """Frames and a label of the kind of damage; labels starting with "drop" expect no reply."""
        frames, kind = self._raw() if self.rng.random() < 0.25 else self._op_message()
        return defuse(frames), kind

    def _op_message(self) -> tuple[list[bytes], str]:
        op = self.rng.choice(self.ops)
        variant = self.rng.choice(VARIANTS)
        case = GENERATORS[op](self, variant == "over")
        if variant == "over" and case.over is None:
            variant = "big"  # an op without a limit: oversized strings and lists, answered as the op answers
        detail = {"tensor": self.damage_tensor, "fields": self.damage_fields, "mutated": self.mutate}.get(variant, lambda c: "")(case)
        frames = self.frames(case)
        if variant == "frames":
            frames, detail = self.damage_frames(frames)
        return frames, " ".join(x for x in (variant, op, case.label, detail) if x)

    def _raw(self) -> tuple[list[bytes], str]:
        rng = self.rng
        r = rng.random()
        if r < 0.2:
            return [rng.randbytes(rng.randint(0, 64)) for _ in range(rng.randint(1, 3))], "random bytes"
        if r < 0.4:
            return [self.pack(self.value())], "random msgpack value"
        if r < 0.55:
            h = {rng.choice(["v", "op", "id", "args", "tensors", "ok"]): self.value() for _ in range(rng.randint(0, 6))}
            return [self.pack(h)], "random header"
        if r < 0.7:
            h = {"v": 1, "op": rng.choice(self.ops), "id": self.mid(), "args": {"model": self.model},
                 "tensors": [{"name": self.value(), "dtype": self.value(), "shape": self.value()} for _ in range(rng.randint(1, 3))]}
            return [self.pack(h), *[b"" for _ in h["tensors"]]], "random descriptor"
        if r < 0.78:
            dims = [0] + [rng.choice([2**31, 2**40, 10**12]) for _ in range(rng.randint(1, 7))]
            h = {"v": 1, "op": rng.choice(["echo", "decode", "encode_media", "read_media"]), "id": self.mid(), "args": {"model": self.model},
                 "tensors": [{"name": rng.choice(["z", "latents", "video", "file0"]), "dtype": rng.choice(["float32", "uint8"]), "shape": dims}]}
            return [self.pack(h), b""], "zero-element huge dims"
        if r < 0.83:
            h = {"v": 1, "op": "echo", "id": self.mid(), "tensors": [{"name": "a", "dtype": "uint8", "shape": [3 << 20]},
                                                                     {"name": "b", "dtype": "uint8", "shape": [3 << 20]}]}
            return [self.pack(h), bytes(3 << 20), bytes(3 << 20)], "oversized total"
        if r < 0.85:
            return [self.pack({"v": 1, "op": "ping", "id": self.mid(), "args": {"pad": "x" * (P.MAX_HEADER_BYTES + 10)}})], "oversized header"
        if r < 0.87:
            return [self.pack({"v": 1, "op": "echo", "id": self.mid()}), bytes(FUZZ_MAX_MESSAGE_BYTES + 4096)], "drop: oversized frame"
        if r < 0.93:
            h = {"v": 1, "op": "ping", "id": self.mid(), "args": {"x": msgpack.ExtType(rng.randint(0, 127), b"zz")}}
            if rng.random() < 0.5:
                h["args"] = {"x": msgpack.Timestamp(1, 0)}
            return [msgpack.packb(h, use_bin_type=True)], "extension type"
        h = {"v": rng.choice([1, 1, 0, 2, "1", None]), "op": rng.choice(self.ops), "id": rng.choice([0, -1, 2**64 - 1, 2**64, 1.5, "1", None])}
        return [self.pack(h)], "bad id or version"

    # -- damage ----------------------------------------------------------------------------------------------

    def damage_tensor(self, case: Case) -> str:
        """One tensor's dtype, shape, length or values made wrong (or one tensor added where the op takes none)."""
        rng = self.rng
        if not case.tensors or rng.random() < 0.08:
            case.tensors.append((rng.choice(["x", "extra", "image", "video", "file0"]), rng.choice(sorted(P.DTYPES)), [2, 2], None))
            return "unexpected tensor"
        i = rng.randrange(len(case.tensors))
        name, dtype, shape, data = case.tensors[i]
        shape = list(shape)
        j = rng.randrange(len(shape)) if shape else 0
        what = rng.choice(["dtype", "bad dtype", "rank+", "rank-", "zero dim", "negative dim", "float dim", "huge dim", "length",
                           "last dim", "second dim", "first dim", "non-finite", "missing", "duplicate", "renamed"]
                          + (["file cut", "file flip"] * 4 if data is not None else []))
        if what == "dtype":
            dtype, data = rng.choice([d for d in sorted(P.DTYPES) if d != dtype]), None
        elif what == "bad dtype":
            dtype = rng.choice(BAD_DTYPES)
        elif what in ("rank+", "rank-"):
            shape, data = (shape + [1] if what == "rank+" else shape[:-1]), None
        elif shape and what in ("zero dim", "negative dim", "float dim", "huge dim", "last dim", "second dim", "first dim"):
            k = {"last dim": len(shape) - 1, "second dim": min(1, len(shape) - 1), "first dim": 0}.get(what, j)
            shape[k] = {"zero dim": 0, "negative dim": -1, "float dim": float(shape[k]), "huge dim": 2**40}.get(what, shape[k] + rng.choice([1, -1]))
            data = None if what != "huge dim" else data or b""
        elif what == "length":
            data = self.tensor_bytes(dtype, shape, data) + rng.randbytes(rng.randint(1, 9)) if rng.random() < 0.5 else b""
        elif what == "non-finite" and dtype in ("float32", "float16", "float64"):
            arr = np.frombuffer(bytearray(self.tensor_bytes(dtype, shape, None)), P.DTYPES[dtype])
            if arr.size:
                arr[rng.randrange(arr.size)] = rng.choice([np.nan, np.inf, -np.inf])
            data = arr.tobytes()
        elif what == "missing":
            del case.tensors[i]
            return "tensor missing"
        elif what == "duplicate":
            case.tensors.append((name, dtype, shape, data))
        elif what == "renamed":
            name = rng.choice(["", "X", name + "_", "file99", 7])
        elif what in ("file cut", "file flip"):
            data = bytearray(data)
            if what == "file cut":
                data = data[: rng.randint(0, max(0, len(data) - 1))]
            for _ in range(rng.randint(1, 6) if what == "file flip" and data else 0):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data, shape = bytes(data), [len(data)]
        case.tensors[i] = (name, dtype, shape, data)
        return f"tensor {what}"

    def damage_fields(self, case: Case) -> str:
        """A field dropped, added, nulled or of the wrong type; the args map dropped or not a map; a denoise item broken."""
        rng, args = self.rng, case.args
        what = rng.choice(["drop", "drop", "extra", "null", "wrong type", "no args", "args not a map", "item"])
        if what == "no args":
            case.args = None
        elif what == "args not a map":
            case.args = rng.choice([[], "args", 1, [args]])
        elif what == "extra" or not args:
            args[rng.choice(["extra", "bogus", "Model", "tensors", "id"])] = self.value()
            return "fields extra"
        elif what == "item" and isinstance(args.get("items"), list) and args["items"]:
            it = args["items"][rng.randrange(len(args["items"]))]
            k = rng.choice(sorted(it))
            if rng.random() < 0.5:
                del it[k]
            else:
                it[k] = self.value()
        else:
            key = rng.choice(sorted(args))
            if what == "drop" or what == "item":
                del args[key]
            elif what == "null":
                args[key] = None
            else:
                v = args[key]
                args[key] = ("1" if isinstance(v, (int, float)) and not isinstance(v, bool) else
                             1 if isinstance(v, str) else "x" if isinstance(v, (list, dict)) else [v])
        return f"fields {what}"

    def mutate(self, case: Case) -> str:
        """Random values in random places (the fuzzer's first kind of damage)."""
        args = case.args
        for _ in range(self.rng.randint(1, 3)):
            r = self.rng.random()
            if args and r < 0.5:
                args[self.rng.choice(sorted(args))] = self.value()
            elif args and r < 0.6:
                args.pop(self.rng.choice(sorted(args)))
            else:
                args[self.rng.choice(["extra", "model", "items", "seed", "format", "names"])] = self.value()
        return ""

    def damage_frames(self, frames: list[bytes]) -> tuple[list[bytes], str]:
        """The encoded message cut, corrupted, or with frames missing, added or reordered."""
        rng = self.rng
        what, frames = rng.choice(["truncate header", "corrupt header", "truncate tensor", "corrupt tensor", "extra frame", "missing frame",
                                   "swap frames"]), list(frames)
        k = rng.randrange(1, len(frames)) if len(frames) > 1 else 0
        if what == "truncate header" or (k == 0 and what in ("truncate tensor", "corrupt tensor")):
            frames[0] = frames[0][: rng.randint(0, max(0, len(frames[0]) - 1))]
        elif what == "corrupt header" or what == "corrupt tensor":
            i = 0 if what == "corrupt header" else k
            b = bytearray(frames[i])
            for _ in range(rng.randint(1, 4) if b else 0):
                b[rng.randrange(len(b))] = rng.randrange(256)
            frames[i] = bytes(b)
        elif what == "truncate tensor":  # (k == 0 is cut above)
            frames[k] = frames[k][: rng.randint(0, max(0, len(frames[k]) - 1))]
        elif what == "extra frame":
            frames.append(rng.randbytes(rng.randint(0, 16)))
        elif what == "missing frame":
            del frames[k if k else -1]
            frames = frames or [b""]
        elif len(frames) > 2:
            frames[1:] = frames[:0:-1]
        else:
            frames = frames[::-1]
        return frames, what

    # -- encoding --------------------------------------------------------------------------------------------

    def tensor_bytes(self, dtype, shape, data: bytes | None) -> bytes:
        """The frame of a tensor: its given bytes, else random finite values of that dtype and shape (nothing for a
        shape that is not a list of sizes, or a tensor too large to build)."""
        if data is not None:
            return data
        seed = self.rng.randint(0, 2**32)
        if not isinstance(dtype, str) or dtype not in P.DTYPES or not isinstance(shape, list) \
                or not all(type(d) is int and d >= 0 for d in shape):
            return b""
        n = math.prod(shape)
        if n * P.DTYPES[dtype].itemsize > BUILD_BYTES:
            return b""
        g = np.random.default_rng(seed)
        if dtype in ("uint8", "int64"):
            return g.integers(0, 256, n).astype(P.DTYPES[dtype]).tobytes()
        x = g.standard_normal(n).astype(np.float32)
        return (x.view(np.uint32) >> 16).astype("<u2").tobytes() if dtype == "bfloat16" else x.astype(P.DTYPES[dtype]).tobytes()

    def frames(self, case: Case) -> list[bytes]:
        h = {"v": 1, "op": case.op, "id": self.mid(), **({"args": case.args} if case.args is not None else {})}
        if case.tensors:
            h["tensors"] = [{"name": n, "dtype": d, "shape": s} for n, d, s, _ in case.tensors]
        return [self.pack(h), *[self.tensor_bytes(d, s, data) for _, d, s, data in case.tensors]]


def defuse(frames: list[bytes]) -> list[bytes]:
    """A message that would be a valid `shutdown` becomes a `ping`: the fuzzer must not stop its own target.

    (`id` 2**64 - 1 is a valid id, so "bad id" once sent a real shutdown and the worker exited 0 mid-run.)"""
    try:
        h = msgpack.unpackb(frames[0], raw=False, strict_map_key=False) if frames else None
    except Exception:
        return frames
    if not isinstance(h, dict):
        return frames
    mid = h.get("id")
    if h.get("op") == "shutdown" and isinstance(mid, int) and not isinstance(mid, bool) and mid >= 1:
        h["op"] = "ping"
        return [msgpack.packb(h, use_bin_type=True), *frames[1:]]
    return frames

