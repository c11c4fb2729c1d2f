"""Wire protocol v1 (proto/SPEC.md): the only Python file that knows wire keys.

A message is a msgpack header frame followed by raw little-endian tensor frames. This module turns frames into
typed `Request`s / `Reply`s and back, validates every descriptor before touching tensor bytes, and parses each
op's arguments into a small typed record so the rest of the package never sees a key.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Sequence

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


class _Tensors:
    tensors: list[Tensor]

    def get(self, name: str) -> Tensor | None:
        """The tensor called `name`, or None."""
        return next((t for t in self.tensors if t.name == name), None)


@dataclass
class Request(_Tensors):
    op: str
    id: int
    args: dict[str, Any] = field(default_factory=dict)
    tensors: list[Tensor] = field(default_factory=list)
    v: int = PROTOCOL_VERSION


@dataclass
class Reply(_Tensors):
    op: str
    id: int
    ok: bool = True
    result: dict[str, Any] = field(default_factory=dict)
    error: ProtocolError | None = None
    tensors: list[Tensor] = field(default_factory=list)
    v: int = PROTOCOL_VERSION


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
# Op schemas. An op's arguments and its result are dataclasses whose field names are the wire keys. An argument
# field says its kind with `arg(...)` or `tensor_arg(...)`; a result field holding an ndarray travels as a tensor
# frame named after the field. `OPS` below lists every op; parsing, replies and the server's dispatch follow it.


@dataclass(frozen=True)
class ListOf:
    """An argument that is a list of `kind` (a scalar kind name or a record dataclass)."""

    kind: Any
    nonempty: bool = False


MODEL_DTYPES = ("float32", "float16", "bfloat16")
_KIND_NAMES = {"str": "a string", "int": "an int", "float": "a finite number", "bool": "a boolean"}


def arg(kind, default: Any = dataclasses.MISSING, *, minimum: float | None = None, maximum: float | None = None,
        choices: tuple | None = None):
    """An argument field: `kind` is "str", "int", "float", "bool", a `ListOf`, or a record dataclass (a map);
    `minimum` / `maximum` bound a number (inclusive), `choices` lists the values allowed."""
    meta = {"kind": kind, "minimum": minimum, "maximum": maximum, "choices": choices}
    return field(default=default, metadata=meta)


def tensor_arg(dtypes: tuple[str, ...], rank: int | None):
    """A tensor of the request with one of `dtypes` and `rank` dims (None: the op's check decides; float tensors
    must be finite)."""
    return field(metadata={"tensor": (dtypes, rank)})


def tensor_list_arg(prefix: str, dtypes: tuple[str, ...], rank: int | None, per: str):
    """Tensors `<prefix>0`, `<prefix>1`, … of the request, one per item of the list argument `per` (declared before)."""
    return field(default=(), metadata={"tensor_list": (prefix, dtypes, rank, per)})


def all_tensors_arg():
    """Every tensor of the request as it came, whatever its name and dtype (`echo`)."""
    return field(default=(), metadata={"tensors": "any"})


ANY_TENSORS = {"tensors": "any"}  # a result field holding a list of Tensor, sent as they are


DERIVED = {"derived": True}  # an argument field the op's check fills in from the request (not a wire key)


def _fail_args(req: Request, message: str) -> ProtocolError:
    return ProtocolError(BAD_ARGS, message, req.op, req.id)


def _value(req: Request, where: str, value: Any, kind) -> Any:
    """`value` checked against `kind` (ProtocolError bad_args when it does not fit), converted to its record."""
    if isinstance(kind, ListOf):
        if not isinstance(value, list):
            raise _fail_args(req, f"`{req.op}` argument `{where}` must be a list, not {type(value).__name__}.")
        if kind.nonempty and not value:
            raise _fail_args(req, f"`{req.op}` argument `{where}` must not be empty.")
        return tuple(_value(req, f"{where}[{i}]", v, kind.kind) for i, v in enumerate(value))
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise _fail_args(req, f"`{req.op}` argument `{where}` must be a map.")
        return _record(req, kind, value, f"{where}.")
    if kind == "str":
        ok = isinstance(value, str)
    elif kind == "int":
        ok = _is_int(value)
    elif kind == "float":
        ok = (_is_int(value) or isinstance(value, float)) and math.isfinite(value)
        value = float(value) if ok else value
    elif kind == "bool":
        ok = isinstance(value, bool)
    else:  # pragma: no cover
        raise AssertionError(kind)
    if not ok:
        raise _fail_args(req, f"`{req.op}` argument `{where}` must be {_KIND_NAMES[kind]}, not {type(value).__name__}.")
    return value


def _record(req: Request, cls, values: dict, prefix: str = ""):
    """An instance of the argument dataclass `cls` from a map of wire values, each field checked."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("derived"):
            continue
        if "tensor" in f.metadata:
            out[f.name] = _tensor_arg(req, f.name, *f.metadata["tensor"])
            continue
        if "tensor_list" in f.metadata:
            name, dtypes, rank, per = f.metadata["tensor_list"]
            out[f.name] = tuple(_tensor_arg(req, f"{name}{i}", dtypes, rank) for i in range(len(out[per])))
            continue
        if f.metadata.get("tensors") == "any":
            out[f.name] = tuple(req.tensors)
            continue
        where = f"{prefix}{f.name}"
        value = values.get(f.name)
        if value is None:
            if f.default is dataclasses.MISSING:
                raise _fail_args(req, f"`{req.op}` needs the argument `{where}`.")
            out[f.name] = f.default
            continue
        value = _value(req, where, value, f.metadata["kind"])
        minimum, maximum, choices = f.metadata.get("minimum"), f.metadata.get("maximum"), f.metadata.get("choices")
        if minimum is not None and value < minimum:
            raise _fail_args(req, f"`{req.op}` argument `{where}` must be at least {minimum}, not {value}.")
        if maximum is not None and value > maximum:
            raise _fail_args(req, f"`{req.op}` argument `{where}` must be at most {maximum}, not {value}.")
        if choices is not None and value not in choices:
            raise _fail_args(req, f"`{req.op}` argument `{where}` must be one of {', '.join(choices)}, not {value!r}.")
        out[f.name] = value
    return cls(**out)


