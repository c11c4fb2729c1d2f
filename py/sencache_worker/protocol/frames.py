"""Frames <-> messages: the msgpack header frame and the raw little-endian tensor frames of one message.

Every descriptor is validated (dtype, shape, byte count, the message's size limit) before a tensor byte is touched;
a failure is a `ProtocolError` with the code the SPEC gives it.
"""

from __future__ import annotations

from typing import Any, Sequence

import msgpack
import numpy as np
import zmq

from .errors import BAD_DTYPE, BAD_MESSAGE, BAD_SHAPE, ERROR_CODES, INTERNAL, TOO_LARGE, UNKNOWN_OP, UNSUPPORTED_VERSION
from .errors import ProtocolError
from .messages import DTYPES, SUPPORTED_VERSIONS, Reply, Request, Tensor, is_int
from .ops import OPS

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES", "MAX_DIMS", "MAX_HEADER_BYTES", "MAX_HEADER_DEPTH", "MAX_SHAPE_PRODUCT",
    "SMALL_FRAME_BYTES", "encode_request", "encode_reply", "decode_request", "decode_reply", "header_of",
]


DEFAULT_MAX_MESSAGE_BYTES = 1 << 30
MAX_DIMS = 8
# The header frame is small (a few hundred bytes for the largest request); a larger one is refused.
MAX_HEADER_BYTES = 1 << 20
MAX_HEADER_DEPTH = 32
# A shape's dims, zeros counted as 1, multiply to at most this (so a zero-element tensor cannot ask for 10^30 rows).
MAX_SHAPE_PRODUCT = 1 << 48
# Frames below this size may be packed at odd offsets by libzmq: copying them is cheaper than worrying.
SMALL_FRAME_BYTES = 8192


def _pack(header: dict) -> bytes:
    return msgpack.packb(header, use_bin_type=True)


def _descriptors(tensors: Sequence[Tensor]) -> tuple[list[dict], list]:
    descs, frames = [], []
    for t in tensors:
        if t.dtype not in DTYPES:
            raise ValueError(f"unknown wire dtype {t.dtype!r}")
        arr = np.asarray(t.array, dtype=DTYPES[t.dtype], order="C")
        descs.append({"name": t.name, "dtype": t.dtype, "shape": list(arr.shape)})  # numpy's dims are Python ints
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

def _buffer(frame) -> memoryview:
    """The bytes of a frame (a zmq.Frame, bytes or any buffer) as a flat memoryview of bytes."""
    kind = type(frame)
    if kind is zmq.Frame:
        return frame.buffer  # a flat memoryview of bytes
    if kind is bytes:
        return memoryview(frame)
    buf = getattr(frame, "buffer", frame)
    mv = buf if type(buf) is memoryview else memoryview(buf)
    return mv if mv.ndim == 1 and mv.format == "B" else mv.cast("B")


def _no_ext(code: int, data: bytes):
    raise ValueError(f"msgpack extension type {code}")


_PLAIN_SCALARS = frozenset({type(None), bool, int, float, str, bytes})


def _is_plain(value) -> bool:
    """Plain msgpack only: nil, bool, int, float, str, bin, arrays and str-keyed maps, nested at most 32 deep.

    msgpack gives exactly these types (an extension would be some other type: msgpack.Timestamp, ...), so the
    walk compares types, not isinstance; it is iterative, so no header can exhaust the Python stack.
    """
    if type(value) in _PLAIN_SCALARS:
        return True
    todo = [(value, 0)]
    while todo:
        container, depth = todo.pop()
        kind = type(container)
        if kind is dict:
            if container and depth >= MAX_HEADER_DEPTH:
                return False  # its members would sit deeper than 32
            for k, v in container.items():
                if type(k) is not str:
                    return False
                if type(v) not in _PLAIN_SCALARS:
                    todo.append((v, depth + 1))
        elif kind is list:
            if container and depth >= MAX_HEADER_DEPTH:
                return False
            for v in container:
                if type(v) not in _PLAIN_SCALARS:
                    todo.append((v, depth + 1))
        else:
            return False
    return True


def _header(frame) -> dict:
    buf = _buffer(frame)
    if buf.nbytes > MAX_HEADER_BYTES:
        raise ProtocolError(
            TOO_LARGE, f"The header frame has {buf.nbytes} bytes, more than the limit of {MAX_HEADER_BYTES}; "
            "send tensors as frames, not inside the header."
        )
    try:
        header = msgpack.unpackb(buf, raw=False, strict_map_key=True, ext_hook=_no_ext, timestamp=0)
    except Exception:
        raise ProtocolError(BAD_MESSAGE, "The header frame is not plain msgpack; send a msgpack map (no extension types) as frame 0.") from None
    if not _is_plain(header):
        raise ProtocolError(BAD_MESSAGE, "The header holds msgpack extension types or nests deeper than 32; send plain msgpack.")
    if not isinstance(header, dict):
        raise ProtocolError(BAD_MESSAGE, "The header frame is not a msgpack map; send a map with v, op and id.")
    return header


