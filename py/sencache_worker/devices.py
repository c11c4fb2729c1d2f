"""--device: which torch device the worker computes on."""

from __future__ import annotations

import argparse


def device_arg(value: str) -> str:
    """argparse type of --device: auto, cpu, cuda or cuda:N."""
    if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise argparse.ArgumentTypeError(f"use auto, cpu, cuda or cuda:N (e.g. cuda:1), not {value!r}")


def resolve_device(want: str, torch):
    """The torch device for --device: auto picks cuda:0 when there is one; cuda:N must exist."""
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"--device {want} was asked for but torch sees no CUDA device; use --device cpu or auto")
    index = 0 if want == "cuda" else int(want[5:])
    count = torch.cuda.device_count()
    if index >= count:
        raise RuntimeError(f"--device {want} was asked for but torch sees {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    return torch.device(f"cuda:{index}")
