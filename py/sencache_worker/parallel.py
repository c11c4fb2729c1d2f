"""One sample across several processes: the worker under `torchrun` with diffusers' context parallelism.

    torchrun --nproc_per_node 2 -m sencache_worker --endpoint ipc:///tmp/w.sock --device cuda [--context-parallel ulysses]

Every rank loads the same models; each transformer gets `enable_parallelism(ContextParallelConfig(ulysses_degree=N))`
(or `ring_degree=N`), so one forward splits its sequence over the N ranks and gathers the output on every rank.
Rank 0 is the ordinary worker: it owns the ROUTER, answers heartbeats and inline ops, and just before its compute
thread runs a job (a load, a prompt, a denoise batch as merged, a decode, ...) it broadcasts that job's request
frames (header + tensors) to the other ranks over a gloo group. The other ranks run the same jobs in the same order
and drop their replies, so every rank holds the same handles (rank 0's session id is shared) and enters each
forward's collectives together: the one decision is rank 0's by construction. The client sees one worker.

diffusers 0.42 on CPU / gloo: Ulysses works (diffusers divides by `torch.accelerator.device_count()`, which is 0
without an accelerator, so it is taken as 1) and matches the one-process forward; the sequence (latent tokens) must
divide by N, which the worker checks before the forward (`bad_shape`). Ring attention needs an attention backend
that returns the log-sum-exp (not `native`; `--cp-attention` picks another on GPU). See docs/serving.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import logging
import os
import sys

import numpy as np

from . import protocol as P
from .cli import parse_cli, worker_from_args
from .jobs import Job
from .server import Worker

log = logging.getLogger("sencache_worker")

WORLD_ENV = "WORLD_SIZE"


def under_torchrun() -> bool:
    return int(os.environ.get(WORLD_ENV, "1")) > 1


class _Drop:
    """Where the other ranks' replies go."""

    def send_multipart(self, frames) -> None:
        pass


class Channel:
    """Rank 0 → every rank: the compute jobs in the order rank 0 runs them (request frames over a gloo group)."""

    def __init__(self):
        import torch
        import torch.distributed as dist

        self.torch, self.dist = torch, dist
        # gloo whatever the compute backend (NCCL would need the bytes on the GPU); no timeout while a worker idles
        self.group = dist.new_group(backend="gloo", timeout=datetime.timedelta(days=365))

    def publish(self, kind: str, reqs: list[P.Request]) -> None:
        parts = [[np.frombuffer(memoryview(f).cast("B"), np.uint8) for f in P.encode_request(r)] for r in reqs]
        sizes = [[int(p.size) for p in frames] for frames in parts]
        self.dist.broadcast_object_list([(kind, sizes)], src=0, group=self.group)
        flat = [p for frames in parts for p in frames]
        if sum(p.size for p in flat):
            self.dist.broadcast(self.torch.from_numpy(np.concatenate(flat)), src=0, group=self.group)

    def receive(self) -> tuple[str, list[list[np.ndarray]]]:
        box: list = [None]
        self.dist.broadcast_object_list(box, src=0, group=self.group)
        kind, sizes = box[0]
        data = np.empty(sum(sum(s) for s in sizes), np.uint8)
        if data.size:
            self.dist.broadcast(self.torch.from_numpy(data), src=0, group=self.group)
        out, at = [], 0
        for frame_sizes in sizes:
            frames = []
            for n in frame_sizes:
                frames.append(data[at:at + n])
                at += n
            out.append(frames)
        return kind, out

    def share(self, value):
        box = [value]
        self.dist.broadcast_object_list(box, src=0, group=self.group)
        return box[0]


