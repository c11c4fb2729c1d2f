"""What the fuzzer sends: malformed, truncated, oversized and random messages, and mutated valid requests.

`Fuzzer.message()` draws one message (its frames and a label of the kind of damage) from its own seeded random
source, so a seed replays the same run; `fuzz.py` sends them to a worker and counts what comes back.
"""

from __future__ import annotations

import random
from pathlib import Path

import msgpack
import numpy as np

from . import protocol as P

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "models" / "tiny-wan-t2v"
# The message size limit of the worker under fuzz: "drop: oversized frame" messages are just over it.
FUZZ_MAX_MESSAGE_BYTES = 4 << 20


class Fuzzer:
    def __init__(self, rng: random.Random, model: str | None, cond: str | None, shape: tuple[int, ...]):
        self.rng = rng
        self.model = model
        self.cond = cond
        self.shape = shape
        self.next_id = 1000
        self.ops = list(P.OPS)

    # -- random values ---------------------------------------------------------------------------------------

    def scalar(self):
        r = self.rng.random()
        choices = [
            None, True, False, 0, -1, 1, 2**31, 2**63 - 1, -(2**63), 2**64 - 1, 1e30, -1e30, float("nan"), float("inf"),
            -float("inf"), 0.5, "", "x" * self.rng.randint(1, 64), "cond", "uncond", "bogus", b"\x00\xff", "float32", "\u2603",
            self.model or "m1", self.cond or "c1", "../../etc/passwd", "/", ".", "",
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
                                     "timesteps", "handles", "source", "dtype", "shape", "name", "x", "y"]): self.value(depth + 1)
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

    def valid_like(self, op: str):
        """A plausible request of `op` with real handles, then mutated."""
        m, c, shape = self.model or "m1", self.cond or "c1", list(self.shape)
        args: dict = {}
        tensors: list[tuple[str, str, list[int]]] = []
        if op == "hello":
            args = {"client": "fuzz", "protocols": [1]}
        elif op == "load":
            args = {"source": self.rng.choice(["", ".", "/", "/etc", "/etc/passwd", "../models", "nobody/none", str(BUNDLED) + "/"])}
        elif op == "encode_prompt":
            args = {"model": m, "text": self.rng.choice(["a", "a red square", ""]), "max_sequence_length": self.rng.choice([1, 16, 2**31, 10**7])}
        elif op == "prepare_latents":
            args = {"model": m, "seed": 1, "height": self.rng.choice([32, 0, 17, 10**5]), "width": self.rng.choice([32, 10**5, -8]),
                    "num_frames": self.rng.choice([9, 0, 10**6, 4])}
        elif op == "denoise":
            n = self.rng.choice([1, 2])
            args = {"model": m, "items": [{"cond": c, "t": self.rng.choice([500, -1, 1e30, 1001, float("nan")]),
                                           "branch": self.rng.choice(["cond", "uncond", "bogus"])} for _ in range(n)]}
            tensors = [("x", "float32", [n, *shape[1:]])]
        elif op == "time_embedding":
            args = {"model": m, "timesteps": [self.rng.choice([1.0, -1.0, 1e30]) for _ in range(self.rng.choice([1, 3, 100]))]}
        elif op == "decode":
            args = {"model": m}
            tensors = [("latents", "float32", self.rng.choice([shape, [1, shape[1], 1, 1, 1], [1, shape[1], 200, 1, 1]]))]
        elif op == "encode_media":
            args = {"model": m}
            tensors = [("video", "uint8", self.rng.choice([[1, 8, 8, 3], [9, 32, 32, 3], [1, 1, 1, 4]]))]
        elif op == "release":
            args = {"handles": [self.rng.choice(["nope", "", "x" * 100])]}  # never our own handles
        elif op == "shutdown":
            op = "ping"  # the fuzzer must not stop its target
        # mutate: drop / replace / add an argument
        for _ in range(self.rng.randint(0, 2)):
            r = self.rng.random()
            if args and r < 0.4:
                args[self.rng.choice(list(args))] = self.value()
            elif args and r < 0.6:
                args.pop(self.rng.choice(list(args)))
            else:
                args[self.rng.choice(["extra", "model", "items", "seed"])] = self.value()
        if args.get("source") is not None and isinstance(args.get("source"), str) and self.rng.random() < 0.5:
            args["source"] = "/nonexistent/" + str(self.rng.random())
        return op, args, tensors

    def message(self) -> tuple[list[bytes], str]:
        """Frames and a label of the kind of damage; labels starting with "drop" expect no reply."""
        frames, kind = self._message()
        return defuse(frames), kind

    def _message(self) -> tuple[list[bytes], str]:
        rng = self.rng
        r = rng.random()
        if r < 0.08:
            return [rng.randbytes(rng.randint(0, 64)) for _ in range(rng.randint(1, 3))], "random bytes"
        if r < 0.16:
            return [self.pack(self.value())], "random msgpack value"
        if r < 0.24:
            h = {rng.choice(["v", "op", "id", "args", "tensors", "ok"]): self.value() for _ in range(rng.randint(0, 6))}
            return [self.pack(h)], "random header"
        if r < 0.3:
            op, args, tensors = self.valid_like(rng.choice(self.ops))
            frames = self._frames(op, args, tensors)
            head = frames[0]
            cut = rng.randint(0, max(0, len(head) - 1))
            return [head[:cut], *frames[1:]], "truncated header"
        if r < 0.36:
            op, args, tensors = self.valid_like("denoise")
            frames = self._frames(op, args, tensors)
            if len(frames) > 1:
                frames[1] = frames[1][: rng.randint(0, len(frames[1]) - 1)]
            return frames, "truncated tensor"
        if r < 0.42:
            op, args, tensors = self.valid_like(rng.choice(["denoise", "decode", "echo"]))
            frames = self._frames(op, args, tensors)
            return frames + [b"\0" * rng.randint(0, 16)] if rng.random() < 0.5 else frames[:1], "frame count"
        if r < 0.52:
            h = {"v": 1, "op": rng.choice(["echo", "denoise", "decode"]), "id": self.mid(), "args": {"model": self.model},
                 "tensors": [{"name": self.value(), "dtype": self.value(), "shape": self.value()} for _ in range(rng.randint(1, 3))]}
            return [self.pack(h), *[b"" for _ in h["tensors"]]], "random descriptor"
        if r < 0.56:
            dims = [0] + [rng.choice([2**31, 2**40, 10**12]) for _ in range(rng.randint(1, 7))]
            h = {"v": 1, "op": "echo", "id": self.mid(), "tensors": [{"name": "z", "dtype": "float32", "shape": dims}]}
            return [self.pack(h), b""], "zero-element huge dims"
        if r < 0.58:
            h = {"v": 1, "op": "echo", "id": self.mid(), "tensors": [{"name": "a", "dtype": "uint8", "shape": [3 << 20]},
                                                                     {"name": "b", "dtype": "uint8", "shape": [3 << 20]}]}
            return [self.pack(h), bytes(3 << 20), bytes(3 << 20)], "oversized total"
        if r < 0.585:
            return [self.pack({"v": 1, "op": "ping", "id": self.mid(), "args": {"pad": "x" * (P.MAX_HEADER_BYTES + 10)}})], "oversized header"
        if r < 0.59:
            return [self.pack({"v": 1, "op": "echo", "id": self.mid()}), bytes(FUZZ_MAX_MESSAGE_BYTES + 4096)], "drop: oversized frame"
        if r < 0.62:
            h = {"v": 1, "op": "ping", "id": self.mid(), "args": {"x": msgpack.ExtType(rng.randint(0, 127), b"zz")}}
            if rng.random() < 0.5:
                h["args"] = {"x": msgpack.Timestamp(1, 0)}
            return [msgpack.packb(h, use_bin_type=True)], "extension type"
        if r < 0.64:
            return [self.pack({"v": 1, "op": rng.choice(self.ops), "id": rng.choice([0, -1, 2**64 - 1, 1.5, "1"])})], "bad id"
        op, args, tensors = self.valid_like(rng.choice(self.ops))
        return self._frames(op, args, tensors), "mutated " + op

    def _frames(self, op, args, tensors) -> list[bytes]:
        h = {"v": 1, "op": op, "id": self.mid(), "args": args}
        frames = []
        if tensors:
            h["tensors"] = [{"name": n, "dtype": d, "shape": s} for n, d, s in tensors]
            for _, d, s in tensors:
                n = int(np.prod(s)) * P.DTYPES[d].itemsize
                frames.append(np.random.default_rng(self.rng.randint(0, 2**32)).standard_normal(n // 4 + 1).astype(np.float32).tobytes()[:n]
                              if n <= FUZZ_MAX_MESSAGE_BYTES else b"")
        return [self.pack(h), *frames]


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
