"""Model-family adapters and the registry that picks one for a pipeline.

Families: wan.py (Wan 2.1 / 2.2, T2V and I2V), cogvideox.py (CogVideoX 1.0 / 1.5, T2V and I2V), ltx.py (LTX-Video,
T2V and I2V). To add a family: write `adapters/<family>.py` with a subclass of `Adapter` (see
base.py for the contract and wan.py for a complete example), list the diffusers pipeline classes it serves in
`pipeline_classes`, and add it to `ADAPTERS` below. Nothing else in the worker changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..protocol import BAD_ARGS, LOAD_FAILED, UNKNOWN_MODEL, ProtocolError
from .base import TORCH_DTYPES, Adapter, ModelInfo
from .cogvideox import CogVideoXAdapter
from .ltx import LTXVideoAdapter
from .wan import WanAdapter

# family name -> adapter class.
ADAPTERS: dict[str, type[Adapter]] = {a.family: a for a in (WanAdapter, CogVideoXAdapter, LTXVideoAdapter)}
BY_PIPELINE: dict[str, type[Adapter]] = {cls_name: a for a in ADAPTERS.values() for cls_name in a.pipeline_classes}

__all__ = ["ADAPTERS", "BY_PIPELINE", "Adapter", "ModelInfo", "TORCH_DTYPES", "load", "pipeline_class_of"]


def _supported() -> str:
    return ", ".join(f"{name} ({a.family})" for name, a in sorted(BY_PIPELINE.items()))


def _looks_like_path(source: str) -> bool:
    """Hub ids are `name` or `org/name`; anything else that is not an existing folder is a missing path."""
    return source.startswith(("/", ".", "~")) or source.count("/") > 1 or "\\" in source


def pipeline_class_of(source: str) -> str:
    """The `_class_name` in a pipeline's model_index.json, from a local folder or the local hub cache (offline)."""
    path = Path(source).expanduser()
    if path.is_dir():
        index = path / "model_index.json"
        if not index.is_file():
            raise ProtocolError(
                LOAD_FAILED, f"{source} has no model_index.json; point `source` at a diffusers pipeline folder."
            )
        try:
            config = json.loads(index.read_text())
        except (OSError, ValueError) as e:
            raise ProtocolError(LOAD_FAILED, f"{index} cannot be read as JSON ({e}); re-save the pipeline.") from None
    elif path.exists() or _looks_like_path(source):
        raise ProtocolError(UNKNOWN_MODEL, f"No pipeline folder at {source}; pass an existing folder or a model id.")
    else:
        from diffusers import DiffusionPipeline

        try:
            config = DiffusionPipeline.load_config(source)
        except Exception:
            raise ProtocolError(
                UNKNOWN_MODEL,
                f"Model {source!r} is not in the local Hugging Face cache and this worker never downloads; "
                "download it first or pass a local folder.",
            ) from None
    name = config.get("_class_name") if isinstance(config, dict) else None
    if not isinstance(name, str):
        raise ProtocolError(LOAD_FAILED, f"{source} does not name a pipeline class in model_index.json.")
    return name


def load(source: str, device: torch.device, dtype: str, family: str | None) -> Adapter:
    pipeline_class = pipeline_class_of(source)
    if family is not None:
        if family not in ADAPTERS:
            raise ProtocolError(BAD_ARGS, f"Unknown family {family!r}; use one of {', '.join(ADAPTERS)}.")
        adapter = ADAPTERS[family]
    else:
        adapter = BY_PIPELINE.get(pipeline_class)
        if adapter is None:
            raise ProtocolError(
                LOAD_FAILED, f"Pipeline class {pipeline_class} is not supported; supported: {_supported()}."
            )
    try:
        return adapter.load(source, device, TORCH_DTYPES[dtype])
    except ProtocolError:
        raise
    except Exception as e:
        last = (str(e).strip().splitlines() or [type(e).__name__])[-1]
        raise ProtocolError(LOAD_FAILED, f"Loading {source} as {pipeline_class} failed: {last}") from e
