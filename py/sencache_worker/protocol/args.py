"""The argument record of each op (proto/SPEC.md "Ops"), with the checks across an op's arguments."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .errors import BAD_SHAPE, ProtocolError
from .messages import PROTOCOL_VERSION, Request, Tensor
from .schema import DERIVED, ListOf, all_tensors_arg, arg, tensor_arg, tensor_list_arg

__all__ = [
    "MODEL_DTYPES", "VIDEO_FORMATS", "NoArgs", "HelloArgs", "LoadArgs", "EncodePromptArgs", "SampleArgs",
    "EncodeImageArgs", "PrepareLatentsArgs", "DenoiseItem", "DenoiseArgs", "TimeEmbeddingArgs", "DecodeArgs",
    "EncodeMediaArgs", "EncodeVideoArgs", "ReadMediaArgs", "ReleaseArgs", "EchoArgs",
]


MODEL_DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class NoArgs:
    pass


@dataclass(frozen=True)
class HelloArgs:
    client: str = arg("str", "")
    protocols: tuple[int, ...] = arg(ListOf("int"), (PROTOCOL_VERSION,))


@dataclass(frozen=True)
class LoadArgs:
    source: str = arg("str")
    dtype: str = arg("str", "float32", choices=MODEL_DTYPES)
    family: str | None = arg("str", None)
    offload: str | None = arg("str", None, choices=("none", "model", "sequential"))
    vae_tiling: bool = arg("bool", False)
    vae_slicing: bool = arg("bool", False)
    wire_dtype: str | None = arg("str", None, choices=("auto", "float32", "bfloat16", "float16"))


@dataclass(frozen=True)
class EncodePromptArgs:
    model: str = arg("str")
    text: str = arg("str")
    max_sequence_length: int | None = arg("int", None, minimum=1)


@dataclass(frozen=True)
class SampleArgs:
    """A model and one sample's seed and size (the arguments encode_image and prepare_latents share)."""

    model: str = arg("str")
    seed: int = arg("int")
    height: int = arg("int", minimum=1)
    width: int = arg("int", minimum=1)
    num_frames: int = arg("int", minimum=1)


@dataclass(frozen=True)
class EncodeImageArgs(SampleArgs):
    image: np.ndarray = tensor_arg(("uint8",), 3)


def check_encode_image(req: Request, a: EncodeImageArgs) -> None:
    if a.image.shape[-1] != 3 or min(a.image.shape) == 0:
        raise ProtocolError(BAD_SHAPE, f"Tensor `image` must be [H, W, 3], not {list(a.image.shape)}.", req.op, req.id)


@dataclass(frozen=True)
class PrepareLatentsArgs(SampleArgs):
    image: str | None = arg("str", None)  # an encode_image handle: its latents are the sample's initial latent


@dataclass(frozen=True)
class DenoiseItem:
    cond: str = arg("str")
    t: float = arg("float")
    branch: str = arg("str", "cond")
    image: str | None = arg("str", None)  # image-to-video: the sample's encode_image handle
    # LTX-Video: the frame rate of the RoPE interpolation scale (default: the model's); refused by other models
    fps: float | None = arg("float", None, minimum=0.001, maximum=1000.0)


@dataclass(frozen=True)
class DenoiseArgs:
    model: str = arg("str")
    items: tuple[DenoiseItem, ...] = arg(ListOf(DenoiseItem, nonempty=True))
    x: np.ndarray = tensor_arg(("float32", "bfloat16", "float16"), 5)
    x_dtype: str = field(default="float32", metadata=DERIVED)  # the wire dtype x travelled in


def check_denoise(req: Request, a: DenoiseArgs) -> DenoiseArgs:
    if a.x.shape[0] != len(a.items):
        raise ProtocolError(
            BAD_SHAPE,
            f"Tensor `x` has {a.x.shape[0]} rows but `items` has {len(a.items)}; send one row per item.",
            req.op,
            req.id,
        )
    return dataclasses.replace(a, x_dtype=req.get("x").dtype)


@dataclass(frozen=True)
class TimeEmbeddingArgs:
    model: str = arg("str")
    timesteps: tuple[float, ...] = arg(ListOf("float", nonempty=True))


@dataclass(frozen=True)
class DecodeArgs:
    model: str = arg("str")
    latents: np.ndarray = tensor_arg(("float32",), 5)


@dataclass(frozen=True)
class EncodeMediaArgs:
    model: str = arg("str")
    video: np.ndarray = tensor_arg(("uint8",), 4)
    sample: bool = arg("bool", False)


def check_encode_media(req: Request, a: EncodeMediaArgs) -> None:
    if a.video.shape[-1] != 3:
        raise ProtocolError(BAD_SHAPE, f"Tensor `video` must be [F, H, W, 3], not {list(a.video.shape)}.", req.op, req.id)


VIDEO_FORMATS = ("mp4", "gif", "png", "grid")


@dataclass(frozen=True)
class EncodeVideoArgs:
    video: np.ndarray = tensor_arg(("uint8",), None)
    format: str = arg("str", choices=VIDEO_FORMATS)
    fps: float = arg("float", 16.0, minimum=0.002, maximum=240)  # media.MIN_FPS: a GIF frame shows for at most 655.35 s
    scale: int = arg("int", 1, minimum=1, maximum=64)
    labels: tuple[str, ...] = arg(ListOf("str"), ())
    title: str = arg("str", "")
    columns: tuple[int, ...] = arg(ListOf("int"), ())


def check_encode_video(req: Request, a: EncodeVideoArgs) -> None:
    rank = 5 if a.format == "grid" else 4
    if a.video.ndim != rank or a.video.shape[-1] != 3 or 0 in a.video.shape:
        want = "[R, F, H, W, 3]" if a.format == "grid" else "[F, H, W, 3]"
        raise ProtocolError(BAD_SHAPE, f"Tensor `video` must be {want}, not {list(a.video.shape)}.", req.op, req.id)


@dataclass(frozen=True)
class ReadMediaArgs:
    names: tuple[str, ...] = arg(ListOf("str", nonempty=True))
    height: int = arg("int", minimum=1)
    width: int = arg("int", minimum=1)
    num_frames: int = arg("int", minimum=1)
    files: tuple[np.ndarray, ...] = tensor_list_arg("file", ("uint8",), 1, per="names")  # file0, file1, …: one per name


@dataclass(frozen=True)
class ReleaseArgs:
    handles: tuple[str, ...] = arg(ListOf("str"))


@dataclass(frozen=True)
class EchoArgs:
    tensors: tuple[Tensor, ...] = all_tensors_arg()
