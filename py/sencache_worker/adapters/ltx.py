"""LTX-Video text- and image-to-video (LTXPipeline, LTXImageToVideoPipeline: LTXVideoTransformer3DModel,
AutoencoderKLLTXVideo, T5 text encoder).

The transformer takes packed latents [B, F'·H'·W', C·p_t·p·p] plus the latent size, the text mask and the RoPE
interpolation scale (temporal compression / frame rate, spatial compression twice). The wire carries the unpacked
latent [n, C, F', H', W'] like every family: this adapter packs and unpacks with the pipeline's own
`_pack_latents` / `_unpack_latents`, so the TS loop stays generic (its scheduler step is element-wise). The
schedule is the pipeline's: `sigmas = linspace(1, 1/n, n)` and `mu = calculate_shift(F'·H'·W', ...)` from the
scheduler config (`load` reports this as `set_timesteps`; the TS side computes both).

Prompts: the pipeline pads T5 embeddings to `max_sequence_length` and masks the padding in cross-attention (a
-10000 bias). The worker keeps the real tokens only and re-pads with zeros under the same mask at denoise time:
the masked keys get exactly zero attention weight either way.

Image-to-video: `encode_image` runs the pipeline's `prepare_latents(image, ...)` (the VAE encode draws from the
same generator as the noise, so the image is prepared per seed); latent frame 0 holds the image latent and its
tokens get timestep 0. The pipeline steps only frames >= 1; the worker returns a zero prediction on frame 0 so the
generic loop leaves it exactly where it is.
"""

from __future__ import annotations

import numpy as np
import torch

from ..protocol import Geometry, Guidance, SetTimesteps
from .base import Adapter, ImageCondition, ModelInfo, as_torch, bad_args, bad_shape, call_defaults, check_decode_shape, check_patches
from .base import finite, frames_rule, image_conditions


