"""CogVideoX text- and image-to-video (CogVideoXPipeline, CogVideoXImageToVideoPipeline; 2b, 5b, 5b-I2V and 1.5).

The transformer sees latents as [B, F, C, H, W] (frames before channels); the wire carries [n, C, F', H', W'] like
every family, so this adapter permutes at its edge (the TS loop is element-wise and never notices). Everything
else is the pipeline's own code: `encode_prompt` (T5, padded to the transformer's `max_text_seq_length`),
`prepare_latents` (with CogVideoX 1.5's padding of the latent frames to a multiple of `patch_size_t`; the padding
frame sits at index 0 and only decode trims it), `_prepare_rotary_positional_embeddings`, the `ofs` embedding of
1.5 I2V, and for I2V the image latents concatenated on channels (the pipeline's `prepare_latents(image, ...)`).
"""

from __future__ import annotations

import numpy as np
import torch

from ..protocol import Geometry, Guidance
from .base import Adapter, ImageCondition, ModelInfo, as_torch, bad_args, bad_shape, call_defaults, check_decode_shape, check_patches
from .base import finite, frames_rule, image_conditions


class CogVideoXAdapter(Adapter):
    family = "cogvideox"
    pipeline_classes = ("CogVideoXPipeline", "CogVideoXImageToVideoPipeline")

    def __init__(self, pipe, source, device, dtype):
        super().__init__(pipe, source, device, dtype)
        cfg = self.transformer.config
        self.i2v = type(pipe).__name__ == "CogVideoXImageToVideoPipeline"
        self.channels = int(cfg.in_channels) // (2 if self.i2v else 1)
        self.p = int(cfg.patch_size)
        self.pt = int(cfg.patch_size_t) if cfg.patch_size_t is not None else None
        self.spatial = int(pipe.vae_scale_factor_spatial)
        self.temporal = int(pipe.vae_scale_factor_temporal)
        self.learned = bool(cfg.use_learned_positional_embeddings)
        self.max_text = int(cfg.max_text_seq_length)
        sig = call_defaults(pipe)
        d = {
            "height": sig.get("height") or int(cfg.sample_height) * self.spatial,
            "width": sig.get("width") or int(cfg.sample_width) * self.spatial,
            "num_frames": sig.get("num_frames") or int(cfg.sample_frames),
            "guidance_scale": sig["guidance_scale"],
            "num_inference_steps": sig["num_inference_steps"],
            "max_sequence_length": self.max_text,
            "use_dynamic_cfg": bool(sig.get("use_dynamic_cfg", False)),
            # CogVideoX has no frame-rate input; its model cards export at 8 fps (1.0) and 16 fps (1.5).
            "fps": 16 if self.pt else 8,
        }
        self.defaults = self.with_file_defaults(d)
        self._padding: dict[int, int] = {}  # padded latent frames -> padding frames at index 0 (decode trims them)

    def _latent_frames(self, num_frames: int) -> tuple[int, int]:
        """(latent frames the transformer sees, padding frames), as `__call__` computes them."""
        f = (num_frames - 1) // self.temporal + 1
        pad = self.pt - f % self.pt if self.pt and f % self.pt else 0
        return f + pad, pad

    def info(self) -> ModelInfo:
        d = self.defaults
        cfg = self.transformer.config
        f_max = (int(cfg.sample_frames) - 1) // self.temporal + 1
        return self.model_info(
            channels=self.channels,
            max_sequence_length=self.max_text,
            fps=d["fps"],
            guidance=Guidance(scale=float(d["guidance_scale"]), scale_2=None, dynamic=bool(d["use_dynamic_cfg"])),
            geometry=Geometry(
                patch=(self.pt or 1, self.p, self.p),
                spatial_multiple=self.spatial * self.p,
                frame_rule=frames_rule(self.temporal),
                # Learned positional embeddings (5b-I2V) fix the resolution and bound the frames.
                max_latent=(f_max, int(cfg.sample_height), int(cfg.sample_width)) if self.learned else None,
                fixed_size=(int(cfg.sample_height) * self.spatial, int(cfg.sample_width) * self.spatial) if self.learned else None,
            ),
        )

    # -- prompts -----------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def encode_prompt(self, text, max_sequence_length):
        msl = int(max_sequence_length or self.max_text)
        if msl != self.max_text:
            raise bad_args(
                f"CogVideoX needs max_sequence_length = the transformer's max_text_seq_length ({self.max_text}), not {msl}."
            )
        embeds, _ = self.pipe.encode_prompt(
            prompt=text, do_classifier_free_guidance=False, max_sequence_length=msl, device=self.device
        )
        ids = self.pipe.tokenizer(text, max_length=msl, truncation=True, add_special_tokens=True)
        return embeds[0].to(self.tdtype), len(ids["input_ids"])

    # -- latents -----------------------------------------------------------------------------------------------

    def _check_size(self, height, width, num_frames):
        m = self.spatial * self.p
        if height % m or width % m:
            raise bad_args(f"height and width must be multiples of {m} for this model, not {height}x{width}.")
        if (num_frames - 1) % self.temporal:
            raise bad_args(f"num_frames must be {self.temporal}k+1 (for example 49), not {num_frames}.")
        cfg = self.transformer.config
        if self.learned:
            want = (int(cfg.sample_height) * self.spatial, int(cfg.sample_width) * self.spatial)
            if (height, width) != want:
                raise bad_args(
                    f"This CogVideoX model has learned positional embeddings and only generates {want[0]}x{want[1]}, "
                    f"not {height}x{width}."
                )
            if num_frames > int(cfg.sample_frames):
                raise bad_args(f"This CogVideoX model generates at most {int(cfg.sample_frames)} frames, not {num_frames}.")

    def _draw(self, seed, height, width, num_frames, image=None):
        """The pipeline's own prepare_latents -> (latents [1, F, C, H, W], image latents or None)."""
        self._check_size(height, width, num_frames)
        frames, pad = self._latent_frames(num_frames)
        self._padding[frames] = pad
        padded_frames = num_frames + pad * self.temporal
        generator = torch.Generator("cpu").manual_seed(seed)
        dtype = self.pipe.text_encoder.dtype  # __call__ draws in prompt_embeds.dtype
        if image is None:
            latents = self.pipe.prepare_latents(
                1, self.channels, padded_frames, height, width, dtype, self.device, generator, None
            )
            return latents, None
        pixels = self.pipe.video_processor.preprocess(image, height=height, width=width).to(self.device, dtype=dtype)
        return self.pipe.prepare_latents(
            pixels, 1, self.channels, padded_frames, height, width, dtype, self.device, generator, None
        )

    @torch.inference_mode()
    def prepare_latents(self, seed, height, width, num_frames):
        self.text_to_video_only()
        latents, _ = self._draw(seed, height, width, num_frames)
        return latents.permute(0, 2, 1, 3, 4).float().cpu().numpy()

    @torch.inference_mode()
    def encode_image(self, image, seed, height, width, num_frames):
        if not self.i2v:
            return super().encode_image(image, seed, height, width, num_frames)
        from PIL import Image

        latents, image_latents = self._draw(seed, height, width, num_frames, Image.fromarray(image))
        return ImageCondition(
            seed=seed,
            height=height,
            width=width,
            num_frames=num_frames,
            latents=latents.permute(0, 2, 1, 3, 4).float().cpu().numpy(),
            payload={"image_latents": image_latents.to(self.tdtype)},
        )

    def check_latent_shape(self, shape):
        f, h, w = check_patches(shape, self.channels, (self.pt or 1, self.p, self.p))
        if self.learned:
            cfg = self.transformer.config
            if (h, w) != (int(cfg.sample_height), int(cfg.sample_width)):
                raise bad_shape(
                    f"this model's learned positional embeddings need latent H', W' = "
                    f"{[int(cfg.sample_height), int(cfg.sample_width)]}, not {[h, w]}."
                )

    # -- the denoiser ------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def denoise(self, x, timesteps, conds, images=None):
        n, _, f, h, w = x.shape
        hidden = as_torch(x).to(self.device, self.tdtype).permute(0, 2, 1, 3, 4)
        if self.i2v:
            cond_latents = torch.cat([im.payload["image_latents"] for im in image_conditions(images)]).to(self.device, self.tdtype)
            if cond_latents.shape[1:] != hidden.shape[1:]:
                raise bad_shape(
                    f"the image handle was prepared for latents {list(cond_latents.shape[1:])} ([F, C, H, W]), "
                    f"not {list(hidden.shape[1:])}."
                )
            hidden = torch.cat([hidden, cond_latents], dim=2)
        # The scheduler's timesteps are integers (int64 in the pipeline).
        t = torch.from_numpy(np.rint(np.asarray(timesteps, dtype=np.float64)).astype(np.int64)).to(self.device)
        ctx = torch.stack(list(conds)).to(self.device, self.tdtype)
        cfg = self.transformer.config
        rotary = (
            self.pipe._prepare_rotary_positional_embeddings(h * self.spatial, w * self.spatial, f, self.device)
            if cfg.use_rotary_positional_embeddings
            else None
        )
        ofs = None if cfg.ofs_embed_dim is None else hidden.new_full((1,), fill_value=2.0)
        kwargs = {"ofs": ofs} if self.i2v else {}
        pred = self.transformer(
            hidden_states=hidden, encoder_hidden_states=ctx, timestep=t, image_rotary_emb=rotary,
            return_dict=False, **kwargs,
        )[0]
        return finite(pred.float().permute(0, 2, 1, 3, 4).contiguous().cpu().numpy())

    @torch.inference_mode()
    def time_embedding(self, timesteps):
        t = torch.tensor(np.asarray(timesteps, dtype=np.float32), device=self.device)
        proj = self.transformer.time_proj(t)
        weight_dtype = next(iter(self.transformer.time_embedding.parameters())).dtype
        return self.transformer.time_embedding(proj.to(weight_dtype)).float().cpu().numpy()

    # -- the VAE -----------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def decode(self, latents):
        check_decode_shape(latents, self.channels)
        z = as_torch(latents).to(self.device, self.pipe.vae.dtype).permute(0, 2, 1, 3, 4)
        z = z[:, self._padding.get(z.shape[1], 0):]  # CogVideoX 1.5's padding frame, as __call__ discards it
        return self.uint8_video(self.pipe.decode_latents(z))

    @torch.inference_mode()
    def encode_media(self, video, sample):
        z = self._vae_encode(video, sample)
        return (self.pipe.vae_scaling_factor_image * z).float().cpu().numpy()
