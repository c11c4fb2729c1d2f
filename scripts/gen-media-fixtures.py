#!/usr/bin/env python
"""Write the tiny PNG fixtures that test/media/png.test.ts decodes (Pillow is the independent writer).

Usage:
    .venv/bin/python scripts/gen-media-fixtures.py           # (re)write test/fixtures/media/*.png
    .venv/bin/python scripts/gen-media-fixtures.py --check   # exit 1 when a file's pixels would change

Pixel pattern (the test recomputes it), for x in [0, W), y in [0, H):
    R = (37x + 11y) % 256,  G = (5x + 71y + 3) % 256,  B = (13xy + 7) % 256,  A = (29x + 17y + 40) % 256
Files: pillow-rgb.png (7x5 RGB), pillow-rgba.png (6x4 RGBA), pillow-gray.png (5x3 L),
pillow-palette.png (5x3 mode "P", 8-bit indices): pixel = PALETTE_COLOURS[(x + 2y) % 6] (exact palette).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "media"


PALETTE_COLOURS = [(255, 0, 0), (0, 128, 255), (10, 20, 30), (250, 250, 5), (0, 0, 0), (200, 100, 50)]


def pattern(w: int, h: int, alpha: bool) -> list[tuple[int, ...]]:
    px = []
    for y in range(h):
        for x in range(w):
            p = ((37 * x + 11 * y) % 256, (5 * x + 71 * y + 3) % 256, (13 * x * y + 7) % 256)
            px.append(p + ((29 * x + 17 * y + 40) % 256,) if alpha else p)
    return px


def images() -> dict[str, Image.Image]:
    rgb = Image.new("RGB", (7, 5))
    rgb.putdata(pattern(7, 5, False))
    rgba = Image.new("RGBA", (6, 4))
    rgba.putdata(pattern(6, 4, True))
    gray = Image.new("L", (5, 3))
    gray.putdata([p[0] for p in pattern(5, 3, False)])
    few = Image.new("RGB", (5, 3))
    few.putdata([PALETTE_COLOURS[(x + 2 * y) % 6] for y in range(3) for x in range(5)])
    pal = few.convert("P", palette=Image.Palette.ADAPTIVE, colors=6)
    return {"pillow-rgb.png": rgb, "pillow-rgba.png": rgba, "pillow-gray.png": gray, "pillow-palette.png": pal}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name, img in images().items():
        path = OUT / name
        if args.check:
            if not path.exists() or Image.open(path).convert("RGBA").tobytes() != img.convert("RGBA").tobytes():
                print(f"{path} would change", file=sys.stderr)
                bad = 1
        else:
            img.save(path, bits=8) if img.mode == "P" else img.save(path)
            print(f"wrote {path}")
    return bad


if __name__ == "__main__":
    sys.exit(main())
