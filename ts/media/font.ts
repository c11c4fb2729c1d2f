/**
 * A built-in 5×7 bitmap font (drawn for this project). Upper-case letters, digits, space and
 * `. , : - _ = % ( ) / + [ ] ? ! ' * # < > | ·`; lower-case letters render as upper case, and any
 * other character renders as `?`. Each glyph is 7 rows of 5 cells ("#" = ink); characters advance
 * 6 pixels (one column of spacing) times the scale.
 */
import { setPixel, type Rgb, type RgbImage } from "./image.js";

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
export const GLYPH_ADVANCE = 6;

// prettier-ignore
const GLYPHS: Record<string, string> = {
  "A": ".###. #...# #...# ##### #...# #...# #...#",
  "B": "####. #...# #...# ####. #...# #...# ####.",
  "C": ".###. #...# #.... #.... #.... #...# .###.",
  "D": "####. #...# #...# #...# #...# #...# ####.",
  "E": "##### #.... #.... ####. #.... #.... #####",
  "F": "##### #.... #.... ####. #.... #.... #....",
  "G": ".###. #...# #.... #.### #...# #...# .####",
  "H": "#...# #...# #...# ##### #...# #...# #...#",
  "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
  "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  "L": "#.... #.... #.... #.... #.... #.... #####",
  "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
  "O": ".###. #...# #...# #...# #...# #...# .###.",
  "P": "####. #...# #...# ####. #.... #.... #....",
  "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
  "R": "####. #...# #...# ####. #.#.. #..#. #...#",
  "S": ".#### #.... #.... .###. ....# ....# ####.",
  "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  "U": "#...# #...# #...# #...# #...# #...# .###.",
  "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
  "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  "Z": "##### ....# ...#. ..#.. .#... #.... #####",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": "..##. .#... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ...#. .##..",
  " ": "..... ..... ..... ..... ..... ..... .....",
  ".": "..... ..... ..... ..... ..... .##.. .##..",
  ",": "..... ..... ..... ..... .##.. ..#.. .#...",
  ":": "..... .##.. .##.. ..... .##.. .##.. .....",
  "-": "..... ..... ..... ##### ..... ..... .....",
  "_": "..... ..... ..... ..... ..... ..... #####",
  "=": "..... ..... ##### ..... ##### ..... .....",
  "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
  "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
  ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
  "/": "..... ....# ...#. ..#.. .#... #.... .....",
  "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
  "[": ".###. .#... .#... .#... .#... .#... .###.",
  "]": ".###. ...#. ...#. ...#. ...#. ...#. .###.",
  "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
  "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
  "'": "..#.. ..#.. .#... ..... ..... ..... .....",
  "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
  "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
  "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
  ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
  "|": "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  "\u00b7": "..... ..... ..... .##.. .##.. ..... .....",
};

const BITMAPS = new Map<string, Uint8Array>();
for (const [ch, rows] of Object.entries(GLYPHS)) {
  const bits = new Uint8Array(GLYPH_WIDTH * GLYPH_HEIGHT);
  rows.split(" ").forEach((row, y) => {
    for (let x = 0; x < GLYPH_WIDTH; x++) bits[y * GLYPH_WIDTH + x] = row[x] === "#" ? 1 : 0;
  });
  BITMAPS.set(ch, bits);
}

/** True when `ch` has its own glyph (after upper-casing). */
export function hasGlyph(ch: string): boolean {
  return BITMAPS.has(ch.toUpperCase());
}

/** The 5×7 bitmap (row-major, 1 = ink) that renders `ch`: its own glyph, or `?` when it has none. */
export function glyphBitmap(ch: string): Uint8Array {
  return BITMAPS.get(ch.toUpperCase()) ?? BITMAPS.get("?")!;
}

/** Width in pixels of `text` at `scale` (no trailing spacing column). */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * scale;
}

export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/** Draw `text` with its top-left corner at (x, y); pixels outside the image are clipped. */
export function drawText(img: RgbImage, text: string, x: number, y: number, colour: Rgb, scale = 1): void {
  let cx = Math.round(x);
  const top = Math.round(y);
  for (const ch of text) {
    const bits = glyphBitmap(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!bits[gy * GLYPH_WIDTH + gx]) continue;
        for (let sy = 0; sy < scale; sy++) for (let sx = 0; sx < scale; sx++) setPixel(img, cx + gx * scale + sx, top + gy * scale + sy, colour);
      }
    }
    cx += GLYPH_ADVANCE * scale;
  }
}