class LTXVideoAdapter(Adapter):
    family = "ltx"
    pipeline_classes = ("LTXPipeline", "LTXImageToVideoPipeline")
    fps_conditioning = True

    def __init__(self, pipe, source, device, dtype):
        super().__init__(pipe, source, device, dtype)
        self.i2v = type(pipe).__name__ == "LTXImageToVideoPipeline"
        self.channels = int(self.transformer.config.in_channels)
        self.p = int(pipe.transformer_spatial_patch_size)
        self.pt = int(pipe.transformer_temporal_patch_size)
        self.spatial = int(pipe.vae_spatial_compression_ratio)
        self.temporal = int(pipe.vae_temporal_compression_ratio)
        sig = call_defaults(pipe)
        d = {k: sig[k] for k in ("height", "width", "num_frames", "guidance_scale", "num_inference_steps",
                                 "max_sequence_length", "frame_rate", "decode_timestep", "decode_noise_scale")}
        self.defaults = self.with_file_defaults(d)

    def info(self) -> ModelInfo:
        d = self.defaults
        return self.model_info(
            channels=self.channels,
            max_sequence_length=d["max_sequence_length"],
            fps=d["frame_rate"],
            guidance=Guidance(scale=float(d["guidance_scale"]), scale_2=None, dynamic=False),
            geometry=Geometry(
                patch=(self.pt, self.p, self.p),
                spatial_multiple=self.spatial * self.p,
                frame_rule=frames_rule(self.temporal * self.pt),
                max_latent=None,  # RoPE on coordinates: no positional limit
            ),
            set_timesteps=SetTimesteps(sigmas="linspace", mu="sequence_length"),
        )

    # -- prompts -----------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def encode_prompt(self, text, max_sequence_length):
        msl = int(max_sequence_length or self.defaults["max_sequence_length"])
        embeds, mask, _, _ = self.pipe.encode_prompt(
            prompt=text, do_classifier_free_guidance=False, max_sequence_length=msl, device=self.device
        )
        n = int(mask[0].sum())
        return embeds[0, :n].to(self.tdtype), n

    # -- latents -----------------------------------------------------------------------------------------------

    def _check_size(self, height, width, num_frames):
        m = self.spatial * self.p
        if height % m or width % m:
            raise bad_args(f"height and width must be multiples of {m} for this model, not {height}x{width}.")
        if (num_frames - 1) % (self.temporal * self.pt):
            raise bad_args(f"num_frames must be {self.temporal * self.pt}k+1 (for example 161), not {num_frames}.")

    def _unpack(self, packed: torch.Tensor, f: int, h: int, w: int) -> torch.Tensor:
        return self.pipe._unpack_latents(packed, f, h, w, self.p, self.pt)

    def _latent_size(self, height, width, num_frames):
        return (num_frames - 1) // self.temporal + 1, height // self.spatial, width // self.spatial

    @torch.inference_mode()
    def prepare_latents(self, seed, height, width, num_frames):
        self.text_to_video_only()
        self._check_size(height, width, num_frames)
        generator = torch.Generator("cpu").manual_seed(seed)
        packed = self.pipe.prepare_latents(
            1, self.channels, height, width, num_frames, torch.float32, self.device, generator, None
        )
        return self._unpack(packed, *self._latent_size(height, width, num_frames)).float().cpu().numpy()

    @torch.inference_mode()
    def encode_image(self, image, seed, height, width, num_frames):
        if not self.i2v:
            return super().encode_image(image, seed, height, width, num_frames)
        from PIL import Image

        self._check_size(height, width, num_frames)
        pixels = self.pipe.video_processor.preprocess(Image.fromarray(image), height=height, width=width)
        pixels = pixels.to(self.device, dtype=self.pipe.text_encoder.dtype)  # __call__: prompt_embeds.dtype
        generator = torch.Generator("cpu").manual_seed(seed)
        packed, mask = self.pipe.prepare_latents(
            pixels, 1, self.channels, height, width, num_frames, torch.float32, self.device, generator, None
        )
        latents = self._unpack(packed, *self._latent_size(height, width, num_frames))
        return ImageCondition(seed, height, width, num_frames, latents.float().cpu().numpy(), {"mask": mask})

    def check_latent_shape(self, shape):
        check_patches(shape, self.channels, (self.pt, self.p, self.p))

    # -- the denoiser ------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def denoise(self, x, timesteps, conds, images=None, fps=None):
        """`fps`: the frame rate of each row (None: the model's default), as `__call__`'s `frame_rate`; rows of
        different rates go through separate forwards (the RoPE scale is one per forward)."""
        default = float(self.defaults["frame_rate"])
        rates = [default if r is None else float(r) for r in (fps or [None] * x.shape[0])]
        if len(set(rates)) > 1:
            out = np.empty(x.shape, dtype=np.float32)
            for rate in sorted(set(rates)):
                rows = [i for i, r in enumerate(rates) if r == rate]
                sub_images = [images[i] for i in rows] if images is not None else None
                out[rows] = self._denoise(x[rows], timesteps[rows], [conds[i] for i in rows], sub_images, rate)
            return out
        return self._denoise(x, timesteps, conds, images, rates[0])

    def _denoise(self, x, timesteps, conds, images, fps: float):
        n, _, f, h, w = x.shape
        hidden = self.pipe._pack_latents(as_torch(x).to(self.device, torch.float32), self.p, self.pt)
        hidden = hidden.to(self.tdtype)
        t = as_torch(np.asarray(timesteps, dtype=np.float32)).to(self.device)
        mask = None
        if self.i2v:
            mask = torch.cat([im.payload["mask"] for im in image_conditions(images)]).to(self.device)
            if mask.shape[1] != hidden.shape[1]:
                raise bad_shape(f"the image handle was prepared for {mask.shape[1]} tokens, not {hidden.shape[1]}.")
            t = t[:, None] * (1 - mask)  # the pipeline's per-token timestep: 0 on the image frame
        length = max(c.shape[0] for c in conds)
        ctx = torch.stack([torch.cat([c, c.new_zeros(length - c.shape[0], c.shape[1])]) for c in conds])
        text_mask = torch.stack([torch.arange(length) < c.shape[0] for c in conds]).to(self.device)
        pred = self.transformer(
            hidden_states=hidden,
            encoder_hidden_states=ctx.to(self.device, self.tdtype),
            timestep=t,
            encoder_attention_mask=text_mask,
            num_frames=f // self.pt,
            height=h // self.p,
            width=w // self.p,
            rope_interpolation_scale=(self.temporal / fps, self.spatial, self.spatial),
            return_dict=False,
        )[0]
        out = self._unpack(pred.float(), f // self.pt, h // self.p, w // self.p)
        if mask is not None:
            out[:, :, 0] = 0.0  # frame 0 is the image: the pipeline steps frames >= 1 only
        return finite(out.contiguous().cpu().numpy())

    @torch.inference_mode()
    def time_embedding(self, timesteps):
        """The transformer's embedded timestep (AdaLayerNormSingle before its modulation linear)."""
        t = torch.tensor(np.asarray(timesteps, dtype=np.float32), device=self.device)
        _, emb = self.transformer.time_embed(t, batch_size=len(t), hidden_dtype=self.tdtype)
        return emb.float().cpu().numpy()

    # -- the VAE -----------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def decode(self, latents):
        from diffusers.utils.torch_utils import randn_tensor

        check_decode_shape(latents, self.channels)
        vae = self.pipe.vae
        z = self.pipe._denormalize_latents(
            as_torch(latents).to(self.device, torch.float32), vae.latents_mean, vae.latents_std, vae.config.scaling_factor
        )
        timestep = None
        if vae.config.timestep_conditioning:
            # The pipeline's decode_timestep / decode_noise_scale (defaults from __call__ or sencache.json); the
            # noise comes from a fixed seed, not from the sampling generator's continuation.
            dt = float(self.defaults["decode_timestep"])
            scale = self.defaults["decode_noise_scale"]
            scale = dt if scale is None else float(scale)
            noise = randn_tensor(z.shape, generator=torch.Generator("cpu").manual_seed(0), device=self.device, dtype=z.dtype)
            timestep = torch.tensor([dt], device=self.device, dtype=z.dtype)
            z = (1 - scale) * z + scale * noise
        return self.uint8_video(vae.decode(z.to(vae.dtype), timestep, return_dict=False)[0])

    @torch.inference_mode()
    def encode_media(self, video, sample):
        z = self._vae_encode(video, sample)
        return self.pipe._normalize_latents(z.float(), self.pipe.vae.latents_mean, self.pipe.vae.latents_std).cpu().numpy()