def _tensor_arg(req: Request, name: str, dtypes: tuple[str, ...], rank: int | None) -> np.ndarray:
    t = req.get(name)
    if t is None:
        raise _fail_args(req, f"`{req.op}` needs the tensor `{name}`.")
    if t.dtype not in dtypes:
        raise ProtocolError(
            BAD_DTYPE, f"Tensor `{name}` of `{req.op}` must be {' or '.join(dtypes)}, not {t.dtype}.", req.op, req.id
        )
    if rank is not None and t.array.ndim != rank:
        raise ProtocolError(
            BAD_SHAPE,
            f"Tensor `{name}` of `{req.op}` must have {rank} dims, not shape {list(t.array.shape)}.",
            req.op,
            req.id,
        )
    if t.dtype in FLOAT_DTYPES and t.dtype != "bfloat16" and not np.isfinite(t.array).all():
        raise ProtocolError(NON_FINITE, f"Tensor `{name}` holds NaN or Inf; send finite values.", req.op, req.id)
    return t.array


# -- arguments


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


def _check_encode_image(req: Request, a: EncodeImageArgs) -> None:
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


def _check_denoise(req: Request, a: DenoiseArgs) -> DenoiseArgs:
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


def _check_encode_media(req: Request, a: EncodeMediaArgs) -> None:
    if a.video.shape[-1] != 3:
        raise ProtocolError(BAD_SHAPE, f"Tensor `video` must be [F, H, W, 3], not {list(a.video.shape)}.", req.op, req.id)


VIDEO_FORMATS = ("mp4", "gif", "png", "grid")


@dataclass(frozen=True)
class EncodeVideoArgs:
    video: np.ndarray = tensor_arg(("uint8",), None)
    format: str = arg("str", choices=VIDEO_FORMATS)
    fps: float = arg("float", 16.0, maximum=240)
    scale: int = arg("int", 1, minimum=1, maximum=64)
    labels: tuple[str, ...] = arg(ListOf("str"), ())
    title: str = arg("str", "")
    columns: tuple[int, ...] = arg(ListOf("int"), ())


def _check_encode_video(req: Request, a: EncodeVideoArgs) -> None:
    if not a.fps > 0:
        raise _fail_args(req, f"`encode_video` argument `fps` must be in (0, 240], not {a.fps}.")
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


# -- results


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


FLATTEN = {"flatten": True}  # a result field whose record's fields stand in the result map itself, in its place


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


# --------------------------------------------------------------------------------------------------------------
# The op table


@dataclass(frozen=True)
class OpSpec:
    """One wire op: its arguments and result records (the tensors it takes are argument fields too), whether the
    I/O thread answers it (`inline`: also during a long forward) or the compute thread does, and an optional check
    across its arguments. ts/worker/ops.ts has the same table for the client."""

    name: str
    args: type = NoArgs
    result: type = Empty
    inline: bool = False
    # Checks across the arguments; it may return the arguments with derived fields filled in.
    check: Callable[[Request, Any], Any] | None = None


