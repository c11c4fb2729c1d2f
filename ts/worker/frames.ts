/**
 * The frames of one message (proto/SPEC.md "Framing"): a msgpack header frame and one raw frame per
 * tensor, its descriptor (name, dtype, shape) in the header. Decoding checks every descriptor and
 * frame size before it makes a view.
 */
import { Packr, Unpackr } from "msgpackr";
import { ProtocolError } from "../errors.js";
import { ITEM_SIZE, isDType, numel, type DType, type Tensor, type TensorData } from "./tensors.js";

function viewOf(dtype: DType, frame: Buffer): TensorData {
  const size = ITEM_SIZE[dtype];
  // Typed-array views need aligned offsets; ZeroMQ delivers large frames aligned, small ones may not be.
  const bytes = frame.byteOffset % 8 === 0 ? frame : Buffer.from(frame);
  const n = bytes.byteLength / size;
  switch (dtype) {
    case "float32":
      return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    case "float64":
      return new Float64Array(bytes.buffer, bytes.byteOffset, n);
    case "float16":
    case "bfloat16":
      return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    case "uint8":
      return new Uint8Array(bytes.buffer, bytes.byteOffset, n);
    case "int64":
      return new BigInt64Array(bytes.buffer, bytes.byteOffset, n);
  }
}

function frameOf(data: TensorData): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

/** A decoded message at the wire level (snake_case header, typed tensors). For tests and tools. */
export interface WireMessage {
  readonly header: Record<string, unknown>;
  readonly tensors: readonly (Tensor & { readonly name: string })[];
}

/** Decode frames into a wire-level header and tensors, validating descriptors before allocating. */
export function decodeFrames(frames: readonly Buffer[], maxBytes = Number.POSITIVE_INFINITY): WireMessage {
  const [head, ...rest] = frames;
  if (head === undefined) throw new ProtocolError("An empty message arrived; this is a bug in the peer, report it.");
  let header: unknown;
  try {
    header = unpackr.unpack(head);
  } catch {
    throw new ProtocolError("A message header is not valid msgpack; the peer does not speak this protocol.");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new ProtocolError("A message header is not a msgpack map; the peer does not speak this protocol.");
  }
  const h = header as Record<string, unknown>;
  const descriptors = h["tensors"] ?? [];
  if (!Array.isArray(descriptors)) throw new ProtocolError("A message lists its tensors wrongly; the peer does not follow proto/SPEC.md.");
  if (descriptors.length !== rest.length) {
    throw new ProtocolError(`A message announces ${descriptors.length} tensor frames but carries ${rest.length}; it was truncated or corrupted.`);
  }
  let total = 0;
  const tensors = descriptors.map((d: unknown, i) => {
    const desc = d as Record<string, unknown>;
    const name = desc["name"];
    const dtype = desc["dtype"];
    const shape = desc["shape"];
    const goodShape = Array.isArray(shape) && shape.length <= 8 && shape.every((s) => Number.isInteger(s) && (s as number) >= 0);
    if (typeof name !== "string" || !isDType(dtype) || !goodShape) {
      throw new ProtocolError(`Tensor descriptor ${i} is malformed (name, dtype or shape); the peer does not follow proto/SPEC.md.`);
    }
    const dims = shape as number[];
    const expected = numel(dims) * ITEM_SIZE[dtype];
    const frame = rest[i] as Buffer;
    if (frame.byteLength !== expected) {
      throw new ProtocolError(
        `Tensor "${name}" should have ${expected} bytes for ${dtype}[${dims.join(", ")}] but its frame has ${frame.byteLength}; the message was ` +
          `truncated or corrupted.`,
      );
    }
    total += expected;
    if (total > maxBytes) throw new ProtocolError(`A message exceeds the limit of ${maxBytes} bytes; send smaller batches.`);
    return { name, dtype, shape: dims, data: viewOf(dtype, frame) };
  });
  return { header: h, tensors };
}

/** Encode a wire-level header (snake_case) and named tensors into frames. */
export function encodeFrames(header: Record<string, unknown>, tensors: readonly (Tensor & { readonly name: string })[] = []): Buffer[] {
  return packFrames(tensors.length ? { ...header } : header, tensors);
}

export function packFrames(header: Record<string, unknown>, tensors: readonly (Tensor & { readonly name: string })[]): Buffer[] {
  const frames: Buffer[] = [];
  if (tensors.length) {
    const descriptors = [];
    for (const t of tensors) {
      descriptors.push({ name: t.name, dtype: t.dtype, shape: [...t.shape] });
      frames.push(frameOf(t.data));
    }
    header["tensors"] = descriptors;
  }
  frames.unshift(packr.pack(header));
  return frames;
}
