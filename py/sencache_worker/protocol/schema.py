"""Op records <-> wire values. An op's arguments and its result are dataclasses whose field names are the wire
keys. An argument field says its kind with `arg(...)` or `tensor_arg(...)`; a result field holding an ndarray travels
as a tensor frame named after the field. `parse_record` checks a wire map into an argument record, `reply_to` turns a
result record into a reply.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .errors import BAD_ARGS, BAD_DTYPE, BAD_SHAPE, NON_FINITE, ProtocolError
from .messages import FLOAT_DTYPES, Reply, Request, Tensor, plain, tensor

__all__ = ["ListOf", "arg", "tensor_arg", "tensor_list_arg", "all_tensors_arg", "reply_to"]


@dataclass(frozen=True)
class ListOf:
    """An argument that is a list of `kind` (a scalar kind name or a record dataclass)."""

    kind: Any
    nonempty: bool = False


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


FLATTEN = {"flatten": True}  # a result field whose record's fields stand in the result map itself, in its place


def fail_args(req: Request, message: str) -> ProtocolError:
    return ProtocolError(BAD_ARGS, message, req.op, req.id)


def _value(req: Request, where: str, value: Any, kind) -> Any:
    """`value` checked against `kind` (ProtocolError bad_args when it does not fit), converted to its record."""
    if kind == "str":
        ok = type(value) is str
    elif kind == "float":
        ok = (type(value) is float or type(value) is int) and math.isfinite(value)
        value = float(value) if ok else value
    elif kind == "int":
        ok = type(value) is int
    elif kind == "bool":
        ok = type(value) is bool
    elif isinstance(kind, ListOf):
        if type(value) is not list:
            raise fail_args(req, f"`{req.op}` argument `{where}` must be a list, not {type(value).__name__}.")
        if kind.nonempty and not value:
            raise fail_args(req, f"`{req.op}` argument `{where}` must not be empty.")
        return tuple(_value(req, f"{where}[{i}]", v, kind.kind) for i, v in enumerate(value))
    elif dataclasses.is_dataclass(kind):
        if type(value) is not dict:
            raise fail_args(req, f"`{req.op}` argument `{where}` must be a map.")
        return parse_record(req, kind, value, f"{where}.")
    else:  # pragma: no cover
        raise AssertionError(kind)
    if not ok:
        raise fail_args(req, f"`{req.op}` argument `{where}` must be {_KIND_NAMES[kind]}, not {type(value).__name__}.")
    return value


class _Field(NamedTuple):
    """One argument field of a record, as `parse_record` reads it (from the dataclass field's metadata, once)."""

    name: str
    source: str  # "wire" (a key of the map), "tensor", "tensor_list" or "tensors" (all of the request's)
    kind: Any
    default: Any
    minimum: float | None
    maximum: float | None
    choices: tuple | None
    tensor: tuple


@functools.cache
def _plan(cls) -> tuple[_Field, ...]:
    fields = []
    for f in dataclasses.fields(cls):
        m = f.metadata
        if m.get("derived"):
            continue
        source = next((k for k in ("tensor", "tensor_list") if k in m), "tensors" if m.get("tensors") == "any" else "wire")
        fields.append(_Field(f.name, source, m.get("kind"), f.default, m.get("minimum"), m.get("maximum"),
                             m.get("choices"), m.get(source, ())))
    return tuple(fields)


def parse_record(req: Request, cls, values: dict, prefix: str = ""):
    """An instance of the argument dataclass `cls` from a map of wire values, each field checked."""
    out = {}
    for f in _plan(cls):
        if f.source != "wire":
            if f.source == "tensor":
                out[f.name] = _tensor_arg(req, f.name, req.get(f.name), *f.tensor)
            elif f.source == "tensor_list":
                name, dtypes, rank, per = f.tensor
                first: dict = {}  # each name's first tensor, in one pass (a req.get per file was quadratic in the files)
                for t in req.tensors:
                    first.setdefault(t.name, t)
                out[f.name] = tuple(_tensor_arg(req, f"{name}{i}", first.get(f"{name}{i}"), dtypes, rank) for i in range(len(out[per])))
            else:
                out[f.name] = tuple(req.tensors)
            continue
        value = values.get(f.name)
        if value is None:
            if f.default is dataclasses.MISSING:
                raise fail_args(req, f"`{req.op}` needs the argument `{prefix}{f.name}`.")
            out[f.name] = f.default
            continue
        value = _value(req, f"{prefix}{f.name}", value, f.kind)
        if f.minimum is not None and value < f.minimum:
            raise fail_args(req, f"`{req.op}` argument `{prefix}{f.name}` must be at least {f.minimum}, not {value}.")
        if f.maximum is not None and value > f.maximum:
            raise fail_args(req, f"`{req.op}` argument `{prefix}{f.name}` must be at most {f.maximum}, not {value}.")
        if f.choices is not None and value not in f.choices:
            raise fail_args(req, f"`{req.op}` argument `{prefix}{f.name}` must be one of {', '.join(f.choices)}, not {value!r}.")
        out[f.name] = value
    return cls(**out)


def _tensor_arg(req: Request, name: str, t: Tensor | None, dtypes: tuple[str, ...], rank: int | None) -> np.ndarray:
    if t is None:
        raise fail_args(req, f"`{req.op}` needs the tensor `{name}`.")
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


def reply_to(req_op: str, req_id: int, result) -> Reply:
    """An ok Reply from a typed result: ndarray fields become tensors, the rest the result map."""
    values: dict[str, Any] = {}
    tensors: list[Tensor] = []
    for name, any_tensors, flatten in _result_plan(type(result)):
        value = getattr(result, name)
        if any_tensors:
            tensors.extend(value)
        elif isinstance(value, np.ndarray):
            tensors.append(tensor(name, value))
        elif isinstance(value, Tensor):
            tensors.append(Tensor(name, value.array, value.dtype))
        elif flatten:
            values.update(plain(value))
        else:
            values[name] = plain(value)
    return Reply(op=req_op, id=req_id, ok=True, result=values, tensors=tensors)


@functools.cache
def _result_plan(cls) -> tuple[tuple[str, bool, bool], ...]:
    """(name, holds any tensors, flattened into the map) per field of a result dataclass, read once."""
    return tuple((f.name, f.metadata.get("tensors") == "any", bool(f.metadata.get("flatten"))) for f in dataclasses.fields(cls))