OPS: dict[str, OpSpec] = {s.name: s for s in (
    OpSpec("hello", HelloArgs, HelloResult, inline=True),
    OpSpec("ping", inline=True),
    OpSpec("load", LoadArgs, LoadResult),
    OpSpec("encode_prompt", EncodePromptArgs, EncodePromptResult),
    OpSpec("encode_image", EncodeImageArgs, EncodeImageResult, check=_check_encode_image),
    OpSpec("prepare_latents", PrepareLatentsArgs, PrepareLatentsResult),
    OpSpec("denoise", DenoiseArgs, DenoiseResult, check=_check_denoise),
    OpSpec("time_embedding", TimeEmbeddingArgs, TimeEmbeddingResult),
    OpSpec("decode", DecodeArgs, DecodeResult),
    OpSpec("encode_media", EncodeMediaArgs, EncodeMediaResult, check=_check_encode_media),
    OpSpec("encode_video", EncodeVideoArgs, EncodeVideoResult, check=_check_encode_video),
    OpSpec("read_media", ReadMediaArgs, ReadMediaResult),
    OpSpec("release", ReleaseArgs, ReleaseResult),
    OpSpec("echo", EchoArgs, EchoResult, inline=True),
    OpSpec("stats", result=StatsResult, inline=True),
    OpSpec("ops", result=OpsResult, inline=True),
    OpSpec("shutdown", inline=True),
)}


def _kind_text(kind) -> str:
    if isinstance(kind, ListOf):
        return f"[{_kind_text(kind.kind)}]"
    if dataclasses.is_dataclass(kind):
        return "{" + ", ".join(f"{f.name}: {_arg_text(f)}" for f in dataclasses.fields(kind)) + "}"
    return kind


def _arg_text(f: dataclasses.Field) -> str:
    return _kind_text(f.metadata["kind"]) + ("" if f.default is dataclasses.MISSING else "?")  # ?: may be left out


def describe(spec: OpSpec) -> OpDescription:
    """What `ops` says of one op: its arguments (wire key -> kind), tensors in (name -> dtypes; `file*` for
    file0, file1, …, `*` for any), result fields, tensors out (names; `*` for any)."""
    args, tensors_in = {}, {}
    for f in dataclasses.fields(spec.args):
        if "tensor" in f.metadata:
            tensors_in[f.name] = list(f.metadata["tensor"][0])
        elif "tensor_list" in f.metadata:
            tensors_in[f"{f.metadata['tensor_list'][0]}*"] = list(f.metadata["tensor_list"][1])
        elif f.metadata.get("tensors") == "any":
            tensors_in["*"] = []
        elif not f.metadata.get("derived"):
            args[f.name] = _arg_text(f)
    result, tensors_out = [], []
    for f, hint in _result_fields(spec.result):
        if "tensors" in f.metadata:
            tensors_out.append("*")
        else:
            (tensors_out if hint is np.ndarray else result).append(f.name)
    return OpDescription(spec.name, spec.inline, args, tensors_in, tuple(result), tuple(tensors_out))


def _result_fields(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    """(field, type) of a result record as the reply map has them: a FLATTEN field's record in its place."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        out.extend(_result_fields(hints[f.name]) if f.metadata.get("flatten") else [(f, hints[f.name])])
    return out


def parse_args(req: Request):
    """The typed arguments of a request, or ProtocolError (bad_args, bad_dtype, bad_shape, non_finite)."""
    spec = OPS[req.op]
    args = _record(req, spec.args, req.args)
    if spec.check is not None:
        args = spec.check(req, args) or args
    return args


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
        if f.metadata.get("tensors") == "any":
            tensors.extend(value)
        elif isinstance(value, np.ndarray):
            tensors.append(tensor(f.name, value))
        elif isinstance(value, Tensor):
            tensors.append(Tensor(f.name, value.array, value.dtype))
        elif f.metadata.get("flatten"):
            plain.update(_plain(value))
        else:
            plain[f.name] = _plain(value)
    return Reply(op=req_op, id=req_id, ok=True, result=plain, tensors=tensors)


def hello_request(id: int, client: str = "python", protocols: Sequence[int] = (PROTOCOL_VERSION,)) -> Request:
    return Request(op="hello", id=id, args={"client": client, "protocols": list(protocols)})


def request(op: str, id: int, tensors: Sequence[Tensor] = (), v: int = PROTOCOL_VERSION, **args) -> Request:
    """A request for Python clients and tests: `request("denoise", 3, [tensor("x", x)], model=m, items=[...])`."""
    return Request(op=op, id=id, args={k: _plain(v_) for k, v_ in args.items()}, tensors=list(tensors), v=v)
