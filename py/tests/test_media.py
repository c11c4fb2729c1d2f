"""MP4 / GIF / PNG encoding (sencache_worker.media): what is written reads back with the right frames, rate and size."""

from __future__ import annotations

import io

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from sencache_worker import media


def moving_square(f=9, h=32, w=32) -> np.ndarray:
    v = np.zeros((f, h, w, 3), np.uint8)
    for i in range(f):
        v[i, :, :, 0] = 20 * i
        v[i, 8:16, 2 * i:2 * i + 8, 1] = 200
    return v


def read_mp4(data: bytes, tmp_path) -> tuple[dict, np.ndarray]:
    path = tmp_path / "v.mp4"
    path.write_bytes(data)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    w, h = meta["size"]
    frames = np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader])
    return meta, frames


def test_mp4_is_h264_yuv420p_with_the_frames_rate_and_size(tmp_path):
    video = moving_square()
    e = media.encode(video, "mp4", fps=8, scale=4)
    meta, frames = read_mp4(e.data, tmp_path)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == 8 and meta["size"] == (128, 128) and (e.width, e.height, e.frames) == (128, 128, 9)
    assert frames.shape == (9, 128, 128, 3)
    ref = media.upscale(video, 4).astype(int)
    # Lossy H.264 at crf 18: a few levels at colour edges, well under 1 % of the range on average.
    assert np.abs(frames.astype(int) - ref).mean() < 1.0
    assert np.abs(frames[0].astype(int) - ref[0]).max() <= 16


def test_odd_sizes_are_padded_never_resized_or_empty(tmp_path):
    video = moving_square(3, 33, 31)
    e = media.encode(video, "mp4", fps=16)
    assert (e.height, e.width, e.pad_bottom, e.pad_right) == (34, 32, 1, 1)
    meta, frames = read_mp4(e.data, tmp_path)
    assert meta["size"] == (32, 34) and frames.shape == (3, 34, 32, 3)
    assert np.abs(frames[:, :33, :31].astype(int) - video.astype(int)).mean() < 2.0


def test_gif_reads_back_with_pillow():
    video = moving_square()
    e = media.encode(video, "gif", fps=8, scale=2)
    im = Image.open(io.BytesIO(e.data))
    assert im.format == "GIF" and im.n_frames == 9 and im.size == (64, 64)
    assert im.info["duration"] == 120 and im.info.get("loop") == 0  # 1000 / 8 ms in GIF's 10 ms units
    for i in (0, 8):
        im.seek(i)
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), media.upscale(video, 2)[i])  # <= 256 colours: exact


def test_png_strip_and_grid():
    video = moving_square(3, 8, 8)
    strip = Image.open(io.BytesIO(media.encode(video, "png", fps=0).data))
    assert strip.size == (3 * 8 + 2, 8)
    np.testing.assert_array_equal(np.asarray(strip)[:, 9:17], video[1])
    grid = media.encode(np.stack([video, video]), "grid", fps=0, scale=2, labels=["none NFE 50", "teacache NFE 21"],
                        title="demo", columns=[0, 2])
    img = Image.open(io.BytesIO(grid.data))
    assert img.size == (grid.width, grid.height) and img.width >= 2 * 16


def test_bad_inputs_are_refused_with_a_sentence():
    video = moving_square(2, 8, 8)
    with pytest.raises(media.MediaError, match="format"):
        media.encode(video, "avi", fps=8)
    with pytest.raises(media.MediaError, match="fps"):
        media.encode(video, "mp4", fps=0)
    with pytest.raises(media.MediaError, match="uint8"):
        media.encode(video.astype(np.float32), "gif", fps=8)
    with pytest.raises(media.MediaError, match="labels"):
        media.encode(np.stack([video]), "grid", fps=0, labels=["a", "b"])


def test_read_media_fits_and_samples_frames(tmp_path):
    still = io.BytesIO()
    Image.fromarray(np.tile(np.arange(24, dtype=np.uint8)[None, :, None] * 10, (20, 1, 3))).save(still, "PNG")
    v = media.read_media([still.getvalue()], ["a.png"], 8, 8, 5)
    assert v.shape == (5, 8, 8, 3) and v.dtype == np.uint8 and (v[0] == v[4]).all()  # a still repeats
    # centre crop 24x20 -> 20x20 (columns 2..21), box-averaged to 8 wide: increasing left to right
    assert (np.diff(v[0, 0, :, 0].astype(int)) > 0).all() and v[0, 0, 0, 0] >= 20
    clip = media.encode(moving_square(9, 16, 16), "mp4", fps=8)
    frames = media.read_media([clip.data], ["c.mp4"], 16, 16, 3)
    assert frames.shape == (3, 16, 16, 3)
    gif = media.encode(moving_square(4, 16, 16), "gif", fps=8).data
    assert media.read_media([gif], ["g.gif"], 16, 16, 4).shape == (4, 16, 16, 3)
    with pytest.raises(media.MediaError, match="cannot be read as an image"):
        media.read_media([b"not an image"], ["x.png"], 8, 8, 1)


def test_a_slow_gif_is_refused_not_an_overflow():
    """Regression (fuzz): a GIF at fps < 1000/655,360 overflowed Pillow's 16-bit frame delay (OverflowError, `internal`)."""
    video = moving_square(2, 8, 8)
    assert media.encode(video, "gif", fps=media.MIN_FPS).frames == 2
    for fmt in ("gif", "mp4"):
        with pytest.raises(media.MediaError, match="fps"):
            media.encode(video, fmt, fps=0.001)


def test_a_damaged_file_is_a_media_error_whatever_the_decoder_raises():
    """Regression (fuzz): truncated or bit-flipped GIFs made Pillow raise IndexError / struct.error (`internal`)."""
    import random

    gif = media.encode(moving_square(4, 8, 8), "gif", fps=8).data
    rng = random.Random(0)
    for i in range(300):
        b = bytearray(gif[: rng.randint(0, len(gif))] if i % 2 else gif)
        for _ in range(0 if i % 2 else rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            media.read_media([bytes(b)], ["g.gif"], 8, 8, 4, 64, 1 << 20)
        except media.MediaError:
            pass
