"""What a message holds: requests and replies, their tensors and the wire dtypes, as Python values.

A `Request` / `Reply` is the decoded form of a message (`frames.py` turns frames into them and back); `request`
and `hello_request` build requests for Python clients and tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

import numpy as np

from .errors import ProtocolError

__all__ = [
    "PROTOCOL_VERSION", "SUPPORTED_VERSIONS", "DTYPES", "FLOAT_DTYPES", "Tensor", "tensor", "Request", "Reply",
    "error_reply", "hello_request", "request",
]


PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = (1,)

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


class Tensor(NamedTuple):
    name: str
    array: np.ndarray
    dtype: str  # the wire dtype name (bfloat16 arrays are uint16 bit patterns)


# numpy dtype -> wire name, for arrays sent without one (a uint16 array is uint16 bit patterns only when named so).
_WIRE_NAMES = {np_dtype: name for name, np_dtype in DTYPES.items() if name != "bfloat16"}


def tensor(name: str, array: np.ndarray, dtype: str | None = None) -> Tensor:
    """A tensor to send; the wire dtype is inferred from the array unless given (pass "bfloat16" for bit patterns)."""
    if dtype is None:
        dtype = _wire_dtype(array.dtype)
    return Tensor(name, array, dtype)


def _wire_dtype(dt) -> str:
    name = _WIRE_NAMES.get(np.dtype(dt).newbyteorder("<"))
    if name is not None:
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


def error_reply(err: ProtocolError, op: str | None = None, id: int | None = None) -> Reply:
    return Reply(op=op if op is not None else err.op, id=id if id is not None else err.id, ok=False, error=err)


def is_int(x) -> bool:
    """An int of the wire (msgpack's booleans are not ints)."""
    return isinstance(x, int) and not isinstance(x, bool)


def plain(value):
    """`value` as msgpack carries it: records become maps, tuples lists, numpy scalars Python numbers."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def hello_request(id: int, client: str = "python", protocols: Sequence[int] = (PROTOCOL_VERSION,)) -> Request:
    return Request(op="hello", id=id, args={"client": client, "protocols": list(protocols)})


def request(op: str, id: int, tensors: Sequence[Tensor] = (), v: int = PROTOCOL_VERSION, **args) -> Request:
    """A request for Python clients and tests: `request("denoise", 3, [tensor("x", x)], model=m, items=[...])`."""
    return Request(op=op, id=id, args={k: plain(v_) for k, v_ in args.items()}, tensors=list(tensors), v=v)
