"""Where a whole `sencache` model command spends the time it does not sample: the worker's start
(interpreter + imports until it answers hello), the model load, and the exit after `shutdown`.

    .venv/bin/python scripts/measure-startup.py [--model models/tiny-wan-t2v] [--runs 3]

Prints the median of each phase over the runs (a program that prints a table, not a test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zmq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "py"))

from sencache_worker import protocol as P  # noqa: E402


def one_run(model: str) -> dict[str, float]:
    tmp = tempfile.mkdtemp(prefix="sencache-startup-")
    endpoint = f"ipc://{tmp}/w.sock"
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 120_000)
    sock.connect(endpoint)
    env = dict(os.environ, PYTHONPATH=str(REPO / "py"), OMP_WAIT_POLICY="PASSIVE", HF_HUB_OFFLINE="1")

    def call(op: str, rid: int, **args) -> P.Reply:
        sock.send_multipart(P.encode_request(P.request(op, rid, [], **args)))
        rep = P.decode_reply(sock.recv_multipart())
        assert rep.ok, rep.error
        return rep

    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "sencache_worker", "--endpoint", endpoint, "--device", "cpu"],
                            cwd=str(REPO / "py"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    call("hello", 1, client="measure")
    t1 = time.monotonic()
    call("load", 2, source=model, dtype="float32")
    t2 = time.monotonic()
    call("shutdown", 3)
    t3 = time.monotonic()
    proc.wait(60)
    t4 = time.monotonic()
    sock.close()
    return {"start until hello": t1 - t0, "load": t2 - t1, "shutdown reply": t3 - t2, "exit after shutdown": t4 - t3}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(REPO / "models" / "tiny-wan-t2v"))
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    runs = [one_run(a.model) for _ in range(a.runs)]
    print(f"| phase | median s ({a.runs} runs) |\n|---|---:|")
    for k in runs[0]:
        print(f"| {k} | {statistics.median(r[k] for r in runs):.2f} |")


if __name__ == "__main__":
    main()
