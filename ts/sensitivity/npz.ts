/**
 * A small reader for NumPy `.npy` arrays and `.npz` archives (a zip of `.npy` files), enough to import
 * the official SenCache release's sensitivity files (`timesteps`, `J_x_norm`, `J_t_norm`).
 *
 * Formats: the NPY format spec (numpy/numpy, `numpy/lib/format.py`, versions 1.0–3.0) and the ZIP
 * application note (PKWARE APPNOTE.TXT: end-of-central-directory, central directory, local headers,
 * ZIP64 extra field 0x0001). Entries may be stored (method 0) or deflated (method 8, via node:zlib).
 * Supported dtypes: float16/32/64, int8/16/32/64, uint8/16/32/64, bool, either byte order.
 */

import { inflateRawSync } from "node:zlib";
import { ProfileError } from "./errors.js";

export type NpyDtype = "f2" | "f4" | "f8" | "i1" | "i2" | "i4" | "i8" | "u1" | "u2" | "u4" | "u8" | "b1";

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** Element values in C (row-major) order, converted to float64 (int64 beyond 2^53 loses precision). */
  readonly data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

function fail(message: string): never {
  throw new ProfileError("invalid_npz", message);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f === 0 ? s * Infinity : NaN;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Parse one `.npy` file. */
export function parseNpy(bytes: Uint8Array, name = "array"): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(`"${name}" is not a .npy array (bad magic); save it with numpy.save or numpy.savez.`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else {
    fail(`"${name}" uses .npy format version ${major}, which this reader does not know; re-save it with a current numpy.`);
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(offset, offset + headerLen));
  const descr = /'descr'\s*:\s*'([<>|=])([a-z])(\d+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeMatch = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (descr === null || fortran === null || shapeMatch === null) fail(
    `"${name}" has a .npy header this reader cannot parse (${header.trim()}); save plain numeric arrays.`,
  );
  const [, order, kind, sizeText] = descr;
  const dtype = `${kind}${sizeText}` as NpyDtype;
  if (!["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"].includes(dtype)) {
    fail(`"${name}" has dtype ${order}${kind}${sizeText}, which this reader does not support; convert it to float32 or float64 before saving.`);
  }
  const shape = shapeMatch[1]!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => Number(s.replace(/L$/, "")));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`"${name}" has an invalid shape (${shapeMatch[1]}).`);
  const count = shape.reduce((a, b) => a * b, 1);
  const size = Number(sizeText);
  const little = order !== ">";
  const start = offset + headerLen;
  if (bytes.length < start + count * size) fail(`"${name}" is truncated: its header promises ${count} elements of ${size} bytes.`);
  const raw = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const p = start + i * size;
    switch (dtype) {
      case "f2": raw[i] = halfToFloat(view.getUint16(p, little)); break;
      case "f4": raw[i] = view.getFloat32(p, little); break;
      case "f8": raw[i] = view.getFloat64(p, little); break;
      case "i1": raw[i] = view.getInt8(p); break;
      case "i2": raw[i] = view.getInt16(p, little); break;
      case "i4": raw[i] = view.getInt32(p, little); break;
      case "i8": raw[i] = Number(view.getBigInt64(p, little)); break;
      case "u1": case "b1": raw[i] = view.getUint8(p); break;
      case "u2": raw[i] = view.getUint16(p, little); break;
      case "u4": raw[i] = view.getUint32(p, little); break;
      case "u8": raw[i] = Number(view.getBigUint64(p, little)); break;
    }
  }
  const data = fortran[1] === "True" && shape.length > 1 ? fortranToC(raw, shape) : raw;
  return { dtype, shape, data };
}

function fortranToC(src: Float64Array, shape: readonly number[]): Float64Array {
  const out = new Float64Array(src.length);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  for (let c = 0; c < src.length; c++) {
    // idx is the multi-index of C-order position c; find its Fortran-order position.
    let f = 0;
    let stride = 1;
    for (let d = 0; d < nd; d++) {
      f += idx[d]! * stride;
      stride *= shape[d]!;
    }
    out[c] = src[f]!;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d] = idx[d]! + 1;
      if (idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localOffset: number;
}

function readZip64Extra(view: DataView, start: number, length: number, want: { u: boolean; c: boolean; o: boolean }): { u?: number; c?: number; o?: number } {
  let p = start;
  const end = start + length;
  while (p + 4 <= end) {
    const id = view.getUint16(p, true);
    const size = view.getUint16(p + 2, true);
    if (id === 0x0001) {
      let q = p + 4;
      const out: { u?: number; c?: number; o?: number } = {};
      if (want.u) { out.u = Number(view.getBigUint64(q, true)); q += 8; }
      if (want.c) { out.c = Number(view.getBigUint64(q, true)); q += 8; }
      if (want.o) { out.o = Number(view.getBigUint64(q, true)); q += 8; }
      return out;
    }
    p += 4 + size;
  }
  return {};
}

function listZip(bytes: Uint8Array, name: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
    if (view.getUint32(p, true) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail(`"${name}" is not a zip archive (no end-of-central-directory record); .npz files are written by numpy.savez.`);
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const z64 = Number(view.getBigUint64(eocd - 12, true));
    if (view.getUint32(z64, true) === 0x06064b50) {
      count = Number(view.getBigUint64(z64 + 32, true));
      cdOffset = Number(view.getBigUint64(z64 + 48, true));
    }
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== 0x02014b50) fail(`"${name}" has a damaged zip central directory.`);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    const uncompressed = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    const entryName = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    if (compressedSize === 0xffffffff || uncompressed === 0xffffffff || localOffset === 0xffffffff) {
      const z = readZip64Extra(
        view,
        p + 46 + nameLen,
        extraLen,
        { u: uncompressed === 0xffffffff, c: compressedSize === 0xffffffff, o: localOffset === 0xffffffff },
      );
      if (z.c !== undefined) compressedSize = z.c;
      if (z.o !== undefined) localOffset = z.o;
    }
    entries.push({ name: entryName, method, compressedSize, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Parse a `.npz` archive into its arrays, keyed by name without the `.npy` suffix. */
export function parseNpz(bytes: Uint8Array, name = "archive.npz"): Map<string, NpyArray> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, NpyArray>();
  for (const entry of listZip(bytes, name)) {
    const p = entry.localOffset;
    if (p + 30 > bytes.length || view.getUint32(p, true) !== 0x04034b50) fail(`"${name}" has a damaged zip entry "${entry.name}".`);
    const dataStart = p + 30 + view.getUint16(p + 26, true) + view.getUint16(p + 28, true);
    const stored = bytes.subarray(dataStart, dataStart + entry.compressedSize);
    let content: Uint8Array;
    if (entry.method === 0) content = stored;
    else if (entry.method === 8) {
      try {
        content = inflateRawSync(stored);
      } catch (cause) {
        throw new ProfileError(
          "invalid_npz",
          `The entry "${entry.name}" of "${name}" does not inflate; the file is damaged, re-save it with numpy.savez.`,
          { cause },
        );
      }
    } else {
      fail(
        `The entry "${entry.name}" of "${name}" uses zip method ${entry.method}; ` +
          "only stored and deflated entries are supported (numpy.savez / savez_compressed write those).",
      );
    }
    const key = entry.name.endsWith(".npy") ? entry.name.slice(0, -4) : entry.name;
    out.set(key, parseNpy(content, `${name}:${entry.name}`));
  }
  return out;
}
