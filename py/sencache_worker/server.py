"""The worker process: a ZeroMQ ROUTER shared by one I/O thread and one compute thread that owns the models.

The I/O thread reads the ROUTER. It answers the ops that protocol.OPS marks `inline` itself (hello, ping, echo, stats,
ops, shutdown: so heartbeats are answered during a long forward) and queues every other op for the compute thread.
Each op is served by the Worker method `_op_<name>`. The compute thread merges the
waiting `denoise` requests of the same model and latent shape into one forward with per-item timesteps (unless
--batching request), then sends each reply on the ROUTER itself, under the lock both threads use (SharedRouter):
no hop back through the I/O thread.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq

from . import WORKER_NAME, __version__
from . import protocol as P
from . import limits as L
from . import security

log = logging.getLogger("sencache_worker")



# A frame below this many bytes is copied into its message: cheaper than pyzmq's zero-copy bookkeeping, which pays
# off for tensor frames above it.
ZERO_COPY_BYTES = 1 << 16


def send_frames(sock: zmq.Socket, frames) -> None:
    """One multipart message, frame by frame (pyzmq's send_multipart costs more per message than this)."""
    last = len(frames) - 1
    for i, frame in enumerate(frames):
        sock.send(frame, zmq.SNDMORE if i < last else 0, copy=len(frame) < ZERO_COPY_BYTES)


def recv_frames(sock: zmq.Socket) -> list:
    """The next multipart message as zmq.Frames (raises zmq.Again when none waits); its parts arrive together."""
    frame = sock.recv(zmq.NOBLOCK, copy=False)
    frames = [frame]
    while frame.more:
        frame = sock.recv(zmq.NOBLOCK, copy=False)
        frames.append(frame)
    return frames


class HeldRouter:
    """The ROUTER as the I/O thread sends on it inside its receive loop, which holds SharedRouter's lock and checks
    ZMQ_EVENTS before it waits: no lock to take, nobody to wake."""

    def __init__(self, sock: zmq.Socket):
        self.sock = sock

    def send_multipart(self, frames) -> None:
        send_frames(self.sock, frames)


class SharedRouter:
    """The ROUTER, used by the I/O thread and the compute thread alike, every call under one lock.

    The compute thread sends its replies itself (no hop through the I/O thread). Nobody waits while holding the
    lock: the I/O thread waits on the socket's ZMQ_FD outside it. A send can consume libzmq's notice of a message
    that arrived meanwhile, so after each send through this class (the compute thread's) the sender checks
    ZMQ_EVENTS and wakes the I/O thread through a pipe. The I/O thread itself sends through HeldRouter.
    """

    def __init__(self, sock: zmq.Socket):
        self.sock = sock
        self.lock = threading.RLock()
        self.fd = sock.getsockopt(zmq.FD)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def send_multipart(self, frames) -> None:
        with self.lock:
            send_frames(self.sock, frames)
            if self.sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                self.wake()

    def wake(self) -> None:
        try:
            os.write(self.wake_w, b"x")
        except BlockingIOError:
            pass

    def drain_wake(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        os.close(self.wake_r)
        os.close(self.wake_w)


DEBUG_ENV = "SENCACHE_WORKER_DEBUG"


@dataclass
class Job:
    identity: bytes
    req: P.Request
    args: Any


def grouped(handler):
    """Marks an op handler that serves a job together with waiting jobs it can share work with (denoise: one forward
    for several requests): called as `handler(push, first, pending)`, it takes what it serves out of `pending` and
    sends every reply itself."""
    handler.grouped = True
    return handler


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages = self.denoise_requests = self.denoise_items = self.forwards = self.errors = 0

    def add(self, **deltas: int) -> None:
        with self.lock:
            for k, v in deltas.items():
                setattr(self, k, getattr(self, k) + v)


def _last_line(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return (lines[-1] if lines else repr(exc)).strip()


class Models:
    """Loaded adapters and prompt-condition handles. Touched by the compute thread only (read by stats)."""

    def __init__(self, device):
        self.device = device
        self.session = os.urandom(3).hex()  # handles from another (or a dead) worker are never mistaken for ours
        self.adapters: dict[str, Any] = {}
        self.by_key: dict[tuple, str] = {}
        self.conds: dict[str, tuple[str, Any]] = {}
        self.images: dict[str, tuple[str, Any]] = {}  # image-to-video conditions (encode_image)
        self.serial = 0

    def _handle(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}{self.serial}.{self.session}"

    def model(self, handle: str):
        adapter = self.adapters.get(handle)
        if adapter is None:
            raise P.ProtocolError(P.UNKNOWN_MODEL, f"No loaded model has handle {handle!r}; call load first.")
        return adapter

    def cond(self, model: str, handle: str):
        return self._owned(self.conds, "Condition", model, handle, "encode the prompt again")

    def image(self, model: str, handle: str | None):
        if handle is None:
            return None
        return self._owned(self.images, "Image", model, handle, "send the image with encode_image again")

    @staticmethod
    def _owned(table: dict, kind: str, model: str, handle: str, again: str):
        entry = table.get(handle)
        if entry is None:
            raise P.ProtocolError(P.UNKNOWN_HANDLE, f"{kind} handle {handle!r} is not known here; {again}.")
        if entry[0] != model:
            raise P.ProtocolError(P.UNKNOWN_HANDLE, f"{kind} handle {handle!r} belongs to another model; encode it with {model}.")
        return entry[1]


class Worker:
    def __init__(self, endpoint: str, device: str, threads: int | None, max_message_bytes: int,
                 max_batch_items: int = 64, debug_delay_ms: int = 0, curve_secret: bytes | None = None,
                 batching: str = "merge", limits: L.Limits | None = None):
        self.endpoint = endpoint
        self.limits = limits or L.Limits()
        self.t_max: dict[str, float] = {}
        self.batching = batching
        self.curve_secret = curve_secret
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
            public = security.curve_server(router, self.curve_secret)
            log.info("CURVE on: clients need the server key %s", public)
        router.bind(self.endpoint)
        shared = self.shared = SharedRouter(router)
        held = HeldRouter(router)
        # Messages queue in ZeroMQ until we read them: the first hello is answered only once this returns.
        self._init_compute()
        compute = threading.Thread(target=self._compute_main, name="compute", daemon=True)
        compute.start()
        log.info("ready on %s (device %s, pid %d)", self.endpoint, self.torch_device, os.getpid())

        poller = zmq.Poller()
        poller.register(shared.fd, zmq.POLLIN)
        poller.register(shared.wake_r, zmq.POLLIN)
        try:
            while not self.stopping:
                if self.compute_error is not None:
                    raise RuntimeError("the compute thread died") from self.compute_error
                # Drain while ZMQ_EVENTS says a message waits (reading it re-arms ZMQ_FD), then wait on the FD outside
                # the lock.
                with shared.lock:
                    while not self.stopping and router.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                        try:
                            frames = recv_frames(router)
                        except zmq.Again:
                            break
                        self._on_message(held, frames)
                if self.stopping:
                    break
                if any(fd == shared.wake_r for fd, _ in poller.poll(200)):
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
        return getattr(self, f"_op_{op}")

    def _send(self, sock, identity: bytes, reply: P.Reply) -> None:
        if not reply.ok:
            self.counters.add(errors=1)
        sock.send_multipart([identity, *P.encode_reply(reply)])

    def _answer(self, sock, job: Job) -> None:
        try:
            result = self._handler(job.req.op)(job.args)
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
        self.counters.add(messages=1)
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
        if P.OPS[req.op].inline:
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

    def _cond_lengths(self, job: Job) -> set | None:
        try:
            return {self.models.cond(job.args.model, it.cond).shape[0] for it in job.args.items}
        except P.ProtocolError:
            return None

    def _take_batch(self, first: Job, pending: collections.deque) -> list[Job]:
        """`first` plus the waiting denoise jobs it can share a forward with (same model, shape, prompt length)."""
        if self.batching == "request":
            return [first]  # deterministic mode: a request's rows are computed together and with nothing else
        key = (first.args.model, first.args.x.shape[1:])
        lengths = self._cond_lengths(first)
        if lengths is None or len(lengths) != 1 or first.args.model not in self.models.adapters:
            return [first]
        group, items = [first], len(first.args.items)
        for job in list(pending):
            if job is None or job.req.op != first.req.op:
                continue
            if (job.args.model, job.args.x.shape[1:]) != key or self._cond_lengths(job) != lengths:
                continue
            if items + len(job.args.items) > self.max_batch_items:
                break
            pending.remove(job)
            group.append(job)
            items += len(job.args.items)
        return group

    @grouped
    def _op_denoise(self, push, first: Job, pending: collections.deque) -> None:
        group = self._take_batch(first, pending)
        self.counters.add(denoise_requests=len(group))
        ready: list[tuple[Job, list]] = []
        for job in group:
            try:
                adapter = self.models.model(job.args.model)
                conds = [self.models.cond(job.args.model, it.cond) for it in job.args.items]
                images = [self.models.image(job.args.model, it.image) for it in job.args.items]
                adapter.check_latent_shape(job.args.x.shape)
                L.check_t(job.req, job.args.items, self.t_max.get(job.args.model, 1000.0))
                if not adapter.fps_conditioning and any(it.fps is not None for it in job.args.items):
                    name = type(adapter.pipe).__name__
                    raise P.ProtocolError(P.BAD_ARGS, f"{name} does not condition on the frame rate; drop `fps` from the denoise items.")
                ready.append((job, conds, images))
            except Exception as e:
                self._fail(push, job, e)
        if not ready:
            return
        adapter = self.models.model(ready[0][0].args.model)
        from .device_options import float32_to_wire, wire_to_float32

        xs = [wire_to_float32(job.args.x, job.args.x_dtype) for job, _, _ in ready]
        x = xs[0] if len(xs) == 1 else np.concatenate(xs, axis=0)
        t = np.array([it.t for job, _, _ in ready for it in job.args.items], dtype=np.float32)
        conds = [c for _, cs, _ in ready for c in cs]
        images = [im for _, _, ims in ready for im in ims]
        per_fps = {"fps": [it.fps for job, _, _ in ready for it in job.args.items]} if adapter.fps_conditioning else {}
        if self.debug_delay:
            time.sleep(self.debug_delay)
        try:
            out = adapter.denoise(x, t, conds, images if any(im is not None for im in images) else None, **per_fps)
        except Exception as e:
            for job, _, _ in ready:
                self._fail(push, job, e)
            return
        finally:
            self.counters.add(forwards=1)
        self.counters.add(denoise_items=len(t))
        row = 0
        for job, _, _ in ready:
            n = len(job.args.items)
            wire = getattr(adapter, "wire_dtype", "float32")
            rows = out[row:row + n]
            reply_out = rows if wire == "float32" else P.Tensor("out", float32_to_wire(rows, wire), wire)
            self._send(push, job.identity, P.reply_to(job.req.op, job.req.id, P.DenoiseResult(items=n, out=reply_out)))
            row += n

    def _op_encode_prompt(self, a: P.EncodePromptArgs) -> P.EncodePromptResult:
        m = self.models
        emb, tokens = m.model(a.model).encode_prompt(a.text, a.max_sequence_length)
        handle = m._handle("c")
        m.conds[handle] = (a.model, emb)
        return P.EncodePromptResult(cond=handle, tokens=int(tokens))

    def _op_encode_image(self, a: P.EncodeImageArgs) -> P.EncodeImageResult:
        m = self.models
        image = m.model(a.model).encode_image(a.image, a.seed, a.height, a.width, a.num_frames)
        handle = m._handle("i")
        m.images[handle] = (a.model, image)
        return P.EncodeImageResult(image=handle)

    def _op_prepare_latents(self, a: P.PrepareLatentsArgs) -> P.PrepareLatentsResult:
        m = self.models
        if a.image is not None:
            image = m.image(a.model, a.image)
            if (image.seed, image.height, image.width, image.num_frames) != (a.seed, a.height, a.width, a.num_frames):
                raise P.ProtocolError(
                    P.BAD_ARGS,
                    f"Image handle {a.image!r} was prepared for seed {image.seed} at {image.height}x{image.width}, "
                    f"{image.num_frames} frames; call encode_image again for seed {a.seed} at "
                    f"{a.height}x{a.width}, {a.num_frames} frames.",
                )
            return P.PrepareLatentsResult(latents=image.latents)
        return P.PrepareLatentsResult(latents=m.model(a.model).prepare_latents(a.seed, a.height, a.width, a.num_frames))

    def _op_time_embedding(self, a: P.TimeEmbeddingArgs) -> P.TimeEmbeddingResult:
        return P.TimeEmbeddingResult(emb=self.models.model(a.model).time_embedding(np.array(a.timesteps, np.float32)))

    def _op_decode(self, a: P.DecodeArgs) -> P.DecodeResult:
        return P.DecodeResult(video=self.models.model(a.model).decode(a.latents))

    def _op_encode_media(self, a: P.EncodeMediaArgs) -> P.EncodeMediaResult:
        return P.EncodeMediaResult(latents=self.models.model(a.model).encode_media(a.video, a.sample))

    def _op_read_media(self, a: P.ReadMediaArgs) -> P.ReadMediaResult:
        from . import media

        try:
            video = media.read_media([f.tobytes() for f in a.files], list(a.names), a.height, a.width, a.num_frames,
                                     self.limits.max_source_frames, self.limits.max_source_pixels)
        except media.MediaError as exc:
            raise P.ProtocolError(P.TOO_LARGE if isinstance(exc, media.TooLarge) else P.BAD_ARGS, str(exc)) from exc
        return P.ReadMediaResult(video=video)

    def _op_load(self, a: P.LoadArgs) -> P.LoadResult:
        from . import adapters

        m = self.models
        from .device_options import apply_load_options

        source = L.canonical_source(a.source)
        if os.path.isdir(source):
            if not os.path.isfile(os.path.join(source, "model_index.json")):
                raise L.not_a_pipeline(a.source)
            L.check_folder(source)
        elif os.path.exists(source) or adapters._looks_like_path(source):
            raise L.not_a_pipeline(a.source)
        key = (source, a.dtype, a.family, a.offload, a.vae_tiling, a.vae_slicing, a.wire_dtype)
        handle = m.by_key.get(key)
        if handle is None:
            t0 = time.perf_counter()
            adapter = adapters.load(source, m.device, a.dtype, a.family)
            adapter.load_report = apply_load_options(adapter, a.offload, a.vae_tiling, a.vae_slicing, a.wire_dtype)
            if m.device.type == "cpu":  # a row's output independent of its batch-mates (invariance.py)
                from .invariance import make_batch_invariant

                make_batch_invariant(adapter.pipe)
            handle = m._handle("m")
            m.adapters[handle] = adapter
            m.by_key[key] = handle
            log.info("loaded %s as %s in %.1f s", source, handle, time.perf_counter() - t0)
        adapter = m.adapters[handle]
        info = adapter.info()
        self.t_max[handle] = float(info.scheduler.config.get("num_train_timesteps", 1000))
        return P.LoadResult(model=handle, info=info, wire_dtype=getattr(adapter, "wire_dtype", "float32"),
                            load_options=getattr(adapter, "load_report", None))

    def _op_encode_video(self, a: P.EncodeVideoArgs) -> P.EncodeVideoResult:
        from . import media

        try:
            e = media.encode(a.video, a.format, a.fps, a.scale, list(a.labels), a.title, list(a.columns))
        except media.MediaError as exc:
            raise P.ProtocolError(P.BAD_ARGS, str(exc)) from exc
        return P.EncodeVideoResult(
            data=np.frombuffer(e.data, np.uint8), format=a.format, width=e.width, height=e.height, frames=e.frames,
            fps=e.fps, pad_bottom=e.pad_bottom, pad_right=e.pad_right,
        )

    def _op_release(self, a: P.ReleaseArgs) -> P.ReleaseResult:
        m, handles = self.models, a.handles
        unknown = [h for h in handles if h not in m.conds and h not in m.adapters]
        if unknown:
            raise P.ProtocolError(
                P.UNKNOWN_HANDLE, f"{len(unknown)} handle(s) are not known here ({', '.join(map(repr, unknown[:3]))}); "
                "nothing was released — release only handles this worker gave you."
            )
        released = 0
        for h in handles:
            if h in m.conds:
                del m.conds[h]
                released += 1
            elif h in m.images:
                del m.images[h]
                released += 1
            elif h in m.adapters:
                del m.adapters[h]
                for key in [k for k, v in m.by_key.items() if v == h]:
                    del m.by_key[key]
                for c in [c for c, (owner, _) in m.conds.items() if owner == h]:
                    del m.conds[c]
                for i in [i for i, (owner, _) in m.images.items() if owner == h]:
                    del m.images[i]
                released += 1
        if released and m.device.type == "cuda":
            import torch

            torch.cuda.empty_cache()
        return P.ReleaseResult(released=released)


def device_arg(value: str) -> str:
    """argparse type of --device: auto, cpu, cuda or cuda:N."""
    if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise argparse.ArgumentTypeError(f"use auto, cpu, cuda or cuda:N (e.g. cuda:1), not {value!r}")


def resolve_device(want: str, torch):
    """The torch device for --device: auto picks cuda:0 when there is one; cuda:N must exist."""
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"--device {want} was asked for but torch sees no CUDA device; use --device cpu or auto")
    index = 0 if want == "cuda" else int(want[5:])
    count = torch.cuda.device_count()
    if index >= count:
        raise RuntimeError(f"--device {want} was asked for but torch sees {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    return torch.device(f"cuda:{index}")


def parse_cli(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sencache_worker", description="sencache denoiser worker (ZeroMQ ROUTER).")
    p.add_argument("--endpoint", required=True, help="ZeroMQ endpoint to bind, e.g. ipc:///tmp/sencache.sock or tcp://*:5555")
    p.add_argument("--device", type=device_arg, default="cpu", help="compute device: cpu (default), cuda, cuda:N or auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--max-message-bytes", type=int, default=P.DEFAULT_MAX_MESSAGE_BYTES,
                   help="largest accepted message, in tensor bytes (default 1 GiB)")
    p.add_argument("--max-batch-items", type=int, default=64, help="most denoise items merged into one forward")
    p.add_argument("--batching", choices=["merge", "request"], default="merge",
                   help="merge: waiting denoise requests of one model and shape share a forward (faster under concurrency; a row "
                        "may differ by ~1e-6 with what else is in the batch); request: one forward per request, so a sample's "
                        "result never depends on what else is in flight (bit-identical under concurrency)")
    p.add_argument("--limit", action="append", default=[], metavar="NAME=N",
                   help="raise or lower one request bound (see proto/SPEC.md, Limits), e.g. --limit max_frames=513")
    p.add_argument("--curve-secret", default=None, metavar="FILE",
                   help="the worker's CURVE secret key file (from `sencache keys new`): only clients that know its public key can talk to it")
    p.add_argument("--insecure", action="store_true",
                   help="allow a tcp:// endpoint reachable from other machines without CURVE (anyone who reaches it can use it)")
    p.add_argument("--log-level", default="INFO", help="stderr log level (default INFO)")
    p.add_argument("--debug-delay-ms", type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def worker_from_args(args: argparse.Namespace, cls=None, **extra):
    """The worker the CLI asked for (of class `cls`, default Worker), with SIGTERM / SIGINT stopping it; None
    (after logging why) when an option is invalid."""
    cls = cls or Worker
    # Test-only slow-down of every forward, honoured only with SENCACHE_WORKER_DEBUG=1 (flag or env,
    # so a test can slow a worker that the CLI spawns).
    debug = os.environ.get(DEBUG_ENV) == "1"
    delay = (args.debug_delay_ms or int(os.environ.get("SENCACHE_WORKER_DEBUG_DELAY_MS", "0"))) if debug else 0
    try:
        secret = security.read_key(args.curve_secret) if args.curve_secret else None
        limits = L.Limits.parse(args.limit)
        security.check_endpoint(args.endpoint, secret is not None, args.insecure)
    except ValueError as e:
        log.error("%s", e)
        return None
    worker = cls(args.endpoint, args.device, args.threads, args.max_message_bytes, args.max_batch_items, delay,
                 curve_secret=secret, batching=args.batching, limits=limits, **extra)

    def stop(signum, _frame):
        log.info("signal %d: stopping", signum)
        worker.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return worker


def main(argv: list[str] | None = None) -> int:
    args = parse_cli(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="sencache-worker %(levelname)s %(message)s")
    worker = worker_from_args(args)
    return 2 if worker is None else worker.run()
