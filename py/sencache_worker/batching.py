"""`denoise` on the compute thread: the waiting requests of one model, latent shape and prompt length merged into
one forward with per-item timesteps (`--batching merge`), or one forward per request (`--batching request`, the
mode whose results never depend on what else is in flight)."""

from __future__ import annotations

import collections
import time

import numpy as np

from . import limits as L
from . import protocol as P
from .jobs import Job, grouped


class DenoiseBatching:
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
        start = time.perf_counter()
        if self.debug_delay:
            time.sleep(self.debug_delay)  # a test's slow forward
        try:
            out = adapter.denoise(x, t, conds, images if any(im is not None for im in images) else None, **per_fps)
        except Exception as e:
            for job, _, _ in ready:
                self._fail(push, job, e)
            return
        finally:
            self.counters.add(forwards=1, forward_seconds=time.perf_counter() - start)
        self.counters.add(denoise_items=len(t))
        row = 0
        for job, _, _ in ready:
            n = len(job.args.items)
            wire = getattr(adapter, "wire_dtype", "float32")
            rows = out[row:row + n]
            reply_out = rows if wire == "float32" else P.Tensor("out", float32_to_wire(rows, wire), wire)
            self._send(push, job.identity, P.reply_to(job.req.op, job.req.id, P.DenoiseResult(items=n, out=reply_out)))
            row += n
