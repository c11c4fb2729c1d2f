"""The loaded models and the handles the worker gives out for them (prompt conditions, conditioning images)."""

from __future__ import annotations

import os
from typing import Any

from . import protocol as P


class Models:
    """Loaded adapters and prompt-condition handles. Touched by the compute thread only (read by stats)."""

    def __init__(self, device):
        self.device = device
        self.session = os.urandom(3).hex()  # handles from another (or a dead) worker are never mistaken for ours
        self.adapters: dict[str, Any] = {}
        self.by_key: dict[tuple, str] = {}
        self.conds: dict[str, tuple[str, Any]] = {}
        self.images: dict[str, tuple[str, Any]] = {}  # image-to-video conditions (encode_image)
        self.serial = 0

    def _handle(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}{self.serial}.{self.session}"

    def model(self, handle: str):
        adapter = self.adapters.get(handle)
        if adapter is None:
            raise P.ProtocolError(P.UNKNOWN_MODEL, f"No loaded model has handle {handle!r}; call load first.")
        return adapter

    def cond(self, model: str, handle: str):
        return self._owned(self.conds, "Condition", model, handle, "encode the prompt again")

    def image(self, model: str, handle: str | None):
        if handle is None:
            return None
        return self._owned(self.images, "Image", model, handle, "send the image with encode_image again")

    @staticmethod
    def _owned(table: dict, kind: str, model: str, handle: str, again: str):
        entry = table.get(handle)
        if entry is None:
            raise P.ProtocolError(P.UNKNOWN_HANDLE, f"{kind} handle {handle!r} is not known here; {again}.")
        if entry[0] != model:
            raise P.ProtocolError(P.UNKNOWN_HANDLE, f"{kind} handle {handle!r} belongs to another model; encode it with {model}.")
        return entry[1]
