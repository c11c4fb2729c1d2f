"""The result record of each op and the records a load result is made of (`ModelInfo`: an adapter's `info()`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .schema import ANY_TENSORS, FLATTEN

__all__ = [
    "Empty", "HelloResult", "SchedulerInfo", "LatentInfo", "Expert", "Guidance", "FrameRule", "SetTimesteps",
    "Defaults", "Geometry", "ModelInfo", "LoadResult", "EncodeImageResult", "EncodePromptResult",
    "PrepareLatentsResult", "DenoiseResult", "TimeEmbeddingResult", "DecodeResult", "EncodeMediaResult",
    "ReadMediaResult", "ReleaseResult", "EncodeVideoResult", "EchoResult", "OpDescription", "OpsResult", "StatsResult",
]


def _small(name: str, /, **fields: type) -> type:
    """A small record: `fields` are its wire keys and their types (an ndarray travels as a tensor frame)."""
    record = dataclasses.make_dataclass(name, list(fields.items()), frozen=True)
    record.__module__ = __name__
    return record


@dataclass(frozen=True)
class Empty:
    pass


@dataclass(frozen=True)
class HelloResult:
    protocol: int
    worker: str
    version: str
    device: str
    pid: int
    torch: str
    diffusers: str
    max_message_bytes: int
    limits: dict = field(default_factory=dict)


# The parts of the load result (ModelInfo below).
SchedulerInfo = _small("SchedulerInfo", class_name=str, config=dict)
LatentInfo = _small("LatentInfo", channels=int, spatial_scale=int, temporal_scale=int)
Expert = _small("Expert", name=str, t_min=float, t_max=float)
Guidance = _small("Guidance", scale=float, scale_2=float | None, dynamic=bool)
FrameRule = _small("FrameRule", multiple=int, plus=int)
SetTimesteps = _small("SetTimesteps", sigmas=str | None, mu=str | None)


@dataclass(frozen=True)
class Defaults:
    height: int
    width: int
    num_frames: int
    guidance_scale: float
    num_inference_steps: int
    max_sequence_length: int | None = None
    # Frames per second of the videos the pipeline is meant to make (what MP4 / GIF files play at).
    fps: float = 16.0
    scheduler: str | None = None


@dataclass(frozen=True)
class Geometry:
    patch: tuple[int, int, int]
    spatial_multiple: int
    frame_rule: FrameRule
    max_latent: tuple[int, int, int] | None
    fixed_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class ModelInfo:
    """What `load` reports about a pipeline (its adapter's `info()`): the load result less the handle and the
    load options."""

    family: str
    pipeline_class: str
    scheduler: SchedulerInfo
    latent: LatentInfo
    defaults: Defaults
    experts: tuple[Expert, ...] = ()
    guidance: Guidance | None = None
    geometry: Geometry | None = None
    set_timesteps: SetTimesteps | None = None
    image_to_video: bool = False


@dataclass(frozen=True)
class LoadResult:
    model: str
    info: ModelInfo = field(metadata=FLATTEN)
    wire_dtype: str = "float32"
    load_options: dict | None = None


EncodeImageResult = _small("EncodeImageResult", image=str)
EncodePromptResult = _small("EncodePromptResult", cond=str, tokens=int)
PrepareLatentsResult = _small("PrepareLatentsResult", latents=np.ndarray)
DenoiseResult = _small("DenoiseResult", items=int, out=np.ndarray)
TimeEmbeddingResult = _small("TimeEmbeddingResult", emb=np.ndarray)
DecodeResult = _small("DecodeResult", video=np.ndarray)  # uint8 [F, H, W, 3]
EncodeMediaResult = _small("EncodeMediaResult", latents=np.ndarray)
ReadMediaResult = _small("ReadMediaResult", video=np.ndarray)  # uint8 [F, H, W, 3]
ReleaseResult = _small("ReleaseResult", released=int)


@dataclass(frozen=True)
class EncodeVideoResult:
    data: np.ndarray  # the encoded file, uint8 [bytes]
    format: str
    width: int
    height: int
    frames: int
    fps: float
    pad_bottom: int
    pad_right: int


@dataclass(frozen=True)
class EchoResult:
    tensors: list = field(metadata=ANY_TENSORS)


# `ops`: one entry per op of OPS (describe below).
OpDescription = _small("OpDescription", name=str, inline=bool, args=dict, tensors_in=dict, result=tuple, tensors_out=tuple)
OpsResult = _small("OpsResult", ops=tuple)


@dataclass(frozen=True)
class StatsResult:
    messages: int
    denoise_requests: int
    denoise_items: int
    forwards: int
    errors: int
    models: int
    conds: int
    forward_seconds: float  # wall time inside forwards since start
