"""A request on its way to the compute thread, and the mark of a handler that serves several at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import protocol as P


@dataclass
class Job:
    identity: bytes
    req: P.Request
    args: Any


def grouped(handler):
    """Marks an op handler that serves a job together with waiting jobs it can share work with (denoise: one forward
    for several requests): called as `handler(push, first, pending)`, it takes what it serves out of `pending` and
    sends every reply itself."""
    handler.grouped = True
    return handler
