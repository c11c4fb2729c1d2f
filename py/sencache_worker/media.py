"""Video and image files from decoded frames, through maintained libraries: MP4 (H.264, yuv420p) with
imageio-ffmpeg (whose wheel ships an ffmpeg binary with libx264), GIF and PNG with Pillow.

The worker serves these as the `encode_video` op and returns the encoded file as a byte frame, so the
CLI writes it where the user runs it even when the worker is on another machine. The imports are lazy:
a worker that never encodes never imports imageio or Pillow.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

FORMATS = ("mp4", "gif", "png", "grid")
# GIF stores a frame's display time in 16 bits of 1/100 s (at most 655.35 s), so slower than this it cannot be written.
MIN_FPS = 0.002


class MediaError(ValueError):
    """An input the encoders cannot take (the message says what to change)."""


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int
    frames: int
    fps: float
    # Rows / columns of edge padding added at the bottom / right (H.264 yuv420p needs even sizes).
    pad_bottom: int = 0
    pad_right: int = 0


def _check_video(video: np.ndarray, ndim: int = 4) -> np.ndarray:
    if video.dtype != np.uint8 or video.ndim != ndim or video.shape[-1] != 3 or min(video.shape) < 1:
        want = "[F, H, W, 3]" if ndim == 4 else "[R, F, H, W, 3]"
        raise MediaError(f"A video to encode must be uint8 {want} RGB, not {video.dtype} {list(video.shape)}.")
    return np.ascontiguousarray(video)


def upscale(video: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour integer upscaling along H and W (the last-but-one two axes)."""
    if scale == 1:
        return video
    return np.repeat(np.repeat(video, scale, axis=-3), scale, axis=-2)


