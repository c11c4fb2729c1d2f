/**
 * Animated GIF89a encoder (own LZW), for tiny videos laid out [F, H, W, 3].
 *
 * Palette: one global colour table for the whole video. When the video has at most 256 distinct
 * colours the table holds exactly those colours and every pixel round-trips losslessly; otherwise a
 * median-cut quantiser (weighted by pixel counts, splitting the box with the largest weighted range
 * along its widest channel at the weighted median) builds 256 colours and each pixel maps to its
 * nearest palette entry (squared RGB distance). No dithering: output is deterministic.
 */
import { upscaleNearest } from "./image.js";

export interface GifOptions {
  /** Delay between frames in milliseconds (GIF stores centiseconds; rounded, at least 1 cs). Default 100. */
  readonly delayMs?: number;
  /** Integer nearest-neighbour upscaling factor (1 = native size). Default 1. */
  readonly scale?: number;
  /** Loop forever (NETSCAPE2.0 extension) when true (default); play once when false. */
  readonly loop?: boolean;
}

export interface Palette {
  /** RGB triplets, `size` entries. */
  readonly colours: Uint8Array;
  readonly size: number;
  /** Palette index of every pixel of the input, in order. */
  readonly indices: Uint8Array;
  /** True when the palette holds every input colour exactly (≤ 256 distinct colours). */
  readonly exact: boolean;
}

interface Box {
  readonly colours: number[]; // packed 0xRRGGBB
  weight: number;
}

function channel(c: number, ch: number): number {
  return (c >> (16 - 8 * ch)) & 0xff;
}

function medianCut(hist: Map<number, number>, maxColours: number): number[] {
  const all = [...hist.keys()];
  const boxes: Box[] = [{ colours: all, weight: all.reduce((s, c) => s + hist.get(c)!, 0) }];
  const rangeOf = (b: Box): { ch: number; range: number } => {
    let best = { ch: 0, range: -1 };
    for (let ch = 0; ch < 3; ch++) {
      let lo = 255;
      let hi = 0;
      for (const c of b.colours) {
        const v = channel(c, ch);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi - lo > best.range) best = { ch, range: hi - lo };
    }
    return best;
  };
  while (boxes.length < maxColours) {
    let pick = -1;
    let pickScore = 0;
    let pickCh = 0;
    for (let i = 0; i < boxes.length; i++) {
      const b = boxes[i]!;
      if (b.colours.length < 2) continue;
      const { ch, range } = rangeOf(b);
      const score = range * Math.sqrt(b.weight);
      if (score > pickScore) {
        pickScore = score;
        pick = i;
        pickCh = ch;
      }
    }
    if (pick < 0) break;
    const box = boxes[pick]!;
    const sorted = [...box.colours].sort((p, q) => channel(p, pickCh) - channel(q, pickCh) || p - q);
    let acc = 0;
    let cut = 1;
    for (let i = 0; i < sorted.length - 1; i++) {
      acc += hist.get(sorted[i]!)!;
      cut = i + 1;
      if (acc * 2 >= box.weight) break;
    }
    const left = sorted.slice(0, cut);
    const right = sorted.slice(cut);
    const w = (cs: number[]): number => cs.reduce((s, c) => s + hist.get(c)!, 0);
    boxes.splice(pick, 1, { colours: left, weight: w(left) }, { colours: right, weight: w(right) });
  }
  return boxes.map((b) => {
    let r = 0, g = 0, bl = 0;
    for (const c of b.colours) {
      const n = hist.get(c)!;
      r += channel(c, 0) * n;
      g += channel(c, 1) * n;
      bl += channel(c, 2) * n;
    }
    return (Math.round(r / b.weight) << 16) | (Math.round(g / b.weight) << 8) | Math.round(bl / b.weight);
  });
}

/** Build a palette of at most `maxColours` (≤ 256) for RGB pixels and map every pixel to it. */
export function buildPalette(rgb: Uint8Array, maxColours = 256): Palette {
  if (maxColours < 1 || maxColours > 256) throw new RangeError("buildPalette: maxColours must be in 1..256.");
  const n = Math.floor(rgb.length / 3);
  const hist = new Map<number, number>();
  for (let p = 0; p < n; p++) {
    const c = (rgb[3 * p]! << 16) | (rgb[3 * p + 1]! << 8) | rgb[3 * p + 2]!;
    hist.set(c, (hist.get(c) ?? 0) + 1);
  }
  const exact = hist.size <= maxColours;
  const packed = exact ? [...hist.keys()].sort((a, b) => a - b) : medianCut(hist, maxColours);
  const colours = new Uint8Array(packed.length * 3);
  packed.forEach((c, i) => {
    colours[3 * i] = channel(c, 0);
    colours[3 * i + 1] = channel(c, 1);
    colours[3 * i + 2] = channel(c, 2);
  });
  const lookup = new Map<number, number>();
  if (exact) packed.forEach((c, i) => lookup.set(c, i));
  const nearest = (c: number): number => {
    const hit = lookup.get(c);
    if (hit !== undefined) return hit;
    const r = channel(c, 0), g = channel(c, 1), b = channel(c, 2);
    let best = 0;
    let bestD = Infinity;
    for (let i = 0; i < packed.length; i++) {
      const dr = colours[3 * i]! - r, dg = colours[3 * i + 1]! - g, db = colours[3 * i + 2]! - b;
      const d = dr * dr + dg * dg + db * db;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    lookup.set(c, best);
    return best;
  };
  const indices = new Uint8Array(n);
  for (let p = 0; p < n; p++) indices[p] = nearest((rgb[3 * p]! << 16) | (rgb[3 * p + 1]! << 8) | rgb[3 * p + 2]!);
  return { colours, size: packed.length, indices, exact };
}

class ByteSink {
  private buf = Buffer.alloc(1024);
  length = 0;
  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + extra));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b & 0xff;
  }
  u16(v: number): void {
    this.byte(v & 0xff);
    this.byte(v >> 8);
  }
  bytes(b: Uint8Array | string): void {
    const data = typeof b === "string" ? Buffer.from(b, "latin1") : b;
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }
  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/**
 * LZW-compress palette indices as GIF image data: returns the code stream packed LSB-first, NOT
 * yet split into sub-blocks. `minCodeSize` is 2..8. The dictionary resets (clear code) when it is
 * full at 4096 entries.
 */
