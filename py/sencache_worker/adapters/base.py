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

from ..protocol import BAD_SHAPE, BAD_ARGS, ProtocolError

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class ModelInfo:
    """What `load` reports about a pipeline (the protocol module turns it into the load result)."""

    family: str
    pipeline_class: str
    scheduler_class: str
    scheduler_config: dict
    channels: int
    spatial_scale: int
    temporal_scale: int
    height: int
    width: int
    num_frames: int
    guidance_scale: float
    num_inference_steps: int
    # Added for every family (proto/SPEC.md, `load`): defaults beyond the size, the denoisers and their ranges,
    # the guidance rule, the latent geometry the model accepts, and what the pipeline passes to set_timesteps.
    max_sequence_length: int | None = None
    # Frames per second of the videos the pipeline is meant to make (what MP4 / GIF files play at).
    fps: float = 16.0
    experts: tuple = ()
    guidance: dict | None = None
    geometry: dict | None = None
    set_timesteps: dict | None = None
    image_to_video: bool = False


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


def single_expert(pipe, name: str = "transformer") -> tuple:
    n = float(pipe.scheduler.config.get("num_train_timesteps", 1000))
    return ({"name": name, "t_min": 0.0, "t_max": n},)


def frames_rule(temporal: int) -> dict:
    return {"multiple": int(temporal), "plus": 1}


def as_torch(array: np.ndarray) -> torch.Tensor:
    """A torch view of a (possibly read-only, zero-copy) frame; adapters never write into inputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array)


def bad_shape(message: str) -> ProtocolError:
    return ProtocolError(BAD_SHAPE, message)


def bad_args(message: str) -> ProtocolError:
    return ProtocolError(BAD_ARGS, message)


class Adapter(ABC):
    """One loaded pipeline of one family. Methods run on the worker's compute thread only."""

    family: str = ""
    pipeline_classes: tuple[str, ...] = ()

    def __init__(self, pipe, source: str, device: torch.device, dtype: torch.dtype):
        self.pipe = pipe
        self.source = source
        self.device = device
        self.dtype = dtype

    @classmethod
    @abstractmethod
    def load(cls, source: str, device: torch.device, dtype: torch.dtype) -> "Adapter":
        """Load the pipeline with `DiffusionPipeline.from_pretrained` (offline) and move it to `device`."""

    @abstractmethod
    def info(self) -> ModelInfo: ...

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
        """One forward: x float32 [n, C, F', H', W'], timesteps float32 [n], one condition (and, for image-to-video,
        one image condition) per row -> float32 [n, C, F', H', W']."""

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
