"""Wan 2.1 / 2.2 text- and image-to-video (WanPipeline, WanImageToVideoPipeline: WanTransformer3DModel,
AutoencoderKLWan, UMT5 text encoder; 2.1 I2V's CLIP image encoder; 2.2's TI2V-5B `expand_timesteps` and the
two-expert A14B with `transformer_2`, `boundary_ratio` and `guidance_scale_2`).

Every method reuses the pipeline's own code path (encode_prompt, prepare_latents, encode_image, the VAE
normalisation and the video processor) so that a loop driven from TypeScript reproduces `__call__` exactly.
Image-to-video: 2.1 and A14B concatenate [latents, mask, encoded image video] on channels; TI2V-5B instead puts the
encoded image into latent frame 0 of the model input with timestep 0 on its tokens. There the worker returns a zero
prediction on frame 0 and `prepare_latents` already holds the image latent there, so the TS loop keeps frame 0 at the
image latent, which is what the pipeline writes into frame 0 after its loop.
"""

from __future__ import annotations

import numpy as np
import torch

from ..protocol import Expert, Geometry, Guidance
from .base import Adapter, ImageCondition, ModelInfo, as_torch, bad_args, bad_shape, call_defaults, check_decode_shape, check_patches
from .base import finite, frames_rule, image_conditions, single_expert

DEFAULT_KEYS = ("height", "width", "num_frames", "guidance_scale", "num_inference_steps", "max_sequence_length")