def pad_even(video: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Pad [F, H, W, 3] to even H and W by repeating the last row / column (yuv420p halves chroma)."""
    _, h, w, _ = video.shape
    ph, pw = h % 2, w % 2
    if ph or pw:
        video = np.pad(video, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    return video, ph, pw


def encode_mp4(video: np.ndarray, fps: float, crf: int = 18) -> Encoded:
    """H.264 (libx264, yuv420p, +faststart) at `fps`. Odd sizes are padded by one edge row / column and
    reported, never resized; a file ffmpeg did not write raises instead of returning nothing."""
    import imageio_ffmpeg

    video, ph, pw = pad_even(_check_video(video))
    f, h, w, _ = video.shape
    fd, path = tempfile.mkstemp(suffix=".mp4", prefix="sencache-")
    os.close(fd)
    try:
        writer = imageio_ffmpeg.write_frames(
            path,
            (w, h),
            fps=fps,
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=None,  # the crf below instead of imageio's 0-10 scale
            macro_block_size=1,  # sizes are even here; never let imageio resize
            ffmpeg_log_level="error",
            output_params=["-crf", str(crf), "-movflags", "+faststart"],
        )
        writer.send(None)
        for frame in video:
            writer.send(frame)
        writer.close()
        with open(path, "rb") as fh:
            data = fh.read()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    if not data:
        raise MediaError(f"ffmpeg wrote an empty MP4 for {w}x{h} at {fps} fps; check `sencache doctor`.")
    return Encoded(data, w, h, f, float(fps), ph, pw)


def encode_gif(video: np.ndarray, fps: float) -> Encoded:
    """Animated GIF (Pillow, adaptive palette per frame, loops forever). Pillow merges a frame identical
    to the one before into its display time, so such a GIF holds fewer frames but plays as long."""
    from PIL import Image

    video = _check_video(video)
    f, h, w, _ = video.shape
    import io

    images = [Image.fromarray(frame, "RGB") for frame in video]
    buf = io.BytesIO()
    duration = max(10, int(round(1000.0 / fps)))
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
    return Encoded(buf.getvalue(), w, h, f, float(fps))


def _png(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def encode_strip(video: np.ndarray, gap: int = 1) -> Encoded:
    """All frames side by side in one PNG, `gap` white pixels apart."""
    video = _check_video(video)
    f, h, w, _ = video.shape
    canvas = np.full((h, f * w + (f - 1) * gap, 3), 255, np.uint8)
    for i, frame in enumerate(video):
        canvas[:, i * (w + gap): i * (w + gap) + w] = frame
    return Encoded(_png(canvas), canvas.shape[1], h, f, 0.0)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow's bundled TrueType font (needs FreeType)
    except (TypeError, ImportError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def encode_grid(videos: np.ndarray, labels: list[str], title: str = "", columns: list[int] | None = None,
                gap: int = 4, font_size: int = 14) -> Encoded:
    """One row per video ([R, F, H, W, 3], already upscaled), the chosen frames as columns, a label above
    each row and a title on top, as a PNG (Pillow's bundled font)."""
    from PIL import Image, ImageDraw

    videos = _check_video(videos, ndim=5)
    r, f, h, w, _ = videos.shape
    if labels and len(labels) != r:
        raise MediaError(f"A grid of {r} rows needs {r} labels, not {len(labels)}.")
    cols = list(range(f)) if not columns else list(columns)
    if any(not 0 <= c < f for c in cols):
        raise MediaError(f"Grid columns must be frame indices in 0..{f - 1}, not {cols}.")
    font = _font(font_size)
    line = font_size + 6
    pad = 8
    cells_w = len(cols) * w + (len(cols) - 1) * gap
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max([measure.textlength(t, font=font) for t in [title, *labels] if t] or [0])
    width = 2 * pad + max(cells_w, int(np.ceil(text_w)))
    row_h = (line if labels else 0) + h
    height = 2 * pad + (line + 4 if title else 0) + r * row_h + (r - 1) * gap
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    y = pad
    if title:
        draw.text((pad, y), title, fill=(0, 0, 0), font=font)
        y += line + 4
    for i in range(r):
        if labels:
            draw.text((pad, y), labels[i], fill=(40, 40, 40), font=font)
            y += line
        for j, c in enumerate(cols):
            canvas.paste(Image.fromarray(videos[i, c], "RGB"), (pad + j * (w + gap), y))
        y += h + gap
    return Encoded(_png(np.asarray(canvas)), width, height, r, 0.0)


# ---- reading media (calibration inputs) -----------------------------------------------------------------

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")


def _fit(image, width: int, height: int) -> np.ndarray:
    """Centre-crop to the target aspect, then area-average (box filter) to width x height, RGB uint8."""
    from PIL import Image, ImageOps

    return np.asarray(ImageOps.fit(image.convert("RGB"), (width, height), method=Image.Resampling.BOX))


class TooLarge(MediaError):
    """A file decodes to more frames or larger frames than the worker's limits allow."""


def _frames_of(data: bytes, name: str, max_pixels: int | None = None):
    """Every frame of one file as PIL images, one at a time: a still image, an animated GIF / WebP / APNG, or a
    video. A frame over `max_pixels` is refused from the file's header, before it is decoded."""
    import io

    from PIL import Image, ImageSequence

    def check(w: int, h: int) -> None:
        if max_pixels is not None and w * h > max_pixels:
            raise TooLarge(f"{name} has {w}x{h} frames, more than this worker's limit of {max_pixels} pixels "
                           "(max_source_pixels in hello); make it smaller first.")

    if name.lower().endswith(VIDEO_SUFFIXES):
        import imageio_ffmpeg

        fd, path = tempfile.mkstemp(suffix=os.path.splitext(name)[1], prefix="sencache-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            reader = imageio_ffmpeg.read_frames(path)
            try:
                meta = next(reader)
                w, h = meta["size"]
                check(w, h)
                for b in reader:
                    yield Image.fromarray(np.frombuffer(b, np.uint8).reshape(h, w, 3), "RGB")
            finally:
                reader.close()
        except MediaError:
            raise
        except Exception as exc:  # a damaged file: ffmpeg's exit, or whatever the reader trips over
            raise MediaError(f"{name} cannot be read as a video ({exc}); re-encode it as H.264 MP4.") from exc
        finally:
            os.unlink(path)
        return
    try:
        image = Image.open(io.BytesIO(data))
        check(*image.size)
        for frame in ImageSequence.Iterator(image):
            yield frame.copy()
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise TooLarge(f"{name}: {exc}") from exc
    except Exception as exc:  # a damaged file: Pillow's decoders raise IndexError, struct.error, SyntaxError, … besides OSError
        raise MediaError(f"{name} cannot be read as an image ({exc}); save it as PNG or JPEG.") from exc


def read_media(files: list[bytes], names: list[str], height: int, width: int, num_frames: int,
               max_frames: int | None = None, max_pixels: int | None = None) -> np.ndarray:
    """Files -> a uint8 video [num_frames, height, width, 3]: the frames of all files in order (one image
    per frame of a folder; every frame of an animated image or a video), each centre-cropped and
    area-resampled to the size as it is decoded, then nearest-frame sampled to `num_frames` (one still is
    repeated). More than `max_frames` decoded frames, or one over `max_pixels`, is `TooLarge`."""
    frames = []
    for data, name in zip(files, names):
        for f in _frames_of(data, name, max_pixels):
            if max_frames is not None and len(frames) >= max_frames:
                raise TooLarge(f"{', '.join(names)[:200]} hold more than {max_frames} frames, this worker's limit "
                               "(max_source_frames in hello); send fewer or shorter files.")
            frames.append(_fit(f, width, height))
    if not frames:
        raise MediaError(f"{', '.join(names)} holds no frames.")
    n = len(frames)
    return np.stack([frames[min(n - 1, (j * n) // num_frames)] for j in range(num_frames)])


def encode(video: np.ndarray, fmt: str, fps: float, scale: int = 1, labels: list[str] | None = None,
           title: str = "", columns: list[int] | None = None) -> Encoded:
    """The `encode_video` op: frames (upscaled by `scale`) as `fmt` bytes."""
    if fmt not in FORMATS:
        raise MediaError(f"Video format {fmt!r} is not one of {', '.join(FORMATS)}.")
    if not (isinstance(scale, int) and 1 <= scale <= 64):
        raise MediaError(f"scale must be an integer in 1..64, not {scale!r}.")
    if fmt in ("mp4", "gif") and not (np.isfinite(fps) and MIN_FPS <= fps <= 240):
        raise MediaError(f"fps must be in [{MIN_FPS}, 240], not {fps!r}.")
    video = upscale(video, scale)
    if fmt == "mp4":
        return encode_mp4(video, fps)
    if fmt == "gif":
        return encode_gif(video, fps)
    if fmt == "png":
        return encode_strip(video)
    return encode_grid(video, labels or [], title, columns)
