"""The wire's error codes (proto/SPEC.md "Errors") and the exception that becomes an error reply."""

from __future__ import annotations

__all__ = [
    "BAD_MESSAGE", "UNSUPPORTED_VERSION", "UNKNOWN_OP", "BAD_ARGS", "BAD_DTYPE", "BAD_SHAPE", "NON_FINITE", "TOO_LARGE",
    "UNKNOWN_MODEL", "UNKNOWN_HANDLE", "LOAD_FAILED", "INTERNAL", "ERROR_CODES", "ProtocolError",
]


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
