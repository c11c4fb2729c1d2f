"""Media files for the fuzzer's `read_media` requests: small real ones (PNG, GIF, MP4, made the same way every run) and
ones made to exceed a limit from their header alone (a PNG that claims a huge size, a GIF of many frames)."""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np


def _video(frames: int, h: int, w: int) -> np.ndarray:
    """A moving gradient: every frame differs from the one before (Pillow merges equal GIF frames)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([np.stack([(x * 30 + i * 40) % 256, (y * 30) % 256, np.full_like(x, i * 50 % 256)], -1) for i in range(frames)]).astype(np.uint8)


def _pil(video: np.ndarray, fmt: str, **kw) -> bytes:
    from PIL import Image

    images = [Image.fromarray(f, "RGB") for f in video]
    buf = io.BytesIO()
    images[0].save(buf, format=fmt, **({"save_all": True, "append_images": images[1:], **kw} if len(images) > 1 else kw))
    return buf.getvalue()


@functools.cache
def samples() -> dict[str, bytes]:
    """name -> bytes: a still PNG, an animated GIF and an H.264 MP4 (imageio-ffmpeg), a few pixels each."""
    from . import media

    return {"a.png": _pil(_video(1, 6, 8), "PNG"), "b.gif": _pil(_video(4, 8, 8), "GIF", duration=100, loop=0),
            "c.mp4": media.encode_mp4(_video(4, 8, 8), 8.0).data}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def big_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (8-bit RGB) and holds almost no pixels: it must be refused from the header."""
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b"")


@functools.cache
def many_frame_gif(frames: int) -> bytes:
    """An animated GIF of `frames` 1x1 frames, each unlike the one before."""
    return _pil(_video(frames, 1, 1), "GIF", duration=20, loop=0)
