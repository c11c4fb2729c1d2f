"""Fuzz a running worker: malformed, truncated, oversized and random messages, one at a time.

    PYTHONPATH=py python -m sencache_worker.fuzz --messages 100000 [--endpoint ipc:///…] [--model DIR] [--i2v-model DIR] [--seed 0]

Without --endpoint it starts its own worker (limits small enough that oversized cases are cheap). Every
message must be answered by one reply with a typed error code (or ok, for valid requests), except frames over
the transport limit, which libzmq drops with the connection (no reply, by design); a request over one of the
limits the worker reported in hello must be refused. At the end it checks the worker is alive, prints what came
back and the worker's RSS before and after, and exits 1 on a death, a missing reply, an `internal` error, an
over-limit request answered ok, or RSS growth over --rss-slack-mb. The messages themselves come from
`fuzz_messages.py` (every op's requests from `fuzz_ops.py`); this module runs the worker, sends them and counts.
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

import numpy as np
import zmq

from . import protocol as P
from .fuzz_messages import BUNDLED, FUZZ_LIMITS, FUZZ_MAX_MESSAGE_BYTES, REPO, Fuzzer


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_worker(tmp: str, extra: list[str], stderr_path: str) -> tuple[subprocess.Popen, str]:
    """The worker's stderr goes to a file, never a pipe: a pipe nobody reads fills and blocks the worker."""
    endpoint = f"ipc://{tmp}/fuzz.sock"
    env = dict(os.environ, PYTHONPATH=str(REPO / "py"), OMP_WAIT_POLICY="PASSIVE", HF_HUB_OFFLINE="1")
    with open(stderr_path, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sencache_worker", "--endpoint", endpoint, "--device", "cpu", "--threads", "1",
             "--max-message-bytes", str(FUZZ_MAX_MESSAGE_BYTES), "--log-level", "WARNING",
             *[a for k, v in FUZZ_LIMITS.items() for a in ("--limit", f"{k}={v}")], *extra],
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
        worker_stderr: str | None = None, restart_on_death: bool = False, i2v_dir: str | None = None) -> dict:
    tmp = tempfile.mkdtemp(prefix="sencache-fuzz-")
    target = Target(endpoint, tmp, extra_worker_args or [], worker_stderr or os.path.join(tmp, "worker.stderr"))
    try:
        return _run(target, messages, (model_dir, i2v_dir), seed, reply_timeout_ms, rss_slack_mb, log, restart_on_death)
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


def _ok(sock, op, timeout_ms=60_000, tensors=(), **args) -> P.Reply:
    rep = call(sock, P.encode_request(P.request(op, 2, list(tensors), **args)), timeout_ms)
    if rep is None or not rep.ok:
        raise SystemExit(f"the worker did not answer {op} of the fuzzer's setup: {rep}")
    return rep


def _session(sock, dirs) -> dict:
    """hello, load, a prompt and a latent (and with an i2v model its image handle), so handle-taking ops reach their
    checks. Returns the Fuzzer's keyword arguments and the worker's pid."""
    model_dir, i2v_dir = dirs
    hello = call(sock, P.encode_request(P.hello_request(1, "fuzz")), 120_000)
    if hello is None or not hello.ok:
        raise SystemExit(f"the worker did not answer hello: {hello}")
    out = {"pid": hello.result["pid"], "limits": hello.result["limits"], "model_dir": model_dir, "model": None, "cond": None,
           "shape": (1, 4, 2, 4, 4), "i2v": None}
    loaded = call(sock, P.encode_request(P.request("load", 2, source=model_dir)), 300_000)
    if loaded is None or not loaded.ok:
        return out
    m, d = loaded.result["model"], loaded.result["defaults"]
    size = {k: d[k] for k in ("height", "width", "num_frames")}
    cond = _ok(sock, "encode_prompt", model=m, text="a red square").result["cond"]
    shape = tuple(_ok(sock, "prepare_latents", model=m, seed=0, **size).get("latents").array.shape)
    out.update(model=m, cond=cond, shape=shape, size=size)
    if i2v_dir:
        loaded = _ok(sock, "load", 300_000, source=i2v_dir).result
        m, d = loaded["model"], loaded["defaults"]
        size = {"seed": 0, **{k: d[k] for k in ("height", "width", "num_frames")}}
        image = _ok(sock, "encode_image", tensors=[P.tensor("image", np.full((16, 16, 3), 128, np.uint8))], model=m, **size).result["image"]
        shape = tuple(_ok(sock, "prepare_latents", model=m, image=image, **size).get("latents").array.shape)
        out["i2v"] = {"model": m, "cond": _ok(sock, "encode_prompt", model=m, text="a cat").result["cond"], "image": image,
                      "shape": shape, "size": size}
    return out


