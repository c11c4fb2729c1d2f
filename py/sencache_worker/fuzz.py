"""Fuzz a running worker: malformed, truncated, oversized and random messages, one at a time.

    PYTHONPATH=py python -m sencache_worker.fuzz --messages 100000 [--endpoint ipc:///…] [--model DIR] [--seed 0]

Without --endpoint it starts its own worker (limits small enough that oversized cases are cheap). Every
message must be answered by one reply with a typed error code (or ok, for the few that happen to be
valid), except frames over the transport limit, which libzmq drops with the connection (no reply, by
design). At the end it checks the worker is alive, prints what came back and the worker's RSS before
and after, and exits 1 on a death, a missing reply, an `internal` error or RSS growth over --rss-slack-mb.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import numpy as np
import zmq

from . import protocol as P

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "models" / "tiny-wan-t2v"
FUZZ_MAX_MESSAGE_BYTES = 4 << 20


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


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


def start_worker(tmp: str, extra: list[str], stderr_path: str) -> tuple[subprocess.Popen, str]:
    """The worker's stderr goes to a file, never a pipe: a pipe nobody reads fills and blocks the worker."""
    endpoint = f"ipc://{tmp}/fuzz.sock"
    env = dict(os.environ, PYTHONPATH=str(REPO / "py"), OMP_WAIT_POLICY="PASSIVE", HF_HUB_OFFLINE="1")
    with open(stderr_path, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sencache_worker", "--endpoint", endpoint, "--device", "cpu", "--threads", "1",
             "--max-message-bytes", str(FUZZ_MAX_MESSAGE_BYTES), "--log-level", "WARNING", *extra],
            env=env, stderr=err, stdin=subprocess.DEVNULL,
        )
    return proc, endpoint


def tail(path: str | None, n: int = 4000) -> str:
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - n))
        return f.read().decode("utf-8", "replace")


def exit_status(code: int | None) -> str:
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def call(sock, frames, timeout_ms) -> P.Reply | None:
    sock.send_multipart(frames)
    if not sock.poll(timeout_ms):
        return None
    return P.decode_reply(sock.recv_multipart())


def run(messages: int, endpoint: str | None, model_dir: str, seed: int, reply_timeout_ms: int = 30_000,
        rss_slack_mb: float = 64.0, log=print, extra_worker_args: list[str] | None = None,
        worker_stderr: str | None = None, restart_on_death: bool = False) -> dict:
    tmp = tempfile.mkdtemp(prefix="sencache-fuzz-")
    target = Target(endpoint, tmp, extra_worker_args or [], worker_stderr or os.path.join(tmp, "worker.stderr"))
    try:
        return _run(target, messages, model_dir, seed, reply_timeout_ms, rss_slack_mb, log, restart_on_death)
    finally:
        target.kill()


class Target:
    """The worker under fuzz: a given endpoint, or one this process starts (and may start again after a death)."""

    def __init__(self, endpoint: str | None, tmp: str, extra: list[str], stderr_path: str):
        self.external = endpoint is not None
        self.tmp, self.extra, self.stderr_path = tmp, extra, stderr_path
        self.proc: subprocess.Popen | None = None
        self.endpoint = endpoint
        if not self.external:
            self.start()

    def start(self) -> None:
        self.proc, self.endpoint = start_worker(self.tmp, self.extra, self.stderr_path)

    def dead(self, wait_s: float = 2.0) -> bool:
        if self.proc is None:
            return False
        try:
            self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _session(sock, model_dir):
    """hello, load, a prompt and a latent, so handle-taking ops reach their checks. Returns (pid, model, cond, shape)."""
    hello = call(sock, P.encode_request(P.hello_request(1, "fuzz")), 120_000)
    if hello is None or not hello.ok:
        raise SystemExit(f"the worker did not answer hello: {hello}")
    loaded = call(sock, P.encode_request(P.request("load", 2, source=model_dir)), 300_000)
    model = loaded.result["model"] if loaded and loaded.ok else None
    cond, shape = None, (1, 4, 2, 4, 4)
    if model:
        cond = call(sock, P.encode_request(P.request("encode_prompt", 3, model=model, text="a red square")), 60_000).result["cond"]
        d = loaded.result["defaults"]
        lat = call(sock, P.encode_request(P.request("prepare_latents", 4, model=model, seed=0, height=d["height"], width=d["width"],
                                                    num_frames=d["num_frames"])), 60_000)
        shape = tuple(lat.get("latents").array.shape)
    return hello.result["pid"], model, cond, shape


