"""The worker's side of the bridge, without Node: a pyzmq DEALER sends the same `echo` (header + one float32 frame)
to a raw pyzmq ROUTER and to the worker of each given checkout, interleaved, and prints the medians.

    .venv/bin/python scripts/bench-worker-echo.py [--elements 2560] [--repeats 3000] CHECKOUT [CHECKOUT ...]

CHECKOUT is a folder holding this repository (its py/ and .venv/), e.g. the current tree and a worktree of an
older commit: the difference between them is what a change to the worker's message path bought.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import msgpack
import numpy as np
import zmq


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("checkouts", nargs="+")
    p.add_argument("--elements", type=int, default=2560, help="float32 elements of the echoed frame (2560: 10 KB)")
    p.add_argument("--repeats", type=int, default=3000)
    a = p.parse_args()
    folder = tempfile.mkdtemp(prefix="sencache-echo-")
    ctx = zmq.Context()
    procs, socks = [], []

    def start(root: str, module: list[str], endpoint: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.path.join(root, "py"), OMP_WAIT_POLICY="PASSIVE", HF_HUB_OFFLINE="1")
        python = os.path.join(root, ".venv", "bin", "python")
        procs.append(subprocess.Popen([python, "-m", *module, "--endpoint", endpoint], cwd=os.path.join(root, "py"), env=env,
                                      stderr=subprocess.DEVNULL))
        sock = ctx.socket(zmq.DEALER)
        sock.connect(endpoint)
        socks.append(sock)

    roots = [os.path.abspath(c) for c in a.checkouts]
    start(roots[0], ["sencache_worker.bench_bridge", "echo"], f"ipc://{folder}/raw.sock")
    for i, root in enumerate(roots):
        start(root, ["sencache_worker", "--device", "cpu", "--threads", "1"], f"ipc://{folder}/worker{i}.sock")
    for sock in socks[1:]:
        sock.send_multipart([msgpack.packb({"v": 1, "op": "hello", "id": 1, "args": {"client": "bench-worker-echo"}})])
        if not msgpack.unpackb(sock.recv_multipart()[0])["ok"]:
            raise SystemExit("a worker refused hello")
    data = np.sin(np.arange(a.elements, dtype=np.float32))
    warm = 50
    times: list[list[float]] = [[] for _ in socks]
    for i in range(a.repeats + warm):
        header = msgpack.packb({"v": 1, "op": "echo", "id": i + 2, "tensors": [{"name": "x", "dtype": "float32", "shape": [a.elements]}]})
        for k, sock in enumerate(socks):
            t0 = time.perf_counter()
            sock.send_multipart([header, data], copy=False)
            reply = sock.recv_multipart(copy=False)
            if i >= warm:
                times[k].append(time.perf_counter() - t0)
            if len(reply[-1]) != data.nbytes:
                raise SystemExit("an echo came back different")
    medians = [statistics.median(t) * 1e3 for t in times]
    print(f"echo of {a.elements * 4} bytes, median of {a.repeats} interleaved: raw ROUTER {medians[0]:.3f} ms")
    for root, m in zip(roots, medians[1:]):
        print(f"  worker of {root}: {m:.3f} ms = {m / medians[0]:.2f}x raw (+{(m - medians[0]) * 1e3:.0f} us)")
    socks[0].send_multipart([b"stop"])
    for proc in procs[1:]:
        proc.terminate()
    for proc in procs:
        proc.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