def _run(target: Target, messages, model_dir, seed, reply_timeout_ms, rss_slack_mb, log, restart_on_death) -> dict:
    ctx = zmq.Context.instance()

    def connect():
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(target.endpoint)
        return s

    sock = connect()
    setup = _session(sock, model_dir)
    pid = setup.pop("pid")
    fz = Fuzzer(random.Random(seed), **setup)
    # warm up (first replies of each kind allocate caches) before the baseline
    for _ in range(min(2000, messages // 10)):
        frames, kind = fz.message()
        rep = call(sock, frames, 500 if kind.startswith("drop") else reply_timeout_ms)
        if rep is None and not kind.startswith("drop"):
            sock.close()
            sock = connect()
        keep_handles(fz, rep)
    rss0 = rss_mb(pid)
    if log:
        log(f"  worker pid {pid}, RSS at start {rss0:.1f} MB", flush=True)
    kinds = collections.Counter()
    codes = collections.Counter()
    missing: list[str] = []
    internal: list[str] = []
    unbounded: list[str] = []  # over-limit requests answered ok
    slowest: list[tuple[float, str]] = []  # the longest waits for a reply (a message that holds the worker)
    by_variant: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    deaths: list[dict] = []
    recent: collections.deque = collections.deque(maxlen=8)  # what was sent just before a death
    t0 = time.perf_counter()
    sent = 0
    for i in range(messages):
        frames, kind = fz.message()
        sent = i + 1
        recent.append((kind, frames[0][:300] if frames else b"", [len(f) for f in frames]))
        kinds[" ".join(kind.split(" ")[:2])] += 1
        t_sent = time.perf_counter()
        rep = call(sock, frames, 500 if kind.startswith("drop") else reply_timeout_ms)
        slowest = sorted([*slowest, (round(time.perf_counter() - t_sent, 3), kind)], reverse=True)[:5]
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
                setup = _session(sock, model_dir)
                pid = setup.pop("pid")
                fz.__dict__.update(setup)
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
        by_variant[kind.split(" ")[0]][code] += 1
        if kind.startswith(("valid ", "over ")):  # what each op's valid and over-limit requests got
            by_variant[" ".join(kind.split(" ")[:2])][code] += 1
        keep_handles(fz, rep)
        if code == P.INTERNAL:
            internal.append(f"{kind}: {rep.error.message}")
        if code == "ok" and kind.startswith("over "):
            unbounded.append(kind)
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
        "messages_per_s": round(sent / elapsed, 1) if elapsed else None,
        "worker_exit": status, "missing_replies": missing, "internal_errors": internal[:20], "unbounded": unbounded[:20], "slowest_replies_s": slowest,
        "codes": dict(codes), "codes_by_variant": {k: dict(v) for k, v in sorted(by_variant.items())}, "kinds": dict(sorted(kinds.items())),
        "rss_mb_before": round(rss0, 1), "rss_mb_after": round(rss1, 1), "rss_slack_mb": rss_slack_mb,
        "ok": alive and not deaths and not missing and not internal and not unbounded and rss1 - rss0 <= rss_slack_mb,
        "stderr_tail": tail(target.stderr_path) if deaths else "",
    }


def keep_handles(fz: Fuzzer, rep: P.Reply | None) -> None:
    """Condition and image handles that fuzz requests made: a later valid `release` frees them (else they pile up)."""
    if rep is not None and rep.ok and rep.op in ("encode_prompt", "encode_image"):
        handle = rep.result.get("cond") or rep.result.get("image")
        if isinstance(handle, str):
            fz.created.append(handle)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sencache_worker.fuzz", description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--endpoint", default=None, help="fuzz this running worker (default: start one)")
    p.add_argument("--model", default=str(BUNDLED), help="pipeline folder loaded first, so handle-taking ops reach their checks")
    p.add_argument("--i2v-model", default=None, help="an image-to-video pipeline folder, also loaded, so encode_image and image "
                   "handles are fuzzed for real (python -m sencache_fixtures.families build --case wan2.2-ti2v-i2v --out DIR)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rss-slack-mb", type=float, default=64.0)
    p.add_argument("--reply-timeout-ms", type=int, default=30_000)
    p.add_argument("--worker-stderr", default=None, help="append the started worker's stderr to this file (default: a temp file)")
    p.add_argument("--restart-on-death", action="store_true", help="count deaths and go on with a fresh worker (up to 5)")
    a = p.parse_args(argv)
    report = run(a.messages, a.endpoint, a.model, a.seed, a.reply_timeout_ms, rss_slack_mb=a.rss_slack_mb,
                 log=lambda *x, **k: print(*x, file=sys.stderr, **k), worker_stderr=a.worker_stderr, restart_on_death=a.restart_on_death,
                 i2v_dir=a.i2v_model)
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
