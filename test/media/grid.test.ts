import test from "ava";
import {
  composeGrid,
  createImage,
  decodePng,
  drawText,
  getPixel,
  GLYPH_HEIGHT,
  GLYPH_WIDTH,
  glyphBitmap,
  hasGlyph,
  stripToPng,
  textWidth,
  videoShape,
} from "../../ts/media/index.js";

const solid = (f: number, h: number, w: number, c: readonly number[]): Uint8Array => {
  const v = new Uint8Array(f * h * w * 3);
  for (let p = 0; p < f * h * w; p++) v.set(c, 3 * p);
  return v;
};

test("the font covers A–Z, 0–9 and the listed symbols; lower case maps to upper; unknown → ?", (t) => {
  for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:-_=%()/+[] ") t.true(hasGlyph(ch), ch);
  t.deepEqual(glyphBitmap("a"), glyphBitmap("A"));
  t.deepEqual(glyphBitmap("~"), glyphBitmap("?"));
  // Every drawable glyph but space has ink, and distinct characters look distinct.
  const seen = new Set<string>();
  for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:-_=%()/+[]") {
    const key = glyphBitmap(ch).join("");
    t.true(key.includes("1"), ch);
    t.false(seen.has(key), `glyph ${ch} duplicates another`);
    seen.add(key);
  }
  t.is(textWidth("NFE 21"), 6 * 6 - 1);
  t.is(textWidth("ab", 2), 22);
});

test("drawText puts ink exactly where the glyph has it", (t) => {
  const img = createImage(20, 12, [255, 255, 255]);
  drawText(img, "A1", 2, 3, [255, 0, 0]);
  for (const [i, ch] of ["A", "1"].entries()) {
    const bits = glyphBitmap(ch);
    for (let y = 0; y < GLYPH_HEIGHT; y++) {
      for (let x = 0; x < GLYPH_WIDTH; x++) {
        t.deepEqual(getPixel(img, 2 + i * 6 + x, 3 + y), bits[y * GLYPH_WIDTH + x] ? [255, 0, 0] : [255, 255, 255]);
      }
    }
  }
});

test("grid dimensions, cell placement, upscaled pixels and row labels", (t) => {
  const [f, h, w] = [9, 4, 5];
  const a = solid(f, h, w, [200, 10, 10]);
  const b = solid(f, h, w, [10, 200, 10]);
  b.set([1, 2, 3], (8 * h * w + 0) * 3); // frame 8, pixel (0,0) of row b
  const grid = composeGrid(
    [
      { label: "none NFE 50", frames: a },
      { label: "teacache NFE 21", frames: b },
    ],
    { numFrames: f, height: h, width: w, frameIndices: [0, 4, 8], scale: 3, gap: 2, padding: 4 },
  );
  const line = GLYPH_HEIGHT + 2;
  t.is(grid.cellWidth, 15);
  t.is(grid.cellHeight, 12);
  t.is(grid.width, 4 + Math.max(3 * 15 + 2 * 2, textWidth("teacache NFE 21")) + 4);
  t.is(grid.height, 4 + 2 * (line + 12) + 2 + 4);
  t.is(grid.data.length, grid.width * grid.height * 3);
  const img = { width: grid.width, height: grid.height, data: grid.data };
  t.deepEqual(grid.cells[0]![0], { x: 4, y: 4 + line });
  t.deepEqual(grid.cells[1]![2], { x: 4 + 2 * 17, y: 4 + line + 12 + 2 + line });
  t.deepEqual(getPixel(img, 4 + 14, 4 + line + 11), [200, 10, 10]);
  // The special pixel is upscaled 3×3 in row 1, column 2 (frame 8).
  const c = grid.cells[1]![2]!;
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) t.deepEqual(getPixel(img, c.x + dx, c.y + dy), [1, 2, 3]);
  t.deepEqual(getPixel(img, c.x + 3, c.y), [10, 200, 10]);
  // Gap between cells stays background.
  t.deepEqual(getPixel(img, 4 + 15, 4 + line), [255, 255, 255]);
  // Labels: the first glyph of each row label is inked exactly.
  for (const [r, first] of [[0, "N"], [1, "T"]] as const) {
    const at = grid.labels[r]!;
    const bits = glyphBitmap(first);
    for (let y = 0; y < GLYPH_HEIGHT; y++) {
      for (let x = 0; x < GLYPH_WIDTH; x++) t.deepEqual(getPixel(img, at.x + x, at.y + y), bits[y * GLYPH_WIDTH + x] ? [0, 0, 0] : [255, 255, 255]);
    }
  }
});

test("grid rejects mismatched shapes and out-of-range frames", (t) => {
  t.throws(() => composeGrid([{ frames: new Uint8Array(10) }], { numFrames: 1, height: 2, width: 2 }), { instanceOf: RangeError });
  t.throws(() => composeGrid([{ frames: solid(2, 2, 2, [0, 0, 0]) }], { numFrames: 2, height: 2, width: 2, frameIndices: [2] }), { instanceOf: RangeError });
});

test("video helpers: shape validation and a frame strip PNG", (t) => {
  const v = { shape: [3, 4, 5, 3], data: solid(3, 4, 5, [9, 9, 9]) };
  t.deepEqual(videoShape(v), { frames: 3, height: 4, width: 5 });
  t.deepEqual(videoShape({ shape: [1, 3, 4, 5, 3], data: v.data }), { frames: 3, height: 4, width: 5 });
  t.throws(() => videoShape({ shape: [3, 4, 5, 4], data: v.data }), { instanceOf: RangeError });
  const png = decodePng(stripToPng(v, { scale: 2, gap: 1 }));
  t.is(png.width, 3 * 10 + 2);
  t.is(png.height, 8);
});
