/**
 * A minimal PNG codec on node built-ins (node:zlib for deflate/inflate).
 *
 * - `encodePng` writes 8-bit truecolour (colour type 2), non-interlaced, one IDAT chunk. Each row
 *   picks the filter (None/Sub/Up/Average/Paeth) with the smallest sum of absolute signed bytes,
 *   the usual heuristic.
 * - `decodePng` reads non-interlaced greyscale (0), truecolour (2), palette (3), grey+alpha (4) and
 *   RGBA (6) images at every bit depth PNG allows, checks every chunk's CRC, and returns 8-bit RGB
 *   plus the alpha plane when the image has one. Sub-byte greyscale is scaled to 0..255; 16-bit
 *   samples keep their high byte; palette transparency (tRNS) is ignored. Adam7 interlacing is
 *   rejected with a clear error.
 */
import { deflateSync, inflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let crcTable: Uint32Array | undefined;

function table(): Uint32Array {
  if (crcTable) return crcTable;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  crcTable = t;
  return t;
}

/** CRC-32 (ISO 3309 / ITU-T V.42, the one PNG and zlib use) of `bytes`, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = table();
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new RangeError(`An image needs positive integer width and height; got ${width}x${height}.`);
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/**
 * Encode `rgb` (row-major, 3 bytes a pixel, length width*height*3) as an 8-bit truecolour PNG.
 */
export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  checkSize(width, height);
  const stride = width * 3;
  if (rgb.length !== stride * height) {
    throw new RangeError(`encodePng: a ${width}x${height} RGB image needs ${stride * height} bytes but ${rgb.length} were given.`);
  }
  const raw = Buffer.alloc((stride + 1) * height);
  const candidate = new Uint8Array(stride);
  const best = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const prev = y - 1;
    let bestFilter = 0;
    let bestScore = Infinity;
    for (let f = 0; f < 5; f++) {
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const x = rgb[row + i]!;
        const a = i >= 3 ? rgb[row + i - 3]! : 0;
        const b = prev >= 0 ? rgb[row - stride + i]! : 0;
        const c = i >= 3 && prev >= 0 ? rgb[row - stride + i - 3]! : 0;
        let v: number;
        switch (f) {
          case 0: v = x; break;
          case 1: v = x - a; break;
          case 2: v = x - b; break;
          case 3: v = x - ((a + b) >> 1); break;
          default: v = x - paeth(a, b, c);
        }
        v &= 0xff;
        candidate[i] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) {
        bestScore = score;
        bestFilter = f;
        best.set(candidate);
      }
    }
    const at = y * (stride + 1);
    raw[at] = bestFilter;
    raw.set(best, at + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  return Buffer.concat([SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", new Uint8Array(0))]);
}

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** Row-major RGB, 3 bytes a pixel (greyscale and palette images are expanded). */
  readonly rgb: Uint8Array;
  /** Row-major alpha, one byte a pixel, when the image has an alpha channel (colour types 4 and 6); else null. */
  readonly alpha: Uint8Array | null;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Decode a non-interlaced PNG (greyscale, RGB, palette, grey+alpha or RGBA) to 8-bit RGB (+ alpha). */
export function decodePng(bytes: Uint8Array): DecodedPng {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new Error("decodePng: not a PNG file (bad signature).");
  let pos = 8;
  let width = 0;
  let height = 0;
  let colourType = -1;
  let depth = 8;
  let palette: Uint8Array | undefined;
  const idat: Buffer[] = [];
  let sawEnd = false;
  while (pos + 12 <= buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    if (pos + 12 + len > buf.length) throw new Error(`decodePng: chunk ${type} is truncated.`);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    const stored = buf.readUInt32BE(pos + 8 + len);
    if (crc32(buf.subarray(pos + 4, pos + 8 + len)) !== stored) throw new Error(`decodePng: CRC mismatch in chunk ${type}.`);
    pos += 12 + len;
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      colourType = data[9]!;
      if (data[10] !== 0 || data[11] !== 0) throw new Error("decodePng: unknown compression or filter method.");
      if (data[12] !== 0) throw new Error("decodePng: interlaced (Adam7) PNGs are not supported.");
      if (CHANNELS[colourType] === undefined) throw new Error(`decodePng: unknown colour type ${colourType}.`);
      const allowed = colourType === 0 ? [1, 2, 4, 8, 16] : colourType === 3 ? [1, 2, 4, 8] : [8, 16];
      if (!allowed.includes(depth)) throw new Error(`decodePng: bit depth ${depth} is invalid for colour type ${colourType}.`);
      checkSize(width, height);
    } else if (type === "PLTE") {
      palette = new Uint8Array(data);
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      sawEnd = true;
      break;
    }
  }
  if (colourType < 0) throw new Error("decodePng: missing IHDR chunk.");
  if (!sawEnd) throw new Error("decodePng: missing IEND chunk (truncated file).");
  if (colourType === 3 && !palette) throw new Error("decodePng: a palette image without a PLTE chunk.");
  const channels = CHANNELS[colourType]!;
  const bitsPerPixel = channels * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3); // filter distance in bytes
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < (stride + 1) * height) throw new Error("decodePng: image data is shorter than the header says.");
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i]!;
      const a = i >= bpp ? px[row + i - bpp]! : 0;
      const b = y > 0 ? px[row - stride + i]! : 0;
      const c = i >= bpp && y > 0 ? px[row - stride + i - bpp]! : 0;
      let v: number;
      switch (filter) {
        case 0: v = x; break;
        case 1: v = x + a; break;
        case 2: v = x + b; break;
        case 3: v = x + ((a + b) >> 1); break;
        case 4: v = x + paeth(a, b, c); break;
        default: throw new Error(`decodePng: unknown row filter ${filter} in row ${y}.`);
      }
      px[row + i] = v & 0xff;
    }
  }
  // Sample k (0-based, channel-interleaved) of row y, as an integer at the file's depth.
  const sample = (y: number, k: number): number => {
    const row = y * stride;
    if (depth === 8) return px[row + k]!;
    if (depth === 16) return px[row + 2 * k]!; // high byte: 16-bit samples are reduced to 8 bits
    const bit = k * depth;
    return (px[row + (bit >> 3)]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
  };
  const maxSample = depth === 16 ? 255 : (1 << depth) - 1;
  const grey = (v: number): number => (depth >= 8 ? v : Math.round((v * 255) / maxSample));
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  const alpha = colourType === 4 || colourType === 6 ? new Uint8Array(n) : null;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const k = x * channels;
      switch (colourType) {
        case 0: rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey(sample(y, k)); break;
        case 4: rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = sample(y, k); alpha![p] = sample(y, k + 1); break;
        case 2: rgb[3 * p] = sample(y, k); rgb[3 * p + 1] = sample(y, k + 1); rgb[3 * p + 2] = sample(y, k + 2); break;
        case 6: rgb[3 * p] = sample(y, k); rgb[3 * p + 1] = sample(y, k + 1); rgb[3 * p + 2] = sample(y, k + 2); alpha![p] = sample(y, k + 3); break;
        default: {
          const idx = sample(y, k);
          if (idx * 3 + 2 >= palette!.length) throw new Error(`decodePng: palette index ${idx} is out of range.`);
          rgb[3 * p] = palette![idx * 3]!; rgb[3 * p + 1] = palette![idx * 3 + 1]!; rgb[3 * p + 2] = palette![idx * 3 + 2]!;
        }
      }
    }
  }
  return { width, height, rgb, alpha };
}
