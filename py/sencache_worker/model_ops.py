"""The compute thread's ops besides `denoise`: loading and releasing models, prompt and image conditions, initial
latents, the time-embedding probe, VAE decode / encode and media files.

Each is `_op_<name>(args) -> result` on the Worker (which inherits them from ModelOps and finds them by name, see
server.py); they run on the compute thread, which alone touches `self.models`.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from . import limits as L
from . import protocol as P

log = logging.getLogger("sencache_worker")


class ModelOps:
    def _held_handles(self, op: str) -> None:
        m = self.models
        L.check_held(op, len(m.conds) + len(m.images), self.limits, "max_held_handles")

    def _op_encode_prompt(self, a: P.EncodePromptArgs) -> P.EncodePromptResult:
        m = self.models
        adapter = m.model(a.model)  # an unknown model says so before a full table does
        self._held_handles("encode_prompt")
        emb, tokens = adapter.encode_prompt(a.text, a.max_sequence_length)
        handle = m._handle("c")
        m.conds[handle] = (a.model, emb)
        return P.EncodePromptResult(cond=handle, tokens=int(tokens))

    def _op_encode_image(self, a: P.EncodeImageArgs) -> P.EncodeImageResult:
        m = self.models
        adapter = m.model(a.model)
        self._held_handles("encode_image")
        image = adapter.encode_image(a.image, a.seed, a.height, a.width, a.num_frames)
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
            L.check_held("load", len(m.adapters), self.limits, "max_models")
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
        unknown = [h for h in handles if h not in m.conds and h not in m.images and h not in m.adapters]
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


