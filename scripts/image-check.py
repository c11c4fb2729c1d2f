#!/usr/bin/env python
"""Read a GIF or PNG with Pillow and print what the media tests compare, as JSON on stdout:
{"format", "size": [w, h], "n_frames", "loop", "durations": [ms...], "frames": [[r, g, b, ...] per frame]}.

Usage: .venv/bin/python scripts/image-check.py FILE
"""
import json
import sys

from PIL import Image

im = Image.open(sys.argv[1])
im.load()
n = getattr(im, "n_frames", 1)
frames, durations = [], []
for i in range(n):
    im.seek(i)
    durations.append(im.info.get("duration"))
    frames.append(list(im.convert("RGB").tobytes()))
print(json.dumps({"format": im.format, "size": list(im.size), "n_frames": n,
                  "loop": im.info.get("loop"), "durations": durations, "frames": frames}))