class ParallelWorker(Worker):
    """A worker that is one rank of a context-parallel group (rank 0 serves, the others follow)."""

    def __init__(self, *args, mode: str = "ulysses", attention: str = "native", **kwargs):
        super().__init__(*args, **kwargs)
        import torch.distributed as dist

        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.mode, self.attention = mode, attention
        self.channel = Channel()

    def _init_compute(self):
        import torch

        if torch.accelerator.device_count() == 0:  # CPU: diffusers places rank r on device r % device_count()
            torch.accelerator.device_count = lambda: 1
        super()._init_compute()
        self.models.session = self.channel.share(self.models.session)  # one set of handle names on every rank

    # rank 0: publish each job just before running it -------------------------------------------------------

    def _compute_main(self) -> None:
        try:
            super()._compute_main()
        finally:
            self.channel.publish("stop", [])

    def _take_batch(self, first: Job, pending) -> list[Job]:
        group = super()._take_batch(first, pending) if self.rank == 0 else self._followed
        if self.rank == 0:
            self.channel.publish("denoise", [job.req for job in group])
        return group

    def _answer(self, sock, job: Job) -> None:
        if self.rank == 0 and not P.OPS[job.req.op].inline:
            self.channel.publish("one", [job.req])
        super()._answer(sock, job)

    def _op_load(self, a):
        result = super()._op_load(a)
        adapter = self.models.adapters[result.model]
        if not getattr(adapter, "context_parallel", None):
            try:
                self._enable(adapter)
            except Exception as e:  # every rank fails alike: drop the model so a retry is a fresh load
                self._op_release(P.ReleaseArgs(handles=(result.model,)))
                raise P.ProtocolError(P.LOAD_FAILED, f"context parallelism could not be applied: {e}") from e
        return result

    def _enable(self, adapter) -> None:
        from diffusers import ContextParallelConfig

        for name in ("transformer", "transformer_2"):
            model = getattr(adapter.pipe, name, None)
            if model is None:
                continue
            if getattr(model, "_cp_plan", None) is None:
                raise ValueError(f"diffusers has no context-parallel plan for {type(model).__name__}")
            degrees = {"ulysses_degree": self.world} if self.mode == "ulysses" else {"ring_degree": self.world}
            model.set_attention_backend(self.attention)
            model.enable_parallelism(config=ContextParallelConfig(**degrees))
        adapter.context_parallel = {"mode": self.mode, "degree": self.world}
        geometry = adapter.info().geometry
        if geometry is not None:
            adapter.check_latent_shape = _split_check(adapter.check_latent_shape, tuple(geometry.patch), self.world)

    # the other ranks -------------------------------------------------------------------------------------

    def follow(self) -> int:
        self._init_compute()
        drop = _Drop()
        log.info("rank %d of %d follows rank 0 (%s context parallelism)", self.rank, self.world, self.mode)
        while True:
            kind, messages = self.channel.receive()
            if kind == "stop":
                return 0
            jobs = []
            for frames in messages:
                req = P.decode_request(frames, self.max_message_bytes)
                jobs.append(Job(b"", req, P.parse_args(req)))
            if kind == "denoise":
                self._followed = jobs  # rank 0's batch, as it merged it
                self._op_denoise(drop, jobs[0], collections.deque())
            else:
                self._answer(drop, jobs[0])


def _split_check(check, patch: tuple[int, int, int], world: int):
    """The adapter's latent-shape check plus: the latent's tokens must split evenly over the ranks (a typed
    `bad_shape` on every rank alike, before the forward, instead of an assertion inside diffusers)."""

    def checked(shape) -> None:
        check(shape)
        f, h, w = shape[2:]
        tokens = (f // patch[0]) * (h // patch[1]) * (w // patch[2])
        if tokens % world:
            raise P.ProtocolError(
                P.BAD_SHAPE, f"{tokens} latent tokens do not split over {world} context-parallel ranks; "
                f"use a latent size whose token count divides by {world}.")

    return checked


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--context-parallel", choices=["ulysses", "ring"], default="ulysses")
    extra.add_argument("--cp-attention", default="native", help="diffusers attention backend (ring needs one with LSE)")
    cp, rest = extra.parse_known_args(argv)
    args = parse_cli(rest)
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format=f"sencache-worker[{rank}] %(levelname)s %(message)s")
    import torch
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = args.device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)
        args.device = f"cuda:{local}"
    dist.init_process_group("nccl" if cuda else "gloo")
    worker = worker_from_args(args, ParallelWorker, mode=cp.context_parallel, attention=cp.cp_attention)
    if worker is None:
        return 2
    try:
        return worker.run() if rank == 0 else worker.follow()
    finally:
        dist.destroy_process_group()
