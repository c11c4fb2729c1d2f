"""Wan 2.1 / 2.2 text-to-video (WanPipeline: WanTransformer3DModel, AutoencoderKLWan, UMT5 text encoder).

Every method reuses the pipeline's own code path (encode_prompt, prepare_latents, the VAE normalisation and the
video processor) so that a loop driven from TypeScript reproduces `WanPipeline.__call__` exactly.
"""

from __future__ import annotations

import numpy as np
import torch

from ..protocol import NON_FINITE, ProtocolError
from .base import Adapter, ModelInfo, as_torch, bad_args, bad_shape, jsonable, sencache_defaults

PIPELINE_DEFAULTS = {
    "height": 480,
    "width": 832,
    "num_frames": 81,
    "guidance_scale": 5.0,
    "num_inference_steps": 50,
    "max_sequence_length": 512,
    "fps": 16,  # Wan 2.1 / 2.2 examples export at 16 fps
}


class WanAdapter(Adapter):
    family = "wan"
    pipeline_classes = ("WanPipeline",)

    def __init__(self, pipe, source, device, dtype):
        super().__init__(pipe, source, device, dtype)
        self.defaults = {**PIPELINE_DEFAULTS, **sencache_defaults(source)}
        self.transformer = pipe.transformer if pipe.transformer is not None else pipe.transformer_2
        self.tdtype = self.transformer.dtype
        cfg = self.transformer.config
        self.channels = int(cfg.in_channels)
        self.patch = tuple(int(p) for p in cfg.patch_size)
        self.rope_max = int(cfg.rope_max_seq_len)
        self.spatial = int(pipe.vae_scale_factor_spatial)
        self.temporal = int(pipe.vae_scale_factor_temporal)
        ratio = pipe.config.get("boundary_ratio") if hasattr(pipe.config, "get") else None
        self.boundary = None if ratio is None else ratio * pipe.scheduler.config.num_train_timesteps
        self.expand_timesteps = bool(pipe.config.get("expand_timesteps", False))

    @classmethod
    def load(cls, source, device, dtype):
        from diffusers import DiffusionPipeline

        pipe = DiffusionPipeline.from_pretrained(source, dtype=dtype)
        pipe.set_progress_bar_config(disable=True)
        pipe.vae.to(torch.float32)  # Wan's VAE is meant to run in float32 whatever the transformer's dtype
        pipe.to(device)
        for module in (pipe.text_encoder, pipe.transformer, pipe.transformer_2, pipe.vae):
            if module is not None:
                module.eval()
        return cls(pipe, source, device, dtype)

    def info(self) -> ModelInfo:
        d = self.defaults
        return ModelInfo(
            family=self.family,
            pipeline_class=type(self.pipe).__name__,
            scheduler_class=type(self.pipe.scheduler).__name__,
            scheduler_config=jsonable(dict(self.pipe.scheduler.config)),
            channels=self.channels,
            spatial_scale=self.spatial,
            temporal_scale=self.temporal,
            height=int(d["height"]),
            width=int(d["width"]),
            num_frames=int(d["num_frames"]),
            guidance_scale=float(d["guidance_scale"]),
            num_inference_steps=int(d["num_inference_steps"]),
            fps=float(d["fps"]),
        )

    # -- prompts -----------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def encode_prompt(self, text, max_sequence_length):
        from diffusers.pipelines.wan.pipeline_wan import prompt_clean

        msl = int(max_sequence_length or self.defaults["max_sequence_length"])
        embeds, _ = self.pipe.encode_prompt(
            prompt=text, do_classifier_free_guidance=False, max_sequence_length=msl, device=self.device
        )
        ids = self.pipe.tokenizer(prompt_clean(text), max_length=msl, truncation=True, add_special_tokens=True)
        return embeds[0].to(self.tdtype), len(ids["input_ids"])

    # -- latents -----------------------------------------------------------------------------------------------

    def _check_size(self, height, width, num_frames):
        mh, mw = self.spatial * self.patch[1], self.spatial * self.patch[2]
        if height % 16 or width % 16 or height % mh or width % mw:
            raise bad_args(
                f"height and width must be multiples of {max(16, mh)} and {max(16, mw)} for this model, "
                f"not {height}x{width}."
            )
        if (num_frames - 1) % self.temporal:
            below = max(1, (num_frames - 1) // self.temporal * self.temporal + 1)
            raise bad_args(
                f"num_frames must be {self.temporal}k+1 for this model (for example {below} or "
                f"{below + self.temporal}), not {num_frames}."
            )

    @torch.inference_mode()
    def prepare_latents(self, seed, height, width, num_frames):
        self._check_size(height, width, num_frames)
        generator = torch.Generator("cpu").manual_seed(seed)
        latents = self.pipe.prepare_latents(
            1, self.channels, height, width, num_frames, torch.float32, self.device, generator, None
        )
        return latents.float().cpu().numpy()

    def check_latent_shape(self, shape):
        if len(shape) != 5 or shape[1] != self.channels:
            raise bad_shape(f"latents must be [n, {self.channels}, F', H', W'] for this model, not {list(shape)}.")
        pt, ph, pw = self.patch
        f, h, w = shape[2:]
        if min(f, h, w) == 0 or f % pt or h % ph or w % pw:
            raise bad_shape(f"latent F', H', W' must be positive multiples of the patch {list(self.patch)}, not {[f, h, w]}.")
        if max(f // pt, h // ph, w // pw) > self.rope_max:
            raise bad_shape(f"latent {[f, h, w]} is larger than this model's positional range ({self.rope_max} patches).")

    # -- the denoiser ------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def denoise(self, x, timesteps, conds):
        self.check_latent_shape(x.shape)
        hidden = as_torch(x).to(self.device, self.tdtype)
        t = as_torch(np.asarray(timesteps, dtype=np.float32)).to(self.device)
        length = max(c.shape[0] for c in conds)
        ctx = torch.stack([torch.cat([c, c.new_zeros(length - c.shape[0], c.shape[1])]) for c in conds])
        ctx = ctx.to(self.device, self.tdtype)
        out = torch.empty(x.shape, dtype=torch.float32, device=self.device)
        for model, rows in self._route(t):
            ts = t[rows]
            if self.expand_timesteps:
                f, h, w = x.shape[2:]
                ts = ts[:, None].expand(-1, f * (h // self.patch[1]) * (w // self.patch[2]))
            pred = model(hidden_states=hidden[rows], timestep=ts, encoder_hidden_states=ctx[rows], return_dict=False)[0]
            out[rows] = pred.float()
        result = out.cpu().numpy()
        if not np.isfinite(result).all():
            raise ProtocolError(NON_FINITE, "The denoiser produced NaN or Inf; check the inputs and the model dtype.")
        return result

    def _route(self, t):
        """Rows per transformer: Wan 2.2 A14B uses `transformer` for t >= boundary and `transformer_2` below."""
        if self.boundary is None or self.pipe.transformer_2 is None:
            return [(self.transformer, slice(None))]
        high = t >= self.boundary
        groups = []
        if bool(high.any()):
            groups.append((self.pipe.transformer, high.nonzero().flatten()))
        if bool((~high).any()):
            groups.append((self.pipe.transformer_2, (~high).nonzero().flatten()))
        return groups

    @torch.inference_mode()
    def time_embedding(self, timesteps):
        ce = self.transformer.condition_embedder
        t = torch.tensor(np.asarray(timesteps, dtype=np.float32), device=self.device)
        proj = ce.timesteps_proj(t)
        weight_dtype = next(iter(ce.time_embedder.parameters())).dtype
        temb = ce.time_embedder(proj.to(weight_dtype))
        return temb.float().cpu().numpy()

    # -- the VAE -----------------------------------------------------------------------------------------------

    def _norm(self, like: torch.Tensor):
        cfg = self.pipe.vae.config
        mean = torch.tensor(cfg.latents_mean).view(1, cfg.z_dim, 1, 1, 1).to(like.device, like.dtype)
        inv_std = 1.0 / torch.tensor(cfg.latents_std).view(1, cfg.z_dim, 1, 1, 1).to(like.device, like.dtype)
        return mean, inv_std

    @torch.inference_mode()
    def decode(self, latents):
        z_dim = int(self.pipe.vae.config.z_dim)
        if latents.shape[0] != 1 or latents.shape[1] != z_dim or min(latents.shape[2:]) == 0:
            raise bad_shape(f"latents must be [1, {z_dim}, F', H', W'], not {list(latents.shape)}.")
        vae = self.pipe.vae
        z = as_torch(latents).to(self.device, vae.dtype)
        mean, inv_std = self._norm(z)
        z = z / inv_std + mean
        video = vae.decode(z, return_dict=False)[0]
        frames = self.pipe.video_processor.postprocess_video(video, output_type="np")[0]
        return (frames * 255).round().astype(np.uint8)

    @torch.inference_mode()
    def encode_media(self, video, sample):
        from diffusers.pipelines.wan.pipeline_wan_video2video import retrieve_latents

        f, h, w, _ = video.shape
        if f == 0 or (f - 1) % self.temporal or h == 0 or w == 0 or h % self.spatial or w % self.spatial:
            raise bad_shape(
                f"video must be [{self.temporal}k+1, H, W, 3] with H and W multiples of {self.spatial}, "
                f"not {list(video.shape)}."
            )
        vae = self.pipe.vae
        pixels = as_torch(video).to(self.device, torch.float32) / 127.5 - 1.0
        pixels = pixels.permute(3, 0, 1, 2).unsqueeze(0).to(vae.dtype)
        z = retrieve_latents(vae.encode(pixels), sample_mode="sample" if sample else "argmax")
        mean, inv_std = self._norm(z)
        return ((z - mean) * inv_std).float().cpu().numpy()
