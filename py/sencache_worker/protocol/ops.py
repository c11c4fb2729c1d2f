"""The op table: every wire op, its argument and result records, and the thread that answers it.

Parsing (`parse_args`), the `ops` op's description of each op (`describe`) and the server's dispatch follow `OPS`.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .args import (
    DecodeArgs, DenoiseArgs, EchoArgs, EncodeImageArgs, EncodeMediaArgs, EncodePromptArgs, EncodeVideoArgs, HelloArgs,
    LoadArgs, NoArgs, PrepareLatentsArgs, ReadMediaArgs, ReleaseArgs, TimeEmbeddingArgs, check_denoise,
    check_encode_image, check_encode_media, check_encode_video,
)
from .messages import Request
from .results import (
    DecodeResult, DenoiseResult, EchoResult, Empty, EncodeImageResult, EncodeMediaResult, EncodePromptResult,
    EncodeVideoResult, HelloResult, LoadResult, OpDescription, OpsResult, PrepareLatentsResult, ReadMediaResult,
    ReleaseResult, StatsResult, TimeEmbeddingResult,
)
from .schema import ListOf, parse_record

__all__ = ["OpSpec", "OPS", "describe", "parse_args"]


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
    OpSpec("encode_image", EncodeImageArgs, EncodeImageResult, check=check_encode_image),
    OpSpec("prepare_latents", PrepareLatentsArgs, PrepareLatentsResult),
    OpSpec("denoise", DenoiseArgs, DenoiseResult, check=check_denoise),
    OpSpec("time_embedding", TimeEmbeddingArgs, TimeEmbeddingResult),
    OpSpec("decode", DecodeArgs, DecodeResult),
    OpSpec("encode_media", EncodeMediaArgs, EncodeMediaResult, check=check_encode_media),
    OpSpec("encode_video", EncodeVideoArgs, EncodeVideoResult, check=check_encode_video),
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
    args = parse_record(req, spec.args, req.args)
    if spec.check is not None:
        args = spec.check(req, args) or args
    return args
