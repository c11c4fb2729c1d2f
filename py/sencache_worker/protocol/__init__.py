"""Wire protocol v1 (proto/SPEC.md): the only Python package that knows wire keys, and its one public face.

A message is a msgpack header frame followed by raw little-endian tensor frames. The package turns frames into
typed `Request`s / `Reply`s and back, validates every descriptor before touching tensor bytes, and parses each
op's arguments into a small typed record so the rest of the worker never sees a key. Import it as
`from . import protocol as P`; every name below is `P.<name>`. Its rooms:

- `errors`: the error codes and `ProtocolError`;
- `messages`: `Request`, `Reply`, `Tensor` and the wire dtypes;
- `frames`: frames <-> messages (`decode_request`, `encode_reply`, …) and the size limits of a message;
- `schema`: how an argument or result record maps onto wire values (`arg`, `tensor_arg`, `reply_to`);
- `args`, `results`: the argument and result record of each op;
- `ops`: the op table `OPS`, `parse_args` and `describe`.
"""

from __future__ import annotations

from . import args, errors, frames, messages, ops, results, schema
from .args import *  # noqa: F403
from .errors import *  # noqa: F403
from .frames import *  # noqa: F403
from .messages import *  # noqa: F403
from .ops import *  # noqa: F403
from .results import *  # noqa: F403
from .schema import *  # noqa: F403

__all__ = errors.__all__ + messages.__all__ + frames.__all__ + schema.__all__ + args.__all__ + results.__all__ + ops.__all__