export function lzwEncode(indices: Uint8Array, minCodeSize: number): Uint8Array {
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  const out: number[] = [];
  let acc = 0;
  let nbits = 0;
  let codeSize = minCodeSize + 1;
  const emit = (code: number): void => {
    acc |= code << nbits;
    nbits += codeSize;
    while (nbits >= 8) {
      out.push(acc & 0xff);
      acc >>>= 8;
      nbits -= 8;
    }
  };
  let dict = new Map<number, number>();
  let next = eoi + 1;
  emit(clear);
  if (indices.length === 0) {
    emit(eoi);
    if (nbits > 0) out.push(acc & 0xff);
    return Uint8Array.from(out);
  }
  let prefix = indices[0]!;
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i]!;
    const key = (prefix << 8) | k;
    const found = dict.get(key);
    if (found !== undefined) {
      prefix = found;
      continue;
    }
    emit(prefix);
    if (next === 4096) {
      emit(clear);
      dict = new Map();
      next = eoi + 1;
      codeSize = minCodeSize + 1;
    } else {
      if (next >= 1 << codeSize) codeSize++;
      dict.set(key, next++);
    }
    prefix = k;
  }
  emit(prefix);
  emit(eoi);
  if (nbits > 0) out.push(acc & 0xff);
  return Uint8Array.from(out);
}

/**
 * Encode an animated GIF89a from RGB frames laid out [F, H, W, 3]. Frames are upscaled by the
 * integer `scale` (nearest neighbour) before encoding.
 */
export function encodeGif(frames: Uint8Array, f: number, h: number, w: number, options: GifOptions = {}): Buffer {
  const scale = options.scale ?? 1;
  const delayMs = options.delayMs ?? 100;
  const loop = options.loop ?? true;
  if (![f, h, w].every((v) => Number.isInteger(v) && v > 0)) throw new RangeError(`encodeGif: frames, height and width must be positive integers; got ${f}, ${h}, ${w}.`);
  if (frames.length !== f * h * w * 3) throw new RangeError(`encodeGif: [${f}, ${h}, ${w}, 3] needs ${f * h * w * 3} bytes but ${frames.length} were given.`);
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`encodeGif: scale must be a positive integer; got ${scale}.`);
  const W = w * scale;
  const H = h * scale;
  if (W > 0xffff || H > 0xffff) throw new RangeError(`encodeGif: ${W}x${H} exceeds GIF's 65535 limit.`);
  // One palette for the whole video (computed at native size: upscaling adds no colours).
  const pal = buildPalette(frames);
  let bits = 1;
  while (1 << bits < pal.size) bits++;
  const tableSize = 1 << bits; // 2..256 entries
  const minCodeSize = Math.max(2, bits);
  const delayCs = Math.max(1, Math.round(delayMs / 10));

  const s = new ByteSink();
  s.bytes("GIF89a");
  s.u16(W);
  s.u16(H);
  s.byte(0x80 | ((bits - 1) << 4) | (bits - 1)); // global table, colour resolution, table size
  s.byte(0); // background colour index
  s.byte(0); // pixel aspect ratio
  const table = new Uint8Array(tableSize * 3);
  table.set(pal.colours);
  s.bytes(table);
  if (loop) {
    s.bytes(Uint8Array.of(0x21, 0xff, 0x0b));
    s.bytes("NETSCAPE2.0");
    s.bytes(Uint8Array.of(0x03, 0x01, 0x00, 0x00, 0x00)); // loop count 0 = forever
  }
  const frameLen = h * w;
  for (let i = 0; i < f; i++) {
    // Graphic control extension: no disposal specified, no transparency, delay.
    s.bytes(Uint8Array.of(0x21, 0xf9, 0x04, 0x00));
    s.u16(delayCs);
    s.bytes(Uint8Array.of(0x00, 0x00));
    // Image descriptor: full canvas, no local table, not interlaced.
    s.byte(0x2c);
    s.u16(0);
    s.u16(0);
    s.u16(W);
    s.u16(H);
    s.byte(0);
    const idx = upscaleNearest(pal.indices.subarray(i * frameLen, (i + 1) * frameLen), h, w, 1, scale);
    const data = lzwEncode(idx, minCodeSize);
    s.byte(minCodeSize);
    for (let p = 0; p < data.length; p += 255) {
      const n = Math.min(255, data.length - p);
      s.byte(n);
      s.bytes(data.subarray(p, p + n));
    }
    s.byte(0); // block terminator
  }
  s.byte(0x3b); // trailer
  return s.result();
}
