"""The contract every model-family adapter fulfils. Adapters see numpy arrays and torch; never wire keys."""

from __future__ import annotations

import json
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..protocol import (
    BAD_ARGS,
    BAD_SHAPE,
    Defaults,
    Expert,
    FrameRule,
    Geometry,
    Guidance,
    LatentInfo,
    ModelInfo,
    NON_FINITE,
    ProtocolError,
    SchedulerInfo,
    SetTimesteps,
)

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class ImageCondition:
    """What `encode_image` keeps for one conditioning image of one sample: the seed and size it was prepared for,
    the initial latent the pipeline drew with it (wire layout), and the adapter's per-step conditioning."""

    seed: int
    height: int
    width: int
    num_frames: int
    latents: np.ndarray
    payload: dict


def jsonable(value: Any) -> Any:
    """A diffusers config as plain JSON types (tuples to lists, numpy scalars to numbers, private keys kept)."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    return str(value)


def sencache_defaults(source: str) -> dict:
    """Optional `sencache.json` next to model_index.json with the model's defaults (height, width,
    num_frames, guidance_scale, num_inference_steps, max_sequence_length, fps), either flat or under a
    "defaults" key; other keys (demo prompts, …) are for the TypeScript side and ignored here."""
    path = Path(source) / "sencache.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    d = data.get("defaults", data)
    return d if isinstance(d, dict) else {}


def call_defaults(pipe) -> dict:
    """The keyword defaults of the pipeline's own `__call__` (None where the pipeline derives them at call time)."""
    import inspect

    return {
        name: p.default
        for name, p in inspect.signature(type(pipe).__call__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def single_expert(pipe, name: str = "transformer") -> tuple[Expert, ...]:
    n = float(pipe.scheduler.config.get("num_train_timesteps", 1000))
    return (Expert(name=name, t_min=0.0, t_max=n),)


def frames_rule(temporal: int) -> FrameRule:
    return FrameRule(multiple=int(temporal), plus=1)


def as_torch(array: np.ndarray) -> torch.Tensor:
    """A torch view of a (possibly read-only, zero-copy) frame; adapters never write into inputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array)


def bad_shape(message: str) -> ProtocolError:
    return ProtocolError(BAD_SHAPE, message)


def bad_args(message: str) -> ProtocolError:
    return ProtocolError(BAD_ARGS, message)


def check_patches(shape: tuple[int, ...], channels: int, patch: tuple[int, int, int]) -> tuple[int, int, int]:
    """(F', H', W') of a [n, C, F', H', W'] latent with this model's channels and whole patches, else bad_shape."""
    if len(shape) != 5 or shape[1] != channels:
        raise bad_shape(f"latents must be [n, {channels}, F', H', W'] for this model, not {list(shape)}.")
    f, h, w = shape[2:]
    if min(f, h, w) == 0 or f % patch[0] or h % patch[1] or w % patch[2]:
        raise bad_shape(f"latent F', H', W' must be positive multiples of the patch {list(patch)}, not {[f, h, w]}.")
    return f, h, w


def check_decode_shape(latents: np.ndarray, channels: int) -> None:
    if latents.shape[0] != 1 or latents.shape[1] != channels or min(latents.shape[2:]) == 0:
        raise bad_shape(f"latents must be [1, {channels}, F', H', W'], not {list(latents.shape)}.")


def image_conditions(images: list[ImageCondition | None] | None) -> list[ImageCondition]:
    """The image conditions of an image-to-video denoise: one on every row, else bad_args."""
    if images is None or any(im is None for im in images):
        raise bad_args("This image-to-video model needs an `image` handle on every denoise item.")
    return images


def finite(prediction: np.ndarray) -> np.ndarray:
    """The denoiser's prediction, or ProtocolError(non_finite) when it holds NaN or Inf."""
    if not np.isfinite(prediction).all():
        raise ProtocolError(NON_FINITE, "The denoiser produced NaN or Inf; check the inputs and the model dtype.")
    return prediction


class Adapter(ABC):
    """One loaded pipeline of one family. Methods run on the worker's compute thread only."""

    family: str = ""
    pipeline_classes: tuple[str, ...] = ()
    # The denoiser takes a frame rate (LTX-Video's RoPE scale): denoise gets `fps`, one value or None per row.
    fps_conditioning: bool = False

    def __init__(self, pipe, source: str, device: torch.device, dtype: torch.dtype):
        self.pipe = pipe
        self.source = source
        self.device = device
        self.dtype = dtype
        # The denoiser (Wan 2.2 A14B: the first of its two) and its dtype.
        self.transformer = pipe.transformer if getattr(pipe, "transformer", None) is not None else pipe.transformer_2
        self.tdtype = self.transformer.dtype

    @classmethod
    def load(cls, source: str, device: torch.device, dtype: torch.dtype) -> "Adapter":
        """Load the pipeline with `DiffusionPipeline.from_pretrained` (offline), move it to `device` and put its
        models in eval mode."""
        from diffusers import DiffusionPipeline

        pipe = DiffusionPipeline.from_pretrained(source, dtype=dtype)
        pipe.set_progress_bar_config(disable=True)
        cls.before_move(pipe)
        pipe.to(device)
        for name in ("text_encoder", "transformer", "transformer_2", "vae"):
            module = getattr(pipe, name, None)
            if module is not None:
                module.eval()
        return cls(pipe, source, device, dtype)

    @classmethod
    def before_move(cls, pipe) -> None:
        """A family's change to the freshly loaded pipeline before it moves to the device (Wan: VAE in float32)."""

    def with_file_defaults(self, defaults: dict) -> dict:
        """The pipeline's defaults overridden by the model folder's sencache.json."""
        return {**defaults, **sencache_defaults(self.source)}

    def text_to_video_only(self) -> None:
        """prepare_latents without an image: bad_args on an image-to-video model."""
        if self.i2v:
            raise bad_args("This is an image-to-video model: send the image with encode_image and pass its handle.")

    def uint8_video(self, video: torch.Tensor) -> np.ndarray:
        """The VAE's decoded video through the pipeline's video processor: uint8 [F, H, W, 3]."""
        frames = self.pipe.video_processor.postprocess_video(video=video, output_type="np")[0]
        return (frames * 255).round().astype(np.uint8)

    @abstractmethod
    def info(self) -> ModelInfo:
        """What `load` reports about the pipeline (build it with `model_info`)."""

    def model_info(self, channels: int, max_sequence_length: int, fps: float, guidance: Guidance, geometry: Geometry,
                   set_timesteps: SetTimesteps = SetTimesteps(sigmas=None, mu=None),
                   experts: tuple[Expert, ...] | None = None) -> ModelInfo:
        """The ModelInfo every family reports alike (class names, scheduler, VAE scales `self.spatial` and
        `self.temporal`, the size and step defaults of `self.defaults`, `self.i2v`), with the family's own parts."""
        d, scheduler = self.defaults, self.pipe.scheduler
        return ModelInfo(
            family=self.family,
            pipeline_class=type(self.pipe).__name__,
            scheduler=SchedulerInfo(class_name=type(scheduler).__name__, config=jsonable(dict(scheduler.config))),
            latent=LatentInfo(channels=channels, spatial_scale=self.spatial, temporal_scale=self.temporal),
            defaults=Defaults(
                height=int(d["height"]),
                width=int(d["width"]),
                num_frames=int(d["num_frames"]),
                guidance_scale=float(d["guidance_scale"]),
                num_inference_steps=int(d["num_inference_steps"]),
                max_sequence_length=int(max_sequence_length),
                fps=float(fps),
                scheduler=type(scheduler).__name__,
            ),
            experts=experts if experts is not None else single_expert(self.pipe),
            guidance=guidance,
            geometry=geometry,
            set_timesteps=set_timesteps,
            image_to_video=self.i2v,
        )

    @abstractmethod
    def encode_prompt(self, text: str, max_sequence_length: int | None) -> tuple[torch.Tensor, int]:
        """One text -> (embeddings [L, D] in the transformer's dtype on the device, number of real tokens)."""

    @abstractmethod
    def prepare_latents(self, seed: int, height: int, width: int, num_frames: int) -> np.ndarray:
        """The pipeline's own initial latent draw, float32 [1, C, F', H', W']."""

    def encode_image(self, image: np.ndarray, seed: int, height: int, width: int, num_frames: int) -> ImageCondition:
        """Image-to-video: run the pipeline's own image preprocessing and latent preparation for one sample."""
        raise bad_args(
            f"{type(self.pipe).__name__} is a text-to-video pipeline; load an image-to-video pipeline to condition on an image."
        )

    @abstractmethod
    def check_latent_shape(self, shape: tuple[int, ...]) -> None:
        """Raise ProtocolError(bad_shape) when a [n, C, F', H', W'] latent cannot go through the denoiser."""

    @abstractmethod
    def denoise(self, x: np.ndarray, timesteps: np.ndarray, conds: list[torch.Tensor],
                images: list[ImageCondition | None] | None = None) -> np.ndarray:
        """One forward: x float32 [n, C, F', H', W'] (a shape `check_latent_shape` accepted: the server checks each
        request before the forward), timesteps float32 [n], one condition (and, for image-to-video, one image
        condition) per row -> float32 [n, C, F', H', W']."""

    @abstractmethod
    def time_embedding(self, timesteps: np.ndarray) -> np.ndarray:
        """float32 [len, D]: the model's time embedding for each timestep."""

    @abstractmethod
    def decode(self, latents: np.ndarray) -> np.ndarray:
        """float32 [1, C, F', H', W'] normalised latents -> uint8 video [F, H, W, 3]."""

    def _vae_encode(self, video: np.ndarray, sample: bool) -> torch.Tensor:
        """The VAE's raw latent of a uint8 video [F, H, W, 3] (a sample of the posterior, or its mean); each
        family normalises it as its pipeline does. Needs `self.temporal` and `self.spatial`."""
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
        return retrieve_latents(vae.encode(pixels), sample_mode="sample" if sample else "argmax")

    @abstractmethod
    def encode_media(self, video: np.ndarray, sample: bool) -> np.ndarray:
        """uint8 video [F, H, W, 3] -> normalised float32 latents [1, C, F', H', W']."""