def _envelope(header: dict, want_ops: bool) -> tuple[str, int]:
    op, mid = header.get("op"), header.get("id")
    op_known = op if isinstance(op, str) else "unknown"
    id_known = mid if is_int(mid) and mid >= 0 else 0
    v = header.get("v")
    if not is_int(v):
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
    if not is_int(mid) or mid < 0:
        raise ProtocolError(BAD_MESSAGE, "The header has no non-negative integer `id`; number each request.", op, 0)
    if want_ops and mid == 0:
        raise ProtocolError(BAD_MESSAGE, "Request id 0 is reserved for messages nobody asked for; number requests from 1.", op, 0)
    if want_ops and op not in OPS:
        raise ProtocolError(UNKNOWN_OP, f"Unknown op {op!r}; use one of {', '.join(OPS)}.", op, mid)
    return op, mid


def _tensors(header: dict, frames: Sequence, max_message_bytes: int, op: str, mid: int) -> list[Tensor]:
    descs = header.get("tensors")
    if descs is None:
        descs = ()
    elif type(descs) is not list:
        raise ProtocolError(BAD_MESSAGE, "`tensors` must be an array of descriptors.", op, mid)
    if len(frames) != len(descs):
        raise ProtocolError(
            BAD_MESSAGE,
            f"The header describes {len(descs)} tensors but {len(frames)} tensor frames arrived; send one frame per descriptor.",
            op,
            mid,
        )
    if not descs:
        return []
    bufs = [_buffer(f) for f in frames]
    total = sum([b.nbytes for b in bufs])
    if total > max_message_bytes:
        raise ProtocolError(
            TOO_LARGE,
            f"The message carries {total} tensor bytes, more than this worker's limit of {max_message_bytes}; send smaller batches.",
            op,
            mid,
        )
    declared = 0
    checked = []
    for i, d in enumerate(descs):
        if type(d) is not dict or type(name := d.get("name")) is not str:
            raise ProtocolError(BAD_MESSAGE, f"Tensor descriptor {i} is not a map with a string name.", op, mid)
        dtype, shape = d.get("dtype"), d.get("shape")
        npd = DTYPES.get(dtype) if type(dtype) is str else None
        if npd is None:
            raise ProtocolError(
                BAD_DTYPE, f"Tensor {name!r} has dtype {dtype!r}; use one of {', '.join(DTYPES)}.", op, mid
            )
        elements = _elements(shape)
        if elements is None:
            raise ProtocolError(
                BAD_SHAPE,
                f"Tensor {name!r} has shape {str(shape)[:80]}; a shape is a list of at most {MAX_DIMS} non-negative ints "
                f"whose product (zeros counted as 1) is at most 2^48.",
                op,
                mid,
            )
        nbytes = elements * npd.itemsize
        declared += nbytes
        if declared > max_message_bytes:
            raise ProtocolError(
                TOO_LARGE,
                f"The tensors declare more than this worker's limit of {max_message_bytes} bytes; send smaller batches.",
                op,
                mid,
            )
        buf = bufs[i]
        if buf.nbytes != nbytes:
            raise ProtocolError(
                BAD_MESSAGE,
                f"Tensor {name!r} frame holds {buf.nbytes} bytes but {dtype} {shape} needs {nbytes}.",
                op,
                mid,
            )
        checked.append((name, dtype, npd, shape, nbytes))
    # Every descriptor is checked before any array is made.
    out = []
    for (name, dtype, npd, shape, nbytes), buf in zip(checked, bufs):
        if nbytes == 0:
            arr = np.zeros(shape, dtype=npd)
        else:
            arr = np.frombuffer(buf, dtype=npd)
            if nbytes <= SMALL_FRAME_BYTES or not arr.flags.aligned:
                arr = arr.copy()
            if len(shape) != 1:  # a 1-d shape is frombuffer's own
                arr = arr.reshape(shape)
        out.append(Tensor(name, arr, dtype))
    return out


def _elements(shape) -> int | None:
    """The element count of a wire shape, or None when it is not a valid one (see _tensors)."""
    if type(shape) is not list or len(shape) > MAX_DIMS:
        return None
    elements = bound = 1
    for s in shape:
        if type(s) is not int or s < 0:
            return None
        elements *= s
        if s > 1:
            bound *= s
    return elements if bound <= MAX_SHAPE_PRODUCT else None


def decode_request(frames: Sequence, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Request:
    """Frames (header first, routing identity already removed) -> Request, or ProtocolError."""
    if not frames:
        raise ProtocolError(BAD_MESSAGE, "The message has no header frame; send a msgpack header first.")
    header = _header(frames[0])
    op, mid, v = header.get("op"), header.get("id"), header.get("v")
    # The common case in one test; anything else goes through _envelope, which says what is wrong.
    if type(v) is not int or v not in SUPPORTED_VERSIONS or type(mid) is not int or mid <= 0 or type(op) is not str or op not in OPS:
        op, mid = _envelope(header, want_ops=True)
    args = header.get("args")
    if args is None:
        args = {}
    elif type(args) is not dict:
        raise ProtocolError(BAD_MESSAGE, "`args` must be a map.", op, mid)
    tensors = _tensors(header, frames[1:], max_message_bytes, op, mid) if len(frames) > 1 or "tensors" in header else []
    return Request(op=op, id=mid, args=args, tensors=tensors, v=v)


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