class WanAdapter(Adapter):
    family = "wan"
    pipeline_classes = ("WanPipeline", "WanImageToVideoPipeline")

    def __init__(self, pipe, source, device, dtype):
        super().__init__(pipe, source, device, dtype)
        sig = call_defaults(pipe)
        d = {k: sig[k] for k in DEFAULT_KEYS}
        d["guidance_scale_2"] = sig.get("guidance_scale_2")
        d["fps"] = 24 if pipe.config.get("expand_timesteps", False) else 16  # Wan's export rates (2.2 5B: 24)
        self.defaults = self.with_file_defaults(d)
        self.i2v = type(pipe).__name__ == "WanImageToVideoPipeline"
        cfg = self.transformer.config
        self.channels = int(cfg.in_channels)
        self.patch = tuple(int(p) for p in cfg.patch_size)
        self.rope_max = int(cfg.rope_max_seq_len)
        self.spatial = int(pipe.vae_scale_factor_spatial)
        self.temporal = int(pipe.vae_scale_factor_temporal)
        ratio = pipe.config.get("boundary_ratio") if hasattr(pipe.config, "get") else None
        self.boundary = None if ratio is None else ratio * pipe.scheduler.config.num_train_timesteps
        self.expand_timesteps = bool(pipe.config.get("expand_timesteps", False))
        # Image-to-video concatenates [latents, mask, condition] except TI2V-5B, which mixes in place.
        self.z_dim = int(pipe.vae.config.z_dim)
        self.concat = self.i2v and not self.expand_timesteps

    @classmethod
    def before_move(cls, pipe):
        pipe.vae.to(torch.float32)  # Wan's VAE is meant to run in float32 whatever the transformer's dtype

    def _experts(self) -> tuple:
        if self.boundary is None or self.pipe.transformer_2 is None:
            return single_expert(self.pipe)
        n = float(self.pipe.scheduler.config.num_train_timesteps)
        return (
            Expert(name="transformer", t_min=float(self.boundary), t_max=n),
            Expert(name="transformer_2", t_min=0.0, t_max=float(self.boundary)),
        )

    def info(self) -> ModelInfo:
        d = self.defaults
        g = float(d["guidance_scale"])
        g2 = d.get("guidance_scale_2")
        two = self.boundary is not None and self.pipe.transformer_2 is not None
        return self.model_info(
            channels=self.z_dim,
            max_sequence_length=d["max_sequence_length"],
            fps=d["fps"],
            experts=self._experts(),
            # guidance_scale_2 defaults to guidance_scale where the pipeline has two experts (as __call__ does).
            guidance=Guidance(scale=g, scale_2=(float(g2) if g2 is not None else g) if two else None, dynamic=False),
            geometry=Geometry(
                patch=self.patch,
                spatial_multiple=max(16, self.spatial * self.patch[1]),
                frame_rule=frames_rule(self.temporal),
                max_latent=tuple(self.rope_max * p for p in self.patch),
            ),
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
        self.text_to_video_only()
        self._check_size(height, width, num_frames)
        generator = torch.Generator("cpu").manual_seed(seed)
        latents = self.pipe.prepare_latents(
            1, self.z_dim, height, width, num_frames, torch.float32, self.device, generator, None
        )
        return latents.float().cpu().numpy()

    @torch.inference_mode()
    def encode_image(self, image, seed, height, width, num_frames):
        if not self.i2v:
            return super().encode_image(image, seed, height, width, num_frames)
        from PIL import Image

        self._check_size(height, width, num_frames)
        pil = Image.fromarray(image)
        payload = {"image_embeds": None}
        if self.transformer.config.image_dim is not None:  # only Wan 2.1 I2V's transformer takes CLIP embeddings
            payload["image_embeds"] = self.pipe.encode_image(pil, self.device).to(self.tdtype)
        pixels = self.pipe.video_processor.preprocess(pil, height=height, width=width).to(self.device, dtype=torch.float32)
        generator = torch.Generator("cpu").manual_seed(seed)
        out = self.pipe.prepare_latents(
            pixels, 1, self.z_dim, height, width, num_frames, torch.float32, self.device, generator, None, None
        )
        if self.expand_timesteps:
            latents, condition, mask = out
            payload["mask"] = mask
            latents = (1 - mask) * condition + mask * latents  # frame 0 holds the image latent from the start
        else:
            latents, condition = out
        payload["condition"] = condition
        return ImageCondition(seed, height, width, num_frames, latents.float().cpu().numpy(), payload)

    def check_latent_shape(self, shape):
        f, h, w = check_patches(shape, self.z_dim, self.patch)
        pt, ph, pw = self.patch
        if max(f // pt, h // ph, w // pw) > self.rope_max:
            raise bad_shape(f"latent {[f, h, w]} is larger than this model's positional range ({self.rope_max} patches).")

    # -- the denoiser ------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def denoise(self, x, timesteps, conds, images=None):
        hidden = as_torch(x).to(self.device, torch.float32)
        t = as_torch(np.asarray(timesteps, dtype=np.float32)).to(self.device)
        length = max(c.shape[0] for c in conds)
        ctx = torch.stack([torch.cat([c, c.new_zeros(length - c.shape[0], c.shape[1])]) for c in conds])
        ctx = ctx.to(self.device, self.tdtype)
        image_embeds = None
        f, h, w = x.shape[2:]
        tokens = f * (h // self.patch[1]) * (w // self.patch[2])
        mask = None
        if self.i2v:
            condition = torch.cat([im.payload["condition"] for im in image_conditions(images)]).to(self.device, torch.float32)
            if condition.shape[3:] != hidden.shape[3:] or condition.shape[2] not in (1, hidden.shape[2]):
                raise bad_shape(f"the image handle was prepared for latents {list(condition.shape)}, not {list(x.shape)}.")
            if self.expand_timesteps:
                mask = images[0].payload["mask"].to(self.device)
                hidden = (1 - mask) * condition + mask * hidden
            else:
                hidden = torch.cat([hidden, condition], dim=1)
            if images[0].payload["image_embeds"] is not None:
                image_embeds = torch.cat([im.payload["image_embeds"] for im in images]).to(self.device, self.tdtype)
        hidden = hidden.to(self.tdtype)
        out = torch.empty(x.shape, dtype=torch.float32, device=self.device)
        for model, rows in self._route(t):
            ts = t[rows]
            if self.expand_timesteps:
                if mask is not None:  # the pipeline's per-token timesteps: 0 on the image frame
                    ts = (mask[0][0][:, :: self.patch[1], :: self.patch[2]].flatten()[None, :] * ts[:, None])
                else:
                    ts = ts[:, None].expand(-1, tokens)
            extra = {} if image_embeds is None else {"encoder_hidden_states_image": image_embeds[rows]}
            pred = model(
                hidden_states=hidden[rows], timestep=ts, encoder_hidden_states=ctx[rows], return_dict=False, **extra
            )[0]
            out[rows] = pred.float()
        if mask is not None:
            out[:, :, 0] = 0.0  # frame 0 is the image: the TS loop must leave it where prepare_latents put it
        return finite(out.cpu().numpy())

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
        """Each timestep's embedding by the expert that serves it (Wan 2.2 A14B: `transformer` for t >= boundary,
        `transformer_2` below, as denoise routes), so a time-embedding indicator is the expert's own."""
        t = torch.tensor(np.asarray(timesteps, dtype=np.float32), device=self.device)
        out = None
        for model, rows in self._route(t):
            ce = model.condition_embedder
            weight_dtype = next(iter(ce.time_embedder.parameters())).dtype
            temb = ce.time_embedder(ce.timesteps_proj(t[rows]).to(weight_dtype)).float()
            if out is None:
                out = torch.empty((t.shape[0], temb.shape[1]), dtype=torch.float32, device=self.device)
            out[rows] = temb
        return out.cpu().numpy()

    # -- the VAE -----------------------------------------------------------------------------------------------

    def _norm(self, like: torch.Tensor):
        cfg = self.pipe.vae.config
        mean = torch.tensor(cfg.latents_mean).view(1, cfg.z_dim, 1, 1, 1).to(like.device, like.dtype)
        inv_std = 1.0 / torch.tensor(cfg.latents_std).view(1, cfg.z_dim, 1, 1, 1).to(like.device, like.dtype)
        return mean, inv_std

    @torch.inference_mode()
    def decode(self, latents):
        check_decode_shape(latents, int(self.pipe.vae.config.z_dim))
        vae = self.pipe.vae
        z = as_torch(latents).to(self.device, vae.dtype)
        mean, inv_std = self._norm(z)
        z = z / inv_std + mean
        return self.uint8_video(vae.decode(z, return_dict=False)[0])

    @torch.inference_mode()
    def encode_media(self, video, sample):
        z = self._vae_encode(video, sample)
        mean, inv_std = self._norm(z)
        return ((z - mean) * inv_std).float().cpu().numpy()
