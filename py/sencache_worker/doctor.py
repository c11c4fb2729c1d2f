"""`python -m sencache_worker.doctor`: what the worker's Python environment holds, as one JSON object on
stdout (read by `sencache doctor`, which turns it into checks with fixes). Never downloads anything."""

from __future__ import annotations

import json
import platform
import sys


def _version(name: str) -> str | None:
    try:
        mod = __import__(name)
    except Exception:  # noqa: BLE001 - any import failure means "not usable"
        return None
    return str(getattr(mod, "__version__", "?"))


def _lpips() -> dict:
    try:
        import lpips
        import torch.hub
    except ImportError as e:
        return {"ok": False, "reason": f"the Python package lpips is not installed ({e})"}

    def no_download(url, *a, **k):
        raise RuntimeError(f"weights not available locally ({url})")

    torch.hub.download_url_to_file = no_download
    try:
        lpips.LPIPS(net="alex", verbose=False)
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "reason": f"its AlexNet weights are not in {torch.hub.get_dir()} ({str(e).splitlines()[0]})"}
    return {"ok": True, "weights": torch.hub.get_dir()}


def _encoder() -> dict:
    try:
        import imageio_ffmpeg
    except ImportError as e:
        return {"ok": False, "reason": f"imageio-ffmpeg is not installed ({e})"}
    try:
        exe, version = imageio_ffmpeg.get_ffmpeg_exe(), imageio_ffmpeg.get_ffmpeg_version()
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "reason": f"imageio-ffmpeg has no ffmpeg binary ({str(e).splitlines()[0]})"}
    try:  # what `generate --out clip.mp4` runs: two 16x16 frames through libx264, and a GIF through Pillow
        import numpy as np

        from . import media

        frames = np.zeros((2, 16, 16, 3), np.uint8)
        if not media.encode(frames, "mp4", 8).data or not media.encode(frames, "gif", 8).data:
            raise media.MediaError("an empty file")
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "reason": f"ffmpeg {version} cannot encode H.264 / Pillow cannot write GIF here ({str(e).splitlines()[0]})"}
    return {"ok": True, "ffmpeg": exe, "version": version}


def probe() -> dict:
    out: dict = {"python": platform.python_version(), "executable": sys.executable}
    for name in ("numpy", "zmq", "torch", "diffusers", "transformers"):
        out[name] = _version(name)
    if out["torch"] is not None:
        import torch

        cuda = torch.cuda.is_available()
        out["cuda"] = {"available": cuda, "version": torch.version.cuda,
                       "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []}
    if out["torch"] is not None and out["diffusers"] is not None:
        import diffusers

        from .adapters import ADAPTERS

        out["families"] = {family: {cls: hasattr(diffusers, cls) for cls in a.pipeline_classes} for family, a in ADAPTERS.items()}
        out["lpips"] = _lpips()
    out["encoder"] = _encoder()
    return out


if __name__ == "__main__":
    print(json.dumps(probe()))
