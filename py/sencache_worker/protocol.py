"""Wire protocol v1 (proto/SPEC.md): the only Python file that knows wire keys.

A message is a msgpack header frame followed by raw little-endian tensor frames. This module turns frames into
typed `Request`s / `Reply`s and back, validates every descriptor before touching tensor bytes, and parses each
op's arguments into a small typed record so the rest of the package never sees a key.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

import msgpack
import numpy as np

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = (1,)
DEFAULT_MAX_MESSAGE_BYTES = 1 << 30
MAX_DIMS = 8
# The header frame is small (a few hundred bytes for the largest request); a larger one is refused.
MAX_HEADER_BYTES = 1 << 20
MAX_HEADER_DEPTH = 32
# A shape's dims, zeros counted as 1, multiply to at most this (so a zero-element tensor cannot ask for 10^30 rows).
MAX_SHAPE_PRODUCT = 1 << 48
# Frames below this size may be packed at odd offsets by libzmq: copying them is cheaper than worrying.
SMALL_FRAME_BYTES = 8192

OPS = (
    "hello",
    "ping",
    "load",
    "encode_prompt",
    "encode_image",
    "prepare_latents",
    "denoise",
    "time_embedding",
    "decode",
    "encode_media",
    "encode_video",
    "read_media",
    "release",
    "echo",
    "stats",
    "shutdown",
)

# Wire dtype name -> numpy dtype of the raw frame. bfloat16 has no numpy dtype: it travels as uint16 bit patterns.
DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
    "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<u2"),
    "uint8": np.dtype("u1"),
    "int64": np.dtype("<i8"),
}
FLOAT_DTYPES = frozenset({"float32", "float64", "float16", "bfloat16"})

# Error codes (SPEC "Errors").
BAD_MESSAGE = "bad_message"
UNSUPPORTED_VERSION = "unsupported_version"
UNKNOWN_OP = "unknown_op"
BAD_ARGS = "bad_args"
BAD_DTYPE = "bad_dtype"
BAD_SHAPE = "bad_shape"
NON_FINITE = "non_finite"
TOO_LARGE = "too_large"
UNKNOWN_MODEL = "unknown_model"
UNKNOWN_HANDLE = "unknown_handle"
LOAD_FAILED = "load_failed"
INTERNAL = "internal"
ERROR_CODES = (
    BAD_MESSAGE,
    UNSUPPORTED_VERSION,
    UNKNOWN_OP,
    BAD_ARGS,
    BAD_DTYPE,
    BAD_SHAPE,
    NON_FINITE,
    TOO_LARGE,
    UNKNOWN_MODEL,
    UNKNOWN_HANDLE,
    LOAD_FAILED,
    INTERNAL,
)


class ProtocolError(Exception):
    """A typed failure that becomes an error reply. `op`/`id` are what is known of the offending request."""

    def __init__(self, code: str, message: str, op: str = "unknown", id: int = 0):
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.op = op
        self.id = id

    def __repr__(self) -> str:
        return f"ProtocolError({self.code!r}, {self.message!r})"


class Tensor(NamedTuple):
    name: str
    array: np.ndarray
    dtype: str  # the wire dtype name (bfloat16 arrays are uint16 bit patterns)


def tensor(name: str, array: np.ndarray, dtype: str | None = None) -> Tensor:
    """A tensor to send; the wire dtype is inferred from the array unless given (pass "bfloat16" for bit patterns)."""
    if dtype is None:
        dtype = _wire_dtype(array.dtype)
    return Tensor(name, array, dtype)


def _wire_dtype(dt) -> str:
    dt = np.dtype(dt).newbyteorder("<")
    for name, want in DTYPES.items():
        if name != "bfloat16" and dt == want:
            return name
    raise ValueError(f"numpy dtype {dt} has no wire dtype; use one of {', '.join(DTYPES)}")


@dataclass
class Request:
    op: str
    id: int
    args: dict[str, Any] = field(default_factory=dict)
    tensors: list[Tensor] = field(default_factory=list)
    v: int = PROTOCOL_VERSION

    def get(self, name: str) -> Tensor | None:
        for t in self.tensors:
            if t.name == name:
                return t
        return None


@dataclass
class Reply:
    op: str
    id: int
    ok: bool = True
    result: dict[str, Any] = field(default_factory=dict)
    error: ProtocolError | None = None
    tensors: list[Tensor] = field(default_factory=list)
    v: int = PROTOCOL_VERSION

    def get(self, name: str) -> Tensor | None:
        for t in self.tensors:
            if t.name == name:
                return t
        return None


# --------------------------------------------------------------------------------------------------------------
# Frames <-> messages


def _pack(header: dict) -> bytes:
    return msgpack.packb(header, use_bin_type=True)


def _descriptors(tensors: Sequence[Tensor]) -> tuple[list[dict], list]:
    descs, frames = [], []
    for t in tensors:
        if t.dtype not in DTYPES:
            raise ValueError(f"unknown wire dtype {t.dtype!r}")
        arr = np.asarray(t.array, dtype=DTYPES[t.dtype], order="C")
        descs.append({"name": t.name, "dtype": t.dtype, "shape": [int(s) for s in arr.shape]})
        frames.append(memoryview(arr).cast("B") if arr.size else b"")
    return descs, frames


def encode_request(req: Request) -> list:
    """Frames of a request: header bytes, then one buffer per tensor."""
    header: dict[str, Any] = {"v": req.v, "op": req.op, "id": req.id}
    if req.args:
        header["args"] = req.args
    descs, frames = _descriptors(req.tensors)
    if descs:
        header["tensors"] = descs
    return [_pack(header), *frames]


def encode_reply(rep: Reply) -> list:
    """Frames of a reply: header bytes, then one buffer per tensor."""
    header: dict[str, Any] = {"v": rep.v, "op": rep.op, "id": rep.id, "ok": rep.ok}
    if rep.ok:
        header["result"] = rep.result
    else:
        err = rep.error or ProtocolError(INTERNAL, "The worker failed without saying why; see its stderr.")
        header["error"] = {"code": err.code, "message": err.message}
    descs, frames = _descriptors(rep.tensors if rep.ok else [])
    if descs:
        header["tensors"] = descs
    return [_pack(header), *frames]


def error_reply(err: ProtocolError, op: str | None = None, id: int | None = None) -> Reply:
    return Reply(op=op if op is not None else err.op, id=id if id is not None else err.id, ok=False, error=err)


def _buffer(frame) -> memoryview:
    buf = getattr(frame, "buffer", None)  # zmq.Frame
    if buf is None:
        buf = frame
    mv = memoryview(buf)
    return mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv


def _no_ext(code: int, data: bytes):
    raise ValueError(f"msgpack extension type {code}")


def _is_plain(value, depth: int = 0) -> bool:
    """Plain msgpack only: nil, bool, int, float, str, bin, arrays and str-keyed maps, nested at most 32 deep."""
    if depth > MAX_HEADER_DEPTH:
        return False
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return True
    if isinstance(value, list):
        return all(_is_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v, depth + 1) for k, v in value.items())
    return False  # msgpack.Timestamp (extension -1) and anything else an extension could become


def _header(frame) -> dict:
    buf = _buffer(frame)
    if buf.nbytes > MAX_HEADER_BYTES:
        raise ProtocolError(
            TOO_LARGE, f"The header frame has {buf.nbytes} bytes, more than the limit of {MAX_HEADER_BYTES}; "
            "send tensors as frames, not inside the header."
        )
    try:
        header = msgpack.unpackb(bytes(buf), raw=False, strict_map_key=True, ext_hook=_no_ext,
                                 timestamp=0)
    except Exception:
        raise ProtocolError(BAD_MESSAGE, "The header frame is not plain msgpack; send a msgpack map (no extension types) as frame 0.") from None
    if not _is_plain(header):
        raise ProtocolError(BAD_MESSAGE, "The header holds msgpack extension types or nests deeper than 32; send plain msgpack.")
    if not isinstance(header, dict):
        raise ProtocolError(BAD_MESSAGE, "The header frame is not a msgpack map; send a map with v, op and id.")
    return header


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _envelope(header: dict, want_ops: bool) -> tuple[str, int]:
    op, mid = header.get("op"), header.get("id")
    op_known = op if isinstance(op, str) else "unknown"
    id_known = mid if _is_int(mid) and mid >= 0 else 0
    v = header.get("v")
    if not _is_int(v):
        raise ProtocolError(BAD_MESSAGE, "The header has no integer `v`; send v = 1.", op_known, id_known)
    if v not in SUPPORTED_VERSIONS:
        raise ProtocolError(
            UNSUPPORTED_VERSION,
            f"Protocol version {v} is not spoken here; this worker speaks versions {list(SUPPORTED_VERSIONS)}.",
            op_known,
            id_known,
        )
    if not isinstance(op, str):
        raise ProtocolError(BAD_MESSAGE, "The header has no string `op`; name an operation.", "unknown", id_known)
    if not _is_int(mid) or mid < 0:
        raise ProtocolError(BAD_MESSAGE, "The header has no non-negative integer `id`; number each request.", op, 0)
    if want_ops and mid == 0:
        raise ProtocolError(BAD_MESSAGE, "Request id 0 is reserved for messages nobody asked for; number requests from 1.", op, 0)
    if want_ops and op not in OPS:
        raise ProtocolError(UNKNOWN_OP, f"Unknown op {op!r}; use one of {', '.join(OPS)}.", op, mid)
    return op, mid


def _tensors(header: dict, frames: Sequence, max_message_bytes: int, op: str, mid: int) -> list[Tensor]:
    descs = header.get("tensors", [])
    if descs is None:
        descs = []
    if not isinstance(descs, list):
        raise ProtocolError(BAD_MESSAGE, "`tensors` must be an array of descriptors.", op, mid)
    bufs = [_buffer(f) for f in frames]
    if len(bufs) != len(descs):
        raise ProtocolError(
            BAD_MESSAGE,
            f"The header describes {len(descs)} tensors but {len(bufs)} tensor frames arrived; send one frame per descriptor.",
            op,
            mid,
        )
    total = sum(b.nbytes for b in bufs)
    if total > max_message_bytes:
        raise ProtocolError(
            TOO_LARGE,
            f"The message carries {total} tensor bytes, more than this worker's limit of {max_message_bytes}; send smaller batches.",
            op,
            mid,
        )
    declared = 0
    checked: list[tuple[str, str, tuple[int, ...], int]] = []
    for i, d in enumerate(descs):
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise ProtocolError(BAD_MESSAGE, f"Tensor descriptor {i} is not a map with a string name.", op, mid)
        name, dtype, shape = d["name"], d.get("dtype"), d.get("shape")
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise ProtocolError(
                BAD_DTYPE, f"Tensor {name!r} has dtype {dtype!r}; use one of {', '.join(DTYPES)}.", op, mid
            )
        if (not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(_is_int(s) and s >= 0 for s in shape)
                or math.prod(max(s, 1) for s in shape) > MAX_SHAPE_PRODUCT):
            raise ProtocolError(
                BAD_SHAPE,
                f"Tensor {name!r} has shape {str(shape)[:80]}; a shape is a list of at most {MAX_DIMS} non-negative ints "
                f"whose product (zeros counted as 1) is at most 2^48.",
                op,
                mid,
            )
        nbytes = math.prod(shape) * DTYPES[dtype].itemsize
        declared += nbytes
        if declared > max_message_bytes:
            raise ProtocolError(
                TOO_LARGE,
                f"The tensors declare more than this worker's limit of {max_message_bytes} bytes; send smaller batches.",
                op,
                mid,
            )
        if bufs[i].nbytes != nbytes:
            raise ProtocolError(
                BAD_MESSAGE,
                f"Tensor {name!r} frame holds {bufs[i].nbytes} bytes but {dtype} {shape} needs {nbytes}.",
                op,
                mid,
            )
        checked.append((name, dtype, tuple(shape), nbytes))
    out = []
    for (name, dtype, shape, nbytes), buf in zip(checked, bufs):
        npd = DTYPES[dtype]
        if nbytes == 0:
            arr = np.zeros(shape, dtype=npd)
        else:
            arr = np.frombuffer(buf, dtype=npd).reshape(shape)
            if nbytes <= SMALL_FRAME_BYTES or arr.ctypes.data % npd.alignment != 0:
                arr = arr.copy()
        out.append(Tensor(name, arr, dtype))
    return out


def decode_request(frames: Sequence, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Request:
    """Frames (header first, routing identity already removed) -> Request, or ProtocolError."""
    if not frames:
        raise ProtocolError(BAD_MESSAGE, "The message has no header frame; send a msgpack header first.")
    header = _header(frames[0])
    op, mid = _envelope(header, want_ops=True)
    args = header.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ProtocolError(BAD_MESSAGE, "`args` must be a map.", op, mid)
    tensors = _tensors(header, frames[1:], max_message_bytes, op, mid)
    return Request(op=op, id=mid, args=args, tensors=tensors, v=header["v"])


def decode_reply(frames: Sequence, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Reply:
    """Frames -> Reply (used by tests, the vector generator and Python clients)."""
    if not frames:
        raise ProtocolError(BAD_MESSAGE, "The message has no header frame.")
    header = _header(frames[0])
    op, mid = _envelope(header, want_ops=False)
    ok = header.get("ok")
    if not isinstance(ok, bool):
        raise ProtocolError(BAD_MESSAGE, "A reply needs a boolean `ok`.", op, mid)
    if ok:
        result = header.get("result", {})
        if not isinstance(result, dict):
            raise ProtocolError(BAD_MESSAGE, "`result` must be a map.", op, mid)
        tensors = _tensors(header, frames[1:], max_message_bytes, op, mid)
        return Reply(op=op, id=mid, ok=True, result=result, tensors=tensors, v=header["v"])
    err = header.get("error")
    if not isinstance(err, dict) or not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str):
        raise ProtocolError(BAD_MESSAGE, "An error reply needs `error: {code, message}`.", op, mid)
    code = err["code"] if err["code"] in ERROR_CODES else INTERNAL
    return Reply(op=op, id=mid, ok=False, error=ProtocolError(code, err["message"], op, mid), v=header["v"])


def header_of(frames: Sequence) -> dict:
    """The raw decoded header (for golden vectors and tests)."""
    return _header(frames[0])


# --------------------------------------------------------------------------------------------------------------
# Typed op arguments


def _fail_args(req: Request, message: str) -> ProtocolError:
    return ProtocolError(BAD_ARGS, message, req.op, req.id)


def _arg(req: Request, key: str, kind: str, default: Any = ..., *, minimum: int | None = None) -> Any:
    if key not in req.args or req.args[key] is None:
        if default is ...:
            raise _fail_args(req, f"`{req.op}` needs the argument `{key}` ({kind}).")
        return default
    value = req.args[key]
    if kind == "str":
        ok = isinstance(value, str)
    elif kind == "int":
        ok = _is_int(value)
    elif kind == "float":
        ok = (_is_int(value) or isinstance(value, float)) and math.isfinite(value)
        value = float(value) if ok else value
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "list":
        ok = isinstance(value, list)
    else:  # pragma: no cover
        raise AssertionError(kind)
    if not ok:
        raise _fail_args(req, f"`{req.op}` argument `{key}` must be a {kind}, not {type(value).__name__}.")
    if minimum is not None and value < minimum:
        raise _fail_args(req, f"`{req.op}` argument `{key}` must be at least {minimum}, not {value}.")
    return value


def _tensor_arg(req: Request, name: str, dtypes: tuple[str, ...], rank: int) -> np.ndarray:
    t = req.get(name)
    if t is None:
        raise _fail_args(req, f"`{req.op}` needs the tensor `{name}`.")
    if t.dtype not in dtypes:
        raise ProtocolError(
            BAD_DTYPE, f"Tensor `{name}` of `{req.op}` must be {' or '.join(dtypes)}, not {t.dtype}.", req.op, req.id
        )
    if t.array.ndim != rank:
        raise ProtocolError(
            BAD_SHAPE,
            f"Tensor `{name}` of `{req.op}` must have {rank} dims, not shape {list(t.array.shape)}.",
            req.op,
            req.id,
        )
    if t.dtype in FLOAT_DTYPES and t.dtype != "bfloat16" and not np.isfinite(t.array).all():
        raise ProtocolError(NON_FINITE, f"Tensor `{name}` holds NaN or Inf; send finite values.", req.op, req.id)
    return t.array


@dataclass(frozen=True)
class HelloArgs:
    client: str
    protocols: tuple[int, ...]


@dataclass(frozen=True)
class LoadArgs:
    source: str
    dtype: str
    family: str | None
    offload: str | None = None
    vae_tiling: bool = False
    vae_slicing: bool = False
    wire_dtype: str | None = None


@dataclass(frozen=True)
class EncodePromptArgs:
    model: str
    text: str
    max_sequence_length: int | None


@dataclass(frozen=True)
class EncodeImageArgs:
    model: str
    seed: int
    height: int
    width: int
    num_frames: int
    image: np.ndarray


@dataclass(frozen=True)
class PrepareLatentsArgs:
    model: str
    seed: int
    height: int
    width: int
    num_frames: int
    image: str | None = None


@dataclass(frozen=True)
class DenoiseItem:
    cond: str
    t: float
    branch: str
    image: str | None = None


@dataclass(frozen=True)
class DenoiseArgs:
    model: str
    items: tuple[DenoiseItem, ...]
    x: np.ndarray
    x_dtype: str = "float32"


@dataclass(frozen=True)
class TimeEmbeddingArgs:
    model: str
    timesteps: tuple[float, ...]


@dataclass(frozen=True)
class DecodeArgs:
    model: str
    latents: np.ndarray


@dataclass(frozen=True)
class EncodeMediaArgs:
    model: str
    video: np.ndarray
    sample: bool


@dataclass(frozen=True)
class EncodeVideoArgs:
    video: np.ndarray
    format: str
    fps: float
    scale: int
    labels: tuple[str, ...]
    title: str
    columns: tuple[int, ...]


VIDEO_FORMATS = ("mp4", "gif", "png", "grid")


@dataclass(frozen=True)
class ReadMediaArgs:
    files: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    height: int
    width: int
    num_frames: int


@dataclass(frozen=True)
class ReleaseArgs:
    handles: tuple[str, ...]


@dataclass(frozen=True)
class NoArgs:
    pass


MODEL_DTYPES = ("float32", "float16", "bfloat16")


def parse_args(req: Request):
    """The typed arguments of a request, or ProtocolError (bad_args, bad_dtype, bad_shape, non_finite)."""
    op = req.op
    if op == "hello":
        protocols = _arg(req, "protocols", "list", [PROTOCOL_VERSION])
        if not all(_is_int(p) for p in protocols):
            raise _fail_args(req, "`hello` argument `protocols` must be a list of ints.")
        return HelloArgs(client=_arg(req, "client", "str", ""), protocols=tuple(protocols))
    if op == "load":
        dtype = _arg(req, "dtype", "str", "float32")
        if dtype not in MODEL_DTYPES:
            raise _fail_args(req, f"`load` argument `dtype` must be one of {', '.join(MODEL_DTYPES)}, not {dtype!r}.")
        offload = _arg(req, "offload", "str", None)
        if offload not in (None, "none", "model", "sequential"):
            raise _fail_args(req, f"`load` argument `offload` must be none, model or sequential, not {offload!r}.")
        wire = _arg(req, "wire_dtype", "str", None)
        if wire not in (None, "auto", "float32", "bfloat16", "float16"):
            raise _fail_args(req, f"`load` argument `wire_dtype` must be auto, float32, bfloat16 or float16, not {wire!r}.")
        return LoadArgs(
            source=_arg(req, "source", "str"),
            dtype=dtype,
            family=_arg(req, "family", "str", None),
            offload=offload,
            vae_tiling=bool(_arg(req, "vae_tiling", "bool", False)),
            vae_slicing=bool(_arg(req, "vae_slicing", "bool", False)),
            wire_dtype=wire,
        )
    if op == "encode_prompt":
        return EncodePromptArgs(
            model=_arg(req, "model", "str"),
            text=_arg(req, "text", "str"),
            max_sequence_length=_arg(req, "max_sequence_length", "int", None, minimum=1),
        )
    if op == "prepare_latents":
        return PrepareLatentsArgs(
            model=_arg(req, "model", "str"),
            seed=_arg(req, "seed", "int"),
            height=_arg(req, "height", "int", minimum=1),
            width=_arg(req, "width", "int", minimum=1),
            num_frames=_arg(req, "num_frames", "int", minimum=1),
            image=_arg(req, "image", "str", None),
        )
    if op == "encode_image":
        image = _tensor_arg(req, "image", ("uint8",), 3)
        if image.shape[-1] != 3 or min(image.shape) == 0:
            raise ProtocolError(
                BAD_SHAPE, f"Tensor `image` must be [H, W, 3], not {list(image.shape)}.", req.op, req.id
            )
        return EncodeImageArgs(
            model=_arg(req, "model", "str"),
            seed=_arg(req, "seed", "int"),
            height=_arg(req, "height", "int", minimum=1),
            width=_arg(req, "width", "int", minimum=1),
            num_frames=_arg(req, "num_frames", "int", minimum=1),
            image=image,
        )
    if op == "denoise":
        model = _arg(req, "model", "str")
        raw = _arg(req, "items", "list")
        if not raw:
            raise _fail_args(req, "`denoise` needs at least one item.")
        items = []
        for i, it in enumerate(raw):
            if not isinstance(it, dict):
                raise _fail_args(req, f"`denoise` item {i} must be a map {{cond, t, branch}}.")
            cond, t, branch, image = it.get("cond"), it.get("t"), it.get("branch", "cond"), it.get("image")
            if image is not None and not isinstance(image, str):
                raise _fail_args(req, f"`denoise` item {i} `image` must be a string handle.")
            if not isinstance(cond, str):
                raise _fail_args(req, f"`denoise` item {i} needs a string `cond` handle.")
            if not ((_is_int(t) or isinstance(t, float)) and math.isfinite(t)):
                raise _fail_args(req, f"`denoise` item {i} needs a finite number `t`.")
            if not isinstance(branch, str):
                raise _fail_args(req, f"`denoise` item {i} `branch` must be a string.")
            items.append(DenoiseItem(cond=cond, t=float(t), branch=branch, image=image))
        x = _tensor_arg(req, "x", ("float32", "bfloat16", "float16"), 5)
        if x.shape[0] != len(items):
            raise ProtocolError(
                BAD_SHAPE,
                f"Tensor `x` has {x.shape[0]} rows but `items` has {len(items)}; send one row per item.",
                req.op,
                req.id,
            )
        return DenoiseArgs(model=model, items=tuple(items), x=x, x_dtype=req.get("x").dtype)
    if op == "time_embedding":
        ts = _arg(req, "timesteps", "list")
        if not ts or not all((_is_int(t) or isinstance(t, float)) and math.isfinite(t) for t in ts):
            raise _fail_args(req, "`time_embedding` argument `timesteps` must be a non-empty list of finite numbers.")
        return TimeEmbeddingArgs(model=_arg(req, "model", "str"), timesteps=tuple(float(t) for t in ts))
    if op == "decode":
        model = _arg(req, "model", "str")
        return DecodeArgs(model=model, latents=_tensor_arg(req, "latents", ("float32",), 5))
    if op == "encode_media":
        model = _arg(req, "model", "str")
        sample = _arg(req, "sample", "bool", False)
        video = _tensor_arg(req, "video", ("uint8",), 4)
        if video.shape[-1] != 3:
            raise ProtocolError(
                BAD_SHAPE, f"Tensor `video` must be [F, H, W, 3], not {list(video.shape)}.", req.op, req.id
            )
        return EncodeMediaArgs(model=model, video=video, sample=sample)
    if op == "encode_video":
        fmt = _arg(req, "format", "str")
        if fmt not in VIDEO_FORMATS:
            raise _fail_args(req, f"`encode_video` argument `format` must be one of {', '.join(VIDEO_FORMATS)}, not {fmt!r}.")
        fps = _arg(req, "fps", "float", 16.0)
        if not 0 < fps <= 240:
            raise _fail_args(req, f"`encode_video` argument `fps` must be in (0, 240], not {fps}.")
        scale = _arg(req, "scale", "int", 1, minimum=1)
        if scale > 64:
            raise _fail_args(req, f"`encode_video` argument `scale` must be at most 64, not {scale}.")
        labels = _arg(req, "labels", "list", [])
        columns = _arg(req, "columns", "list", [])
        if not all(isinstance(x, str) for x in labels) or not all(_is_int(c) for c in columns):
            raise _fail_args(req, "`encode_video` arguments `labels` must be strings and `columns` ints.")
        video = _tensor_arg(req, "video", ("uint8",), 5 if fmt == "grid" else 4)
        if video.shape[-1] != 3 or 0 in video.shape:
            want = "[R, F, H, W, 3]" if fmt == "grid" else "[F, H, W, 3]"
            raise ProtocolError(BAD_SHAPE, f"Tensor `video` must be {want}, not {list(video.shape)}.", req.op, req.id)
        return EncodeVideoArgs(video=video, format=fmt, fps=fps, scale=scale, labels=tuple(labels),
                               title=_arg(req, "title", "str", ""), columns=tuple(int(c) for c in columns))
    if op == "read_media":
        names = _arg(req, "names", "list")
        if not names or not all(isinstance(n, str) for n in names):
            raise _fail_args(req, "`read_media` argument `names` must be a non-empty list of file names.")
        files = tuple(_tensor_arg(req, f"file{i}", ("uint8",), 1) for i in range(len(names)))
        return ReadMediaArgs(files=files, names=tuple(names), height=_arg(req, "height", "int", minimum=1),
                             width=_arg(req, "width", "int", minimum=1), num_frames=_arg(req, "num_frames", "int", minimum=1))
    if op == "release":
        handles = _arg(req, "handles", "list")
        if not all(isinstance(h, str) for h in handles):
            raise _fail_args(req, "`release` argument `handles` must be a list of strings.")
        return ReleaseArgs(handles=tuple(handles))
    return NoArgs()


# --------------------------------------------------------------------------------------------------------------
# Typed op results. Field names are the wire keys; ndarray fields travel as tensor frames named after the field.


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


@dataclass(frozen=True)
class SchedulerInfo:
    class_name: str
    config: dict


@dataclass(frozen=True)
class LatentInfo:
    channels: int
    spatial_scale: int
    temporal_scale: int


@dataclass(frozen=True)
class Defaults:
    height: int
    width: int
    num_frames: int
    guidance_scale: float
    num_inference_steps: int
    max_sequence_length: int | None = None
    fps: float = 16.0
    scheduler: str | None = None


@dataclass(frozen=True)
class Expert:
    name: str
    t_min: float
    t_max: float


@dataclass(frozen=True)
class Guidance:
    scale: float
    scale_2: float | None
    dynamic: bool


@dataclass(frozen=True)
class FrameRule:
    multiple: int
    plus: int


@dataclass(frozen=True)
class Geometry:
    patch: tuple[int, int, int]
    spatial_multiple: int
    frame_rule: FrameRule
    max_latent: tuple[int, int, int] | None
    fixed_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class SetTimesteps:
    sigmas: str | None
    mu: str | None


@dataclass(frozen=True)
class LoadResult:
    model: str
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
    wire_dtype: str = "float32"
    load_options: dict | None = None


@dataclass(frozen=True)
class EncodeImageResult:
    image: str


@dataclass(frozen=True)
class EncodePromptResult:
    cond: str
    tokens: int


@dataclass(frozen=True)
class PrepareLatentsResult:
    latents: np.ndarray


@dataclass(frozen=True)
class DenoiseResult:
    items: int
    out: np.ndarray


@dataclass(frozen=True)
class TimeEmbeddingResult:
    emb: np.ndarray


@dataclass(frozen=True)
class DecodeResult:
    video: np.ndarray


@dataclass(frozen=True)
class EncodeMediaResult:
    latents: np.ndarray


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
class ReadMediaResult:
    video: np.ndarray  # uint8 [F, H, W, 3]


@dataclass(frozen=True)
class ReleaseResult:
    released: int


@dataclass(frozen=True)
class StatsResult:
    messages: int
    denoise_requests: int
    denoise_items: int
    forwards: int
    errors: int
    models: int
    conds: int


@dataclass(frozen=True)
class Empty:
    pass


def echo_reply(req: Request) -> Reply:
    """`echo`: the request's tensors back, unchanged (bridge benchmarks and diagnostics)."""
    return Reply(op=req.op, id=req.id, ok=True, result={}, tensors=list(req.tensors))


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def reply_to(req_op: str, req_id: int, result) -> Reply:
    """An ok Reply from a typed result: ndarray fields become tensors, the rest the result map."""
    plain: dict[str, Any] = {}
    tensors: list[Tensor] = []
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, np.ndarray):
            tensors.append(tensor(f.name, value))
        elif isinstance(value, Tensor):
            tensors.append(Tensor(f.name, value.array, value.dtype))
        else:
            plain[f.name] = _plain(value)
    return Reply(op=req_op, id=req_id, ok=True, result=plain, tensors=tensors)


def hello_request(id: int, client: str = "python", protocols: Sequence[int] = (PROTOCOL_VERSION,)) -> Request:
    return Request(op="hello", id=id, args={"client": client, "protocols": list(protocols)})


def request(op: str, id: int, tensors: Sequence[Tensor] = (), v: int = PROTOCOL_VERSION, **args) -> Request:
    """A request for Python clients and tests: `request("denoise", 3, [tensor("x", x)], model=m, items=[...])`."""
    items = args.get("items")
    if items is not None:
        args["items"] = [dataclasses.asdict(i) if dataclasses.is_dataclass(i) else i for i in items]
    return Request(op=op, id=id, args={k: _plain(v_) for k, v_ in args.items()}, tensors=list(tensors), v=v)