def _run(target: Target, messages, model_dir, seed, reply_timeout_ms, rss_slack_mb, log, restart_on_death) -> dict:
    ctx = zmq.Context.instance()

    def connect():
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(target.endpoint)
        return s

    sock = connect()
    pid, model, cond, shape = _session(sock, model_dir)
    fz = Fuzzer(random.Random(seed), model, cond, shape)
    # warm up (first replies of each kind allocate caches) before the baseline
    for _ in range(min(2000, messages // 10)):
        frames, kind = fz.message()
        call(sock, frames, 500 if kind.startswith("drop") else reply_timeout_ms)
    rss0 = rss_mb(pid)
    if log:
        log(f"  worker pid {pid}, RSS at start {rss0:.1f} MB", flush=True)
    kinds = collections.Counter()
    codes = collections.Counter()
    missing: list[str] = []
    internal: list[str] = []
    deaths: list[dict] = []
    recent: collections.deque = collections.deque(maxlen=8)  # what was sent just before a death
    t0 = time.perf_counter()
    sent = 0
    for i in range(messages):
        frames, kind = fz.message()
        sent = i + 1
        recent.append((kind, frames[0][:300] if frames else b"", [len(f) for f in frames]))
        kinds[kind.split(" ")[0] if kind.startswith("mutated") else kind] += 1
        rep = call(sock, frames, 500 if kind.startswith("drop") else reply_timeout_ms)
        if kind.startswith("drop"):
            codes["dropped at the transport"] += rep is None
            if rep is None and not target.dead(0.0):
                continue
        if rep is None:
            if target.dead():
                death = {"at_message": i + 1, "status": exit_status(target.proc.returncode), "stderr_tail": tail(target.stderr_path),
                         "last_messages": [(k, h.hex(), sizes) for k, h, sizes in recent]}
                deaths.append(death)
                if log:
                    log(f"  WORKER DIED at message {i + 1}: {death['status']}\n{death['stderr_tail']}", flush=True)
                if not restart_on_death or len(deaths) > 5:
                    break
                target.start()
                sock.close()
                sock = connect()
                pid, model, cond, shape = _session(sock, model_dir)
                fz.model, fz.cond, fz.shape = model, cond, shape
                continue
            missing.append(kind)
            if log:
                log(f"  no reply to a {kind!r} message: {frames[0][:200]!r}", flush=True)
            if len(missing) > 20:
                break
            sock.close()
            sock = connect()
            continue
        code = "ok" if rep.ok else rep.error.code
        codes[code] += 1
        if code == P.INTERNAL:
            internal.append(f"{kind}: {rep.error.message}")
        if log and (i + 1) % 5_000 == 0:
            log(f"  {i + 1} messages, {time.perf_counter() - t0:.0f} s, RSS {rss_mb(pid):.1f} MB, {len(deaths)} deaths, "
                f"{len(missing)} missing, {len(internal)} internal", flush=True)
    elapsed = time.perf_counter() - t0
    alive = call(sock, P.encode_request(P.request("ping", 5)), 10_000) is not None
    rss1 = rss_mb(pid) if alive else float("nan")
    sock.close()
    status = "external"
    if target.proc is not None:
        target.proc.terminate()
        try:
            target.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            target.kill()
        status = exit_status(target.proc.returncode)
        if target.proc.returncode not in (0, -15) and not deaths:
            deaths.append({"at_message": sent, "status": status, "stderr_tail": tail(target.stderr_path), "last_messages": []})
    return {
        "messages": sent, "seconds": round(elapsed, 1), "alive": alive, "worker_died": bool(deaths), "deaths": deaths,
        "worker_exit": status, "missing_replies": missing, "internal_errors": internal[:20], "codes": dict(codes), "kinds": dict(kinds),
        "rss_mb_before": round(rss0, 1), "rss_mb_after": round(rss1, 1), "rss_slack_mb": rss_slack_mb,
        "ok": alive and not deaths and not missing and not internal and rss1 - rss0 <= rss_slack_mb,
        "stderr_tail": tail(target.stderr_path) if deaths else "",
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sencache_worker.fuzz", description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--endpoint", default=None, help="fuzz this running worker (default: start one)")
    p.add_argument("--model", default=str(BUNDLED), help="pipeline folder loaded first, so handle-taking ops reach their checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rss-slack-mb", type=float, default=64.0)
    p.add_argument("--reply-timeout-ms", type=int, default=30_000)
    p.add_argument("--worker-stderr", default=None, help="append the started worker's stderr to this file (default: a temp file)")
    p.add_argument("--restart-on-death", action="store_true", help="count deaths and go on with a fresh worker (up to 5)")
    a = p.parse_args(argv)
    report = run(a.messages, a.endpoint, a.model, a.seed, a.reply_timeout_ms, rss_slack_mb=a.rss_slack_mb,
                 log=lambda *x, **k: print(*x, file=sys.stderr, **k), worker_stderr=a.worker_stderr, restart_on_death=a.restart_on_death)
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
