"""The worker process: a ZeroMQ ROUTER shared by one I/O thread and one compute thread that owns the models.

The I/O thread reads the ROUTER. It answers the ops that protocol.OPS marks `inline` itself (hello, ping, echo, stats,
ops, shutdown: so heartbeats are answered during a long forward) and queues every other op for the compute thread.
Each op is served by the Worker method `_op_<name>`: the inline ones below, `denoise` in batching.py (merged forwards),
the other compute ops in model_ops.py. The compute thread sends each reply on the ROUTER itself, under the lock both
threads use (router.SharedRouter): no hop back through the I/O thread.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import select
import sys
import threading
import time
import traceback

import zmq

from . import WORKER_NAME, __version__
from . import protocol as P
from . import limits as L
from . import security
from .batching import DenoiseBatching
from .devices import resolve_device
from .handles import Models
from .jobs import Job
from .model_ops import ModelOps
from .router import POLLIN, HeldRouter, SharedRouter, recv_frames

log = logging.getLogger("sencache_worker")


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages = self.denoise_requests = self.denoise_items = self.forwards = self.errors = 0
        self.forward_seconds = 0.0  # wall time inside forwards: what a request cost beyond it is the bridge's

    def add(self, **deltas: float) -> None:
        with self.lock:
            for k, v in deltas.items():
                setattr(self, k, getattr(self, k) + v)


def _last_line(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return (lines[-1] if lines else repr(exc)).strip()


class Worker(DenoiseBatching, ModelOps):
    def __init__(self, endpoint: str, device: str, threads: int | None, max_message_bytes: int,
                 max_batch_items: int = 64, debug_delay_ms: int = 0, curve_secret: bytes | None = None,
                 batching: str = "merge", limits: L.Limits | None = None, curve_allow: security.AllowList | None = None):
        self.endpoint = endpoint
        self.limits = limits or L.Limits()
        self.t_max: dict[str, float] = {}
        self.batching = batching
        self.curve_secret = curve_secret
        self.curve_allow = curve_allow
        self.device_arg = device
        self.threads = threads
        self.max_message_bytes = max_message_bytes
        self.max_batch_items = max_batch_items
        self.debug_delay = debug_delay_ms / 1000.0
        self.counters = Counters()
        self.jobs: queue.Queue = queue.Queue()
        self.stopping = False
        self.compute_error: BaseException | None = None
        self.ctx = zmq.Context()
        missing = [op for op in P.OPS if not callable(getattr(self, f"_op_{op}", None))]
        if missing:  # pragma: no cover - a new OpSpec without its handler
            raise TypeError(f"protocol.OPS lists {', '.join(missing)} but Worker has no _op_<name> handler for it")
        self._handlers = {op: getattr(self, f"_op_{op}") for op in P.OPS}
        self._inline = frozenset(op for op, spec in P.OPS.items() if spec.inline)

    # -- start-up ----------------------------------------------------------------------------------------------

    def _init_compute(self):
        import diffusers
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:
                pass
        self.torch_device = resolve_device(self.device_arg, torch)
        try:
            diffusers.utils.logging.set_verbosity_error()
            diffusers.utils.logging.disable_progress_bar()
            import transformers

            transformers.utils.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
        except Exception:  # pragma: no cover - cosmetic only
            pass
        from . import adapters  # noqa: F401  (import cost paid before readiness)

        self.hello = P.HelloResult(
            protocol=P.PROTOCOL_VERSION,
            worker=WORKER_NAME,
            version=__version__,
            device=str(self.torch_device),
            pid=os.getpid(),
            torch=torch.__version__,
            diffusers=diffusers.__version__,
            max_message_bytes=self.max_message_bytes,
            limits=self.limits.as_dict(),
        )
        self.models = Models(self.torch_device)

    def run(self) -> int:
        router = self.ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 2000)
        # libzmq drops a peer whose frame is larger than this before buffering it (it counts each frame;
        # CURVE adds a few bytes): the tensor limit, or the header limit when that is larger.
        router.setsockopt(zmq.MAXMSGSIZE, max(self.max_message_bytes, P.MAX_HEADER_BYTES) + 256)
        if self.curve_secret is not None:
            public = security.curve_server(router, self.curve_secret, self.curve_allow)
            log.info("CURVE on: clients need the server key %s", public)
        router.bind(self.endpoint)
        shared = self.shared = SharedRouter(router)
        held = HeldRouter(router)
        # Messages queue in ZeroMQ until we read them: the first hello is answered only once this returns.
        self._init_compute()
        compute = threading.Thread(target=self._compute_main, name="compute", daemon=True)
        compute.start()
        log.info("ready on %s (device %s, pid %d)", self.endpoint, self.torch_device, os.getpid())

        # Both waits are plain file descriptors (ZMQ_FD and the wake pipe), so select.poll serves them without
        # zmq.Poller's Python layer. ZMQ_FD is edge-triggered: after a wake the loop reads until ZMQ_EVENTS says no
        # message waits (a send can consume the notice, so the check comes after every message), and only then
        # waits again, outside the lock.
        waiter = select.poll()
        waiter.register(shared.fd, select.POLLIN)
        waiter.register(shared.wake_r, select.POLLIN)
        try:
            while not self.stopping:
                if self.compute_error is not None:
                    raise RuntimeError("the compute thread died") from self.compute_error
                with shared.lock:
                    while not self.stopping:
                        try:
                            frames = recv_frames(router)
                        except zmq.Again:
                            break
                        self._on_message(held, frames)
                        if not router.getsockopt(zmq.EVENTS) & POLLIN:
                            break
                if self.stopping:
                    break
                if any(fd == shared.wake_r for fd, _ in waiter.poll(200)):
                    shared.drain_wake()
        finally:
            self.jobs.put(None)
            compute.join(timeout=5.0)
            with shared.lock:
                router.close(linger=2000)
            shared.close()
        if compute.is_alive():
            log.warning("a forward is still running; exiting without waiting for it")
            time.sleep(0.2)
            sys.stderr.flush()
            os._exit(0)
        self.ctx.term()
        log.info("stopped")
        return 0

    # -- dispatch ----------------------------------------------------------------------------------------------
    # Each op of protocol.OPS is served by the method `_op_<name>` below: `(args) -> result` for most ops, answered
    # on the I/O thread when the op's OpSpec says `inline` (so also during a forward), else on the compute thread.
    # A `@grouped` handler takes the first job and the waiting ones and sends its replies itself (denoise).

    def _handler(self, op: str):
        return self._handlers[op]

    def _send(self, sock, identity: bytes, reply: P.Reply) -> None:
        if not reply.ok:
            self.counters.add(errors=1)
        sock.send_multipart([identity, *P.encode_reply(reply)])

    def _answer(self, sock, job: Job) -> None:
        try:
            result = self._handlers[job.req.op](job.args)
        except Exception as e:
            self._fail(sock, job, e)
            return
        self._send(sock, job.identity, P.reply_to(job.req.op, job.req.id, result))

    def _fail(self, sock, job: Job, exc: BaseException) -> None:
        if isinstance(exc, P.ProtocolError):
            err = exc
        else:
            log.error("%s %d failed:\n%s", job.req.op, job.req.id, "".join(traceback.format_exception(exc)))
            err = P.ProtocolError(P.INTERNAL, _last_line(exc))
        self._send(sock, job.identity, P.error_reply(err, job.req.op, job.req.id))

    # -- I/O thread --------------------------------------------------------------------------------------------

    def _on_message(self, router, frames) -> None:
        self.counters.messages += 1  # only this thread writes it (stats reads it under the lock)
        identity = frames[0].bytes
        try:
            req = P.decode_request(frames[1:], self.max_message_bytes)
        except P.ProtocolError as e:
            log.info("rejected a message: %s %s", e.code, e.message)
            self._send(router, identity, P.error_reply(e))
            return
        try:
            args = P.parse_args(req)
            L.check(req, args, self.limits)
        except P.ProtocolError as e:
            self._send(router, identity, P.error_reply(e, req.op, req.id))
            return
        job = Job(identity, req, args)
        if req.op in self._inline:
            self._answer(router, job)
        else:
            self.jobs.put(job)

    def _op_hello(self, a: P.HelloArgs) -> P.HelloResult:
        if P.PROTOCOL_VERSION not in a.protocols:
            raise P.ProtocolError(
                P.UNSUPPORTED_VERSION,
                f"The client speaks {list(a.protocols)}; this worker speaks {list(P.SUPPORTED_VERSIONS)}.",
            )
        log.info("hello from %s", a.client or "a client")
        return self.hello

    def _op_ping(self, a: P.NoArgs) -> P.Empty:
        return P.Empty()

    def _op_echo(self, a: P.EchoArgs) -> P.EchoResult:
        return P.EchoResult(tensors=list(a.tensors))

    def _op_stats(self, a: P.NoArgs) -> P.StatsResult:
        c = self.counters
        with c.lock:
            return P.StatsResult(
                messages=c.messages,
                denoise_requests=c.denoise_requests,
                denoise_items=c.denoise_items,
                forwards=c.forwards,
                errors=c.errors,
                models=len(self.models.adapters),
                conds=len(self.models.conds),
                forward_seconds=c.forward_seconds,
            )

    def _op_ops(self, a: P.NoArgs) -> P.OpsResult:
        return P.OpsResult(ops=tuple(P.describe(spec) for spec in P.OPS.values()))

    def _op_shutdown(self, a: P.NoArgs) -> P.Empty:
        self.stopping = True
        log.info("shutdown requested")
        return P.Empty()

    # -- compute thread ----------------------------------------------------------------------------------------

    def _compute_main(self) -> None:
        try:
            self._compute_loop(self.shared)  # replies go straight to the ROUTER, under its lock
        except BaseException as e:  # a bug here must not leave a worker that never answers
            log.error("compute thread crashed:\n%s", traceback.format_exc())
            self.compute_error = e

    def _compute_loop(self, push) -> None:
        pending: collections.deque = collections.deque()
        while True:
            if not pending:
                pending.append(self.jobs.get())
            while True:
                try:
                    pending.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            job = pending.popleft()
            if job is None:
                return
            handler = self._handler(job.req.op)
            if getattr(handler, "grouped", False):
                handler(push, job, pending)
            else:
                self._answer(push, job)
