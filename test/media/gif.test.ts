import test from "ava";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPalette, encodeGif, encodePng, upscaleNearest } from "../../ts/media/index.js";
import { HAS_PYTHON, pseudoRandomBytes, runPythonJson } from "./helpers.js";

interface PillowView {
  format: string;
  size: [number, number];
  n_frames: number;
  loop: number | null;
  durations: (number | null)[];
  frames: number[][];
}

const pyTest = HAS_PYTHON ? test : test.skip;
const dir = mkdtempSync(join(tmpdir(), "sencache-media-"));

function readWithPillow(name: string, bytes: Buffer): PillowView {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return runPythonJson<PillowView>("scripts/image-check.py", [path]);
}

/** [F, H, W, 3] video whose pixels take `colours` distinct pseudo-random values. */
function paletteVideo(f: number, h: number, w: number, colours: number, seed: number): Uint8Array {
  const pal = pseudoRandomBytes(colours * 3, seed);
  const idx = pseudoRandomBytes(f * h * w, seed + 1);
  const out = new Uint8Array(f * h * w * 3);
  for (let p = 0; p < f * h * w; p++) out.set(pal.subarray((idx[p]! % colours) * 3, (idx[p]! % colours) * 3 + 3), 3 * p);
  return out;
}

function upscaleVideo(v: Uint8Array, f: number, h: number, w: number, s: number): number[][] {
  const n = h * w * 3;
  return Array.from({ length: f }, (_, i) => [...upscaleNearest(v.subarray(i * n, (i + 1) * n), h, w, 3, s)]);
}

test("the palette is exact (every colour kept, indices round-trip) with ≤ 256 colours", (t) => {
  const v = paletteVideo(2, 8, 8, 50, 11);
  const pal = buildPalette(v);
  t.true(pal.exact);
  for (let p = 0; p < pal.indices.length; p++) {
    const i = pal.indices[p]!;
    t.deepEqual([...pal.colours.subarray(3 * i, 3 * i + 3)], [...v.subarray(3 * p, 3 * p + 3)]);
  }
});

test("median cut keeps > 256 colours close", (t) => {
  // Smooth gradient with 64*64 distinct colours.
  const v = new Uint8Array(64 * 64 * 3);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) v.set([x * 4, y * 4, (x + y) * 2], (y * 64 + x) * 3);
  const pal = buildPalette(v);
  t.false(pal.exact);
  t.is(pal.size, 256);
  let err = 0;
  for (let p = 0; p < 64 * 64; p++) for (let c = 0; c < 3; c++) err += Math.abs(pal.colours[pal.indices[p]! * 3 + c]! - v[p * 3 + c]!);
  t.true(err / (64 * 64 * 3) < 4, `mean abs error ${err / (64 * 64 * 3)}`);
});

test("GIF89a header, screen size, loop extension and trailer", (t) => {
  const gif = encodeGif(paletteVideo(3, 4, 5, 7, 3), 3, 4, 5, { delayMs: 120, scale: 4, loop: true });
  t.is(gif.toString("latin1", 0, 6), "GIF89a");
  t.is(gif.readUInt16LE(6), 20);
  t.is(gif.readUInt16LE(8), 16);
  t.true(gif.includes(Buffer.from("NETSCAPE2.0", "latin1")));
  t.is(gif[gif.length - 1], 0x3b);
  const once = encodeGif(paletteVideo(3, 4, 5, 7, 3), 3, 4, 5, { loop: false });
  t.false(once.includes(Buffer.from("NETSCAPE2.0", "latin1")));
});

pyTest("Pillow reads a ≤ 256-colour GIF exactly: frame count, size, loop, delay and every pixel (LZW resets included)", (t) => {
  const [f, h, w, s] = [3, 48, 40, 2];
  const v = paletteVideo(f, h, w, 200, 5); // noise: ~16k codes a frame, several dictionary resets
  const view = readWithPillow("noise.gif", encodeGif(v, f, h, w, { delayMs: 80, scale: s, loop: true }));
  t.is(view.format, "GIF");
  t.deepEqual(view.size, [w * s, h * s]);
  t.is(view.n_frames, f);
  t.is(view.loop, 0);
  t.deepEqual(view.durations, [80, 80, 80]);
  t.deepEqual(view.frames, upscaleVideo(v, f, h, w, s));
});

pyTest("Pillow reads tiny-palette GIFs exactly (1, 2 and 5 colours: minimum code size 2)", (t) => {
  for (const colours of [1, 2, 5]) {
    const v = paletteVideo(2, 9, 11, colours, 17 + colours);
    const view = readWithPillow(`tiny${colours}.gif`, encodeGif(v, 2, 9, 11, { scale: 1 }));
    t.is(view.n_frames, 2);
    t.deepEqual(view.frames, upscaleVideo(v, 2, 9, 11, 1));
  }
});

pyTest("Pillow reads a > 256-colour GIF with bounded error", (t) => {
  const [f, h, w] = [2, 16, 16];
  const v = pseudoRandomBytes(f * h * w * 3, 99);
  for (let i = 0; i < v.length; i++) v[i] = (v[i]! >> 2) + ((i % 3) * 40); // smooth-ish, many colours
  const view = readWithPillow("many.gif", encodeGif(v, f, h, w, { scale: 1 }));
  t.is(view.n_frames, f);
  const flat = view.frames.flat();
  let err = 0;
  for (let i = 0; i < flat.length; i++) err += Math.abs(flat[i]! - v[i]!);
  t.true(err / flat.length < 12, `mean abs error ${err / flat.length}`);
});

pyTest("Pillow reads encodePng output exactly", (t) => {
  const rgb = pseudoRandomBytes(17 * 9 * 3, 23);
  const view = readWithPillow("ours.png", encodePng(rgb, 17, 9));
  t.is(view.format, "PNG");
  t.deepEqual(view.size, [17, 9]);
  t.deepEqual(view.frames[0], [...rgb]);
});
