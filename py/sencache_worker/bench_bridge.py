"""Python halves of scripts/bench-bridge.ts (benchmarks, not part of the worker).

    python -m sencache_worker.bench_bridge loop --model DIR --steps N --every K --threads T
        Reads one line per run on stdin ("run <seed>") and answers with the wall seconds of the same
        sampling loop the TS side drives (CFG, the pipeline's scheduler, compute every K-th step and
        reuse the last output between), all in this one process, and the seconds spent in its forwards. The model
        is made batch-invariant as the worker makes it on CPU, so both sides run the same forwards.
    python -m sencache_worker.bench_bridge echo --endpoint ipc:///… [--header]
        A raw ROUTER that sends every message back unchanged (the floor for the SDK's echo). With --header it
        also unpacks the msgpack header and packs a reply header, as a Python worker must at the least.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def loop(a) -> int:
    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    from . import adapters

    ad = adapters.load(os.path.abspath(a.model), torch.device("cpu"), "float32", None)
    # The model as the worker serves it on CPU: rows padded so a batch's composition never changes them.
    from .invariance import make_batch_invariant

    make_batch_invariant(ad.pipe)
    info = ad.info()
    steps = a.steps or info.defaults.num_inference_steps
    cond, _ = ad.encode_prompt(a.prompt, None)
    uncond, _ = ad.encode_prompt("", None)
    g = float(info.defaults.guidance_scale)
    print(json.dumps({"ready": True, "steps": steps}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] != "run":
            break
        seed = int(parts[1])
        t0 = time.perf_counter()
        x0 = ad.prepare_latents(seed, info.defaults.height, info.defaults.width, info.defaults.num_frames)
        sched = ad.pipe.scheduler.__class__.from_config(ad.pipe.scheduler.config)
        sched.set_timesteps(steps)
        x = torch.from_numpy(x0)
        last = None
        forward = 0.0
        for i, t in enumerate(sched.timesteps):
            if last is None or i % a.every == 0:
                both = np.concatenate([x.numpy(), x.numpy()])
                f0 = time.perf_counter()
                out = ad.denoise(both, np.array([float(t), float(t)], np.float32), [cond, uncond])
                forward += time.perf_counter() - f0
                last = torch.from_numpy(out[1:2] + np.float32(g) * (out[0:1] - out[1:2]))
            x = sched.step(last, t, x, return_dict=False)[0]
        wall = time.perf_counter() - t0
        print(json.dumps({"seconds": wall, "forward_seconds": forward, "checksum": float(x.double().sum())}), flush=True)
    return 0


def echo(a) -> int:
    import msgpack
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.bind(a.endpoint)
    while True:
        frames = sock.recv_multipart(copy=False)
        if len(frames) == 2 and frames[1].bytes == b"stop":
            break
        if a.header:
            header = msgpack.unpackb(frames[1].buffer)
            frames[1] = msgpack.packb({"v": header["v"], "op": header["op"], "id": header["id"], "ok": True,
                                       "result": {}, "tensors": header.get("tensors", [])})
        sock.send_multipart(frames, copy=False)
    sock.close(0)
    ctx.term()
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sencache_worker.bench_bridge")
    sub = p.add_subparsers(dest="mode", required=True)
    lp = sub.add_parser("loop")
    lp.add_argument("--model", required=True)
    lp.add_argument("--steps", type=int, default=0)
    lp.add_argument("--every", type=int, default=2)
    lp.add_argument("--threads", type=int, default=1)
    lp.add_argument("--prompt", default="a red circle moving right")
    ep = sub.add_parser("echo")
    ep.add_argument("--endpoint", required=True)
    ep.add_argument("--header", action="store_true", help="also unpack the header and pack a reply header")
    a = p.parse_args(argv)
    return loop(a) if a.mode == "loop" else echo(a)


if __name__ == "__main__":
    sys.exit(main())
