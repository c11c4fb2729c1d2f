/**
 * The TypeScript codec of wire protocol v1 (proto/SPEC.md). This is the only TypeScript file that
 * knows wire keys: everything else sees camelCase requests and typed results.
 */
import { Packr, Unpackr } from "msgpackr";
import { InvalidInputError, ProtocolError } from "../errors.js";
import { fromHalf } from "./half.js";

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------- tensors

export type DType = "float32" | "float64" | "float16" | "bfloat16" | "uint8" | "int64";
export type TensorData = Float32Array | Float64Array | Uint16Array | Uint8Array | BigInt64Array;

export interface Tensor<D extends TensorData = TensorData> {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: D;
}

const ITEM_SIZE: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  uint8: 1,
  int64: 8,
};

export function isDType(value: unknown): value is DType {
  return typeof value === "string" && Object.hasOwn(ITEM_SIZE, value);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function float32Tensor(data: Float32Array, shape: readonly number[]): Tensor<Float32Array> {
  if (numel(shape) !== data.length) {
    throw new ProtocolError(
      `A tensor of shape [${shape.join(", ")}] needs ${numel(shape)} values but ${data.length} were given; pass data that matches the shape.`,
    );
  }
  return { dtype: "float32", shape, data };
}

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

// ---------------------------------------------------------------- msgpack

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
    if (typeof name !== "string" || !isDType(dtype) || !Array.isArray(shape) || shape.length > 8 || !shape.every((s) => Number.isInteger(s) && (s as number) >= 0)) {
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

/** `encodeFrames` for a header the caller built for this message: its descriptors are added to it in place (no copy). */
function packFrames(header: Record<string, unknown>, tensors: readonly (Tensor & { readonly name: string })[]): Buffer[] {
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

// ---------------------------------------------------------------- schemas

/**
 * A kind of header value: how a TypeScript value is written into a header, and how a decoded header
 * value is checked and read back. `what` names the kind in error sentences.
 */
export interface Kind<T> {
  readonly what: string;
  read(value: unknown, path: string, op: string): T;
  write(value: T): unknown;
}

/**
 * A field a message may leave out. With `fill`, a request carries `fill` when the caller gives nothing,
 * and a reply that lacks the field reads as `fill` (so the result always has it).
 */
export interface Optional<T> {
  readonly optional: Kind<T>;
  readonly fill?: T;
}

type Field = Kind<any> | Optional<any>;
/** The fields of a map, keyed by their wire (snake_case) names; the TypeScript side sees them in camelCase. */
export type Fields = { readonly [wireKey: string]: Field };

/** `max_sequence_length` → `maxSequenceLength`, as a type. */
export type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ValueOf<F> = F extends Optional<infer T> ? T : F extends Kind<infer T> ? T : never;
/** Which side reads the map: a caller writing a request ("in") may leave out a filled field; a result ("out") always has it. */
type Side = "in" | "out";
type IsOptional<F, D extends Side> = F extends Optional<any> ? (D extends "out" ? (F extends { readonly fill: unknown } ? false : true) : true) : false;
type RequiredKeys<S, D extends Side> = { [K in keyof S]: IsOptional<S[K], D> extends true ? never : K }[keyof S] & string;
type OptionalKeys<S, D extends Side> = { [K in keyof S]: IsOptional<S[K], D> extends true ? K : never }[keyof S] & string;
/** The TypeScript value of a map with these fields. */
export type Infer<S extends Fields, D extends Side = "out"> = Simplify<
  { readonly [K in RequiredKeys<S, D> as Camel<K>]: ValueOf<S[K]> } & { readonly [K in OptionalKeys<S, D> as Camel<K>]?: ValueOf<S[K]> }
>;

/** `max_sequence_length` → `maxSequenceLength`. */
export function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function lacks(op: string, what: string, path: string): ProtocolError {
  return new ProtocolError(`The worker's ${op} reply lacks ${what} "${path}"; it does not follow proto/SPEC.md.`);
}

function scalar<T>(what: string, is: (v: unknown) => v is T): Kind<T> {
  return {
    what,
    read(value, path, op) {
      if (!is(value)) throw lacks(op, what, path);
      return value;
    },
    write: (value) => value,
  };
}

export const str = scalar("the string", (v): v is string => typeof v === "string");
export const num = scalar("the number", (v): v is number => typeof v === "number");
export const int = scalar("the whole number", (v): v is number => Number.isInteger(v));
export const bool = scalar("the boolean", (v): v is boolean => typeof v === "boolean");
/** A map passed through as it is (keys stay snake_case): the diffusers scheduler config. */
export const opaque = scalar("the map", (v): v is Readonly<Record<string, unknown>> => typeof v === "object" && v !== null && !Array.isArray(v));

/** A value that may be nil (`scale_2: null`). */
export function nullable<T>(of: Kind<T>): Kind<T | null> {
  return {
    what: of.what,
    read: (value, path, op) => (value === null ? null : of.read(value, path, op)),
    write: (value) => (value === null ? null : of.write(value)),
  };
}

/** A map of whole numbers by snake_case name, passed through as it is (`hello`'s `limits`). */
export const intMap = scalar(
  "the map of whole numbers",
  (v): v is Readonly<Record<string, number>> =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => Number.isInteger(x)),
);

/** Two whole numbers ([height, width]). */
export const dims2 = scalar(
  "the two whole numbers",
  (v): v is readonly [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x)),
);

/** Three positive whole numbers ([pt, ph, pw], [F', H', W']). */
export const dims3 = scalar(
  "the three positive whole numbers",
  (v): v is readonly [number, number, number] => Array.isArray(v) && v.length === 3 && v.every((x) => Number.isInteger(x) && (x as number) > 0),
);

export function oneOf<const V extends string>(...values: readonly V[]): Kind<V> {
  return scalar(`one of ${values.map((v) => `"${v}"`).join(", ")} as`, (v): v is V => values.includes(v as V));
}

export function list<T>(of: Kind<T>): Kind<readonly T[]> {
  return {
    what: `the list of ${of.what.replace(/^the /, "")}s`,
    read(value, path, op) {
      if (!Array.isArray(value)) throw lacks(op, this.what, path);
      return value.map((v: unknown, i) => of.read(v, `${path}[${i}]`, op));
    },
    write: (value) => value.map((v) => of.write(v)),
  };
}

/** A nested map with its own fields. */
export function record<const S extends Fields>(fields: S): Kind<Infer<S>> {
  return {
    what: "the map",
    read(value, path, op) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw lacks(op, "the map", path);
      return readFields(fields, value as Record<string, unknown>, op, `${path}.`) as Infer<S>;
    },
    write: (value) => writeFields(fields, value as Record<string, unknown>, "a nested map"),
  };
}

export function optional<T>(kind: Kind<T>): Optional<T> {
  return { optional: kind };
}

/** An optional field with a default (see `Optional`). */
export function withDefault<T>(kind: Kind<T>, fill: T): Optional<T> & { readonly fill: T } {
  return { optional: kind, fill };
}

function isOptional(field: Field): field is Optional<any> {
  return "optional" in field;
}

function writeFields(fields: Fields, value: Record<string, unknown>, op: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields)) {
    const given = value[camel(key)];
    if (isOptional(field)) {
      const v = given === undefined ? field.fill : given;
      if (v !== undefined) out[key] = field.optional.write(v);
    } else {
      if (given === undefined) throw new InvalidInputError(`A "${op}" request needs "${camel(key)}"; pass it.`);
      out[key] = field.write(given);
    }
  }
  return out;
}

function readFields(fields: Fields, value: Record<string, unknown>, op: string, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields)) {
    const v = value[key];
    const kind = isOptional(field) ? field.optional : field;
    if (v === undefined || v === null) {
      if (isOptional(field)) {
        if ("fill" in field) out[camel(key)] = field.fill;
        continue;
      }
      throw lacks(op, kind.what, `${prefix}${key}`);
    }
    out[camel(key)] = kind.read(v, `${prefix}${key}`, op);
  }
  return out;
}

// ---------------------------------------------------------------- the ops

/**
 * The tensors of a message, by wire name and dtype (or the dtypes it may travel in); `"any"`: whatever
 * tensors the caller sends (echo).
 */
export type TensorSpec = { readonly [name: string]: DType | readonly DType[] | TensorList } | "any";
/** A list of 1-D tensors named `<prefix>0`, `<prefix>1`, …: the caller passes their data arrays (read_media's files). */
export interface TensorList {
  readonly list: DType;
  readonly prefix: string;
}
type DataOf = { float32: Float32Array; float64: Float64Array; float16: Uint16Array; bfloat16: Uint16Array; uint8: Uint8Array; int64: BigInt64Array };
export type NamedTensor = Tensor & { readonly name: string };
type TensorsOf<T> = T extends "any"
  ? { readonly tensors: readonly NamedTensor[] }
  : { readonly [K in keyof T & string as Camel<K>]: TensorOf<T[K]> };
type TensorOf<D> = D extends { readonly list: infer E }
  ? readonly DataOf[E & DType][]
  : D extends readonly (infer E)[] ? (E extends DType ? Tensor<DataOf[E]> : never) : D extends DType ? Tensor<DataOf[D]> : never;
type RawResult<R extends Fields, TO extends TensorSpec> = Simplify<Infer<R> & TensorsOf<TO>>;

function dtypesOf(spec: DType | readonly DType[] | TensorList): readonly DType[] {
  return typeof spec === "string" ? [spec] : "list" in spec ? [spec.list] : spec;
}

/**
 * One wire op: its wire name, its arguments and result (header fields) and its tensors in and out,
 * and whether the worker answers it on its I/O thread (`inline`: answered during a long forward too)
 * or queues it for the compute thread. Encoding, reply validation and the TypeScript types follow
 * from it; py/sencache_worker/protocol.py has the same table for the worker.
 */
export interface OpSpec<A extends Fields = Fields, TI extends TensorSpec = TensorSpec, R extends Fields = Fields, TO extends TensorSpec = TensorSpec, F = unknown> {
  readonly wire: string;
  readonly inline: boolean;
  readonly args: A;
  readonly tensorsIn: TI;
  readonly result: R;
  readonly tensorsOut: TO;
  /** The typed result from the checked reply: fills what the reply may leave out, widens half-precision tensors. */
  finish(raw: RawResult<R, TO>): F;
}

type None = Record<never, never>;

interface OpParts<A extends Fields, TI extends TensorSpec, R extends Fields, TO extends TensorSpec, F> {
  readonly inline?: boolean;
  readonly args?: A;
  readonly tensorsIn?: TI;
  readonly result?: R;
  readonly tensorsOut?: TO;
  finish?(raw: RawResult<R, TO>): F;
}

function op<
  const A extends Fields = None,
  const TI extends TensorSpec = None,
  const R extends Fields = None,
  const TO extends TensorSpec = None,
  F = RawResult<R, TO>,
>(wire: string, spec: OpParts<A, TI, R, TO, F> = {}): OpSpec<A, TI, R, TO, F> {
  const none = {} as never;
  const finish = spec.finish ?? ((raw: RawResult<R, TO>) => raw as unknown as F);
  return {
    wire,
    inline: spec.inline ?? false,
    args: spec.args ?? none,
    tensorsIn: spec.tensorsIn ?? none,
    result: spec.result ?? none,
    tensorsOut: spec.tensorsOut ?? none,
    finish,
  };
}



const model = str;
const halfOrFloat = ["float32", "bfloat16", "float16"] as const;
const wireDtype = oneOf(...halfOrFloat);
const videoFormat = oneOf("mp4", "gif", "png", "grid");
const expert = record({ name: str, t_min: num, t_max: num });

const LOAD_RESULT = {
  model,
  family: str,
  pipeline_class: str,
  // The scheduler config stays in diffusers' own snake_case: the schedulers read it as diffusers does.
  scheduler: record({ class_name: str, config: opaque }),
  latent: record({ channels: int, spatial_scale: int, temporal_scale: int }),
  defaults: record({
    height: int,
    width: int,
    num_frames: int,
    guidance_scale: num,
    num_inference_steps: int,
    max_sequence_length: optional(int),
    /** Frames per second the pipeline's videos play at (older workers do not send it). */
    fps: optional(num),
  }),
  /** The transformers and their timestep ranges (Wan 2.2 A14B: two, split at boundary_ratio·1000); absent from an older worker: see Model.experts. */
  experts: optional(list(expert)),
  /** The pipeline's guidance defaults (scale_2: Wan 2.2's guidance of the low-noise expert; dynamic: CogVideoX's use_dynamic_cfg). */
  guidance: optional(record({ scale: num, scale_2: withDefault(nullable(num), null), dynamic: withDefault(bool, false) })),
  /** What sizes the model accepts. */
  geometry: optional(
    record({
      /** Transformer patch [pt, ph, pw] in latent cells. */
      patch: dims3,
      /** Height and width must be multiples of this (pixels). */
      spatial_multiple: int,
      /** num_frames = multiple·k + plus (Wan, CogVideoX: 4k+1; LTX-Video: 8k+1). */
      frame_rule: record({ multiple: int, plus: int }),
      /** The largest latent [F', H', W'] the positional range allows (absent: no limit known). */
      max_latent: optional(dims3),
      /** The only [height, width] the model generates (learned positional embeddings: CogVideoX 5b-I2V); absent otherwise. */
      fixed_size: optional(dims2),
    }),
  ),
  /** dtype of the latents on the wire for denoise. */
  wire_dtype: withDefault(wireDtype, "float32"),
  /** The device-side load options the worker applied (dtype, offload, VAE tiling / slicing), as it reports them. */
  load_options: optional(opaque),
  /**
   * What the pipeline passes to `set_timesteps` besides the step count (LTX-Video: sigmas and mu). sigmas "linspace": custom
   * sigmas linspace(1, 1/n, n); mu "sequence_length": calculate_shift(F'·H'·W', scheduler config); null: neither.
   */
  set_timesteps: optional(record({ sigmas: withDefault(nullable(oneOf("linspace")), null), mu: withDefault(nullable(oneOf("sequence_length")), null) })),
  /** The pipeline needs a conditioning image (`encodeImage`) for every sample (false when absent). */
  image_to_video: optional(bool),
};

/** A reply without `set_timesteps` (an older worker) reads as "neither custom sigmas nor mu" (the type stays optional for fakes). */
function loadResult(raw: RawResult<typeof LOAD_RESULT, None>): RawResult<typeof LOAD_RESULT, None> {
  return { ...raw, setTimesteps: raw.setTimesteps ?? { sigmas: null, mu: null } };
}

const ENCODE_VIDEO_RESULT = { format: videoFormat, width: int, height: int, frames: int, fps: num, pad_bottom: int, pad_right: int };
const ENCODED_FILE = { data: "uint8" } as const;

/** The encoded file as plain bytes. */
function encodedFile({ data, ...rest }: RawResult<typeof ENCODE_VIDEO_RESULT, typeof ENCODED_FILE>) {
  return { ...rest, data: data.data };
}

const DENOISE_OUT = { out: halfOrFloat } as const;

/** The output widened to float32 here, at the edge, so every caller sees float32 whatever the wire carried. */
function denoiseResult({ out, items }: RawResult<{ items: typeof int }, typeof DENOISE_OUT>) {
  const wireDtype = out.dtype as (typeof halfOrFloat)[number];
  const data = wireDtype === "float32" ? (out.data as Float32Array) : fromHalf(wireDtype, out.data as Uint16Array);
  return { out: { dtype: "float32", shape: out.shape, data } as Tensor<Float32Array>, items, wireDtype };
}

/** Every op of protocol v1 (proto/SPEC.md "Ops"). A new op is one entry here and one in protocol.py's `OPS`. */
export const OPS = {
  hello: op("hello", {
    inline: true,
    args: { client: str, protocols: withDefault(list(int), [PROTOCOL_VERSION]) },
    /** `limits`: the worker's request bounds by name (`max_frames`, `max_pixels`, …; proto/SPEC.md "Limits"). */
    result: { protocol: int, worker: str, version: str, device: str, pid: int, torch: str, diffusers: str, max_message_bytes: int, limits: intMap },
  }),
  ping: op("ping", { inline: true }),
  load: op("load", {
    args: {
      source: str,
      dtype: optional(str),
      family: optional(str),
      /** "model": diffusers' enable_model_cpu_offload (weights wait in CPU memory, one component on the device at a time). */
      offload: optional(oneOf("model", "sequential")),
      vae_tiling: optional(bool),
      vae_slicing: optional(bool),
      /** Latents on the wire for denoise: "auto" (the transformer's dtype when it is bf16/fp16), or one dtype. */
      wire_dtype: optional(oneOf("auto", ...halfOrFloat)),
    },
    result: LOAD_RESULT,
    finish: loadResult,
  }),
  encodePrompt: op("encode_prompt", { args: { model, text: str, max_sequence_length: optional(int) }, result: { cond: str, tokens: int } }),
  /** Image-to-video: one sample's conditioning image, prepared for its seed and size; the handle names it in later requests. */
  encodeImage: op("encode_image", {
    args: { model, seed: int, height: int, width: int, num_frames: int },
    tensorsIn: { image: "uint8" },
    result: { image: str },
  }),
  prepareLatents: op("prepare_latents", {
    /** `image`: an encodeImage handle, whose latents are the sample's initial latent. */
    args: { model, seed: int, height: int, width: int, num_frames: int, image: optional(str) },
    tensorsOut: { latents: "float32" },
  }),
  denoise: op("denoise", {
    /** `image`: image-to-video, the encodeImage handle of the item's sample; `fps`: LTX-Video's frame rate (RoPE scale). */
    args: { model, items: list(record({ cond: str, t: num, branch: oneOf("cond", "uncond"), image: optional(str), fps: optional(num) })) },
    // bf16 / fp16 latents travel as their bit patterns when the model was loaded with that wire dtype.
    tensorsIn: { x: halfOrFloat },
    result: { items: int },
    tensorsOut: DENOISE_OUT,
    finish: denoiseResult,
  }),
  timeEmbedding: op("time_embedding", { args: { model, timesteps: list(num) }, tensorsOut: { emb: "float32" } }),
  decode: op("decode", { args: { model }, tensorsIn: { latents: "float32" }, tensorsOut: { video: "uint8" } }),
  encodeMedia: op("encode_media", { args: { model, sample: optional(bool) }, tensorsIn: { video: "uint8" }, tensorsOut: { latents: "float32" } }),
  /** A video (for "grid": several, [R, F, H, W, 3]) encoded as a file: MP4 (H.264 yuv420p), GIF, a PNG strip or a labelled PNG grid. */
  encodeVideo: op("encode_video", {
    args: { format: videoFormat, fps: optional(num), scale: optional(int), labels: optional(list(str)), title: optional(str), columns: optional(list(int)) },
    tensorsIn: { video: "uint8" },
    /** `data` is the encoded file; `pad_bottom` / `pad_right`: edge rows / columns added (H.264 yuv420p needs even sizes). */
    result: ENCODE_VIDEO_RESULT,
    tensorsOut: ENCODED_FILE,
    finish: encodedFile,
  }),
  /** Media files (images, an animated GIF, a video) read into a uint8 video [F, H, W, 3] of the asked size; `names` give the kinds. */
  readMedia: op("read_media", {
    args: { names: list(str), height: int, width: int, num_frames: int },
    tensorsIn: { files: { list: "uint8", prefix: "file" } },
    tensorsOut: { video: "uint8" },
  }),
  release: op("release", { args: { handles: list(str) }, result: { released: int } }),
  echo: op("echo", { inline: true, tensorsIn: "any", tensorsOut: "any" }),
  stats: op("stats", {
    inline: true,
    result: { messages: int, denoise_requests: int, denoise_items: int, forwards: int, errors: int, models: int, conds: int },
  }),
  /** The worker's own op table: per op its wire name, thread, arguments (key -> kind), tensors in (name -> dtypes), result fields and tensors out. */
  ops: op("ops", {
    inline: true,
    result: { ops: list(record({ name: str, inline: bool, args: opaque, tensors_in: opaque, result: list(str), tensors_out: list(str) })) },
  }),
  shutdown: op("shutdown", { inline: true }),
} as const;

export type Op = keyof typeof OPS;
type SpecOf<O extends Op> = (typeof OPS)[O];

/** The request of one op, as TypeScript callers write it (camelCase fields, tensors by name). */
export type RequestOf<O extends Op> = Simplify<{ readonly op: O } & Infer<SpecOf<O>["args"], "in"> & TensorsOf<SpecOf<O>["tensorsIn"]>>;
export type Request = { [O in Op]: RequestOf<O> }[Op];
/** The typed result of each op. */
export type ResultOf = { [O in Op]: ReturnType<SpecOf<O>["finish"]> };

export type HelloResult = ResultOf["hello"];
export type LoadResult = ResultOf["load"];
export type StatsResult = ResultOf["stats"];
export type LoadExpert = NonNullable<LoadResult["experts"]>[number];
export type LoadGeometry = NonNullable<LoadResult["geometry"]>;
export type SetTimestepsRule = NonNullable<LoadResult["setTimesteps"]>;
export type DenoiseItem = RequestOf<"denoise">["items"][number];
export type Branch = DenoiseItem["branch"];
export type EncodeVideoResult = ResultOf["encodeVideo"];
/** Files `encodeVideo` makes: MP4 (H.264 yuv420p), animated GIF, a PNG strip of the frames, a labelled PNG grid of several videos. */
export type VideoFormat = RequestOf<"encodeVideo">["format"];

const OP_OF_WIRE = new Map(Object.entries(OPS).map(([name, spec]) => [spec.wire, name as Op]));

/** Options for tests that must speak a wrong dialect on purpose. */
export interface EncodeOptions {
  readonly version?: number;
  readonly wireOp?: string;
}

/** Encode a request with its id into frames. */
export function encodeRequest(id: number, req: Request, options: EncodeOptions = {}): Buffer[] {
  const spec: OpSpec = OPS[req.op];
  const value = req as unknown as Record<string, unknown>;
  const args = writeFields(spec.args, value, req.op);
  let tensors: NamedTensor[];
  if (spec.tensorsIn === "any") tensors = [...(value["tensors"] as readonly NamedTensor[])];
  else {
    // The dtype is the worker's to check (bad_dtype): a test sends a wrong one on purpose.
    tensors = Object.entries(spec.tensorsIn).flatMap(([name, dtype]) => {
      if (typeof dtype === "object" && "list" in dtype) {
        const items = (value[camel(name)] ?? []) as readonly TensorData[];
        return items.map((data, i) => ({ name: `${dtype.prefix}${i}`, dtype: dtype.list, shape: [data.length], data }));
      }
      const t = value[camel(name)] as Tensor | undefined;
      if (t === undefined) throw new InvalidInputError(`A "${req.op}" request needs the ${dtypesOf(dtype).join(" or ")} tensor "${camel(name)}"; pass one.`);
      return [{ name, dtype: t.dtype, shape: t.shape, data: t.data }];
    });
  }
  const header: Record<string, unknown> = { v: options.version ?? PROTOCOL_VERSION, op: options.wireOp ?? spec.wire, id };
  if (Object.keys(args).length) header["args"] = args;
  return packFrames(header, tensors);
}

// ---------------------------------------------------------------- replies

export type Reply =
  | { readonly id: number; readonly op: Op | "unknown"; readonly ok: true; readonly result: Record<string, unknown>; readonly tensors: WireMessage["tensors"] }
  | { readonly id: number; readonly op: Op | "unknown"; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

const NOT_SPEC = "the worker does not follow proto/SPEC.md.";

/** Decode the frames of a reply (header + tensors); the result stays untyped until `parseResult`. */
export function decodeReply(frames: readonly Buffer[], maxBytes?: number): Reply {
  const { header: h, tensors } = decodeFrames(frames, maxBytes);
  const id = h["id"];
  const wireOp = h["op"];
  if (h["v"] !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      `The worker speaks protocol version ${String(h["v"])} but this client speaks ${PROTOCOL_VERSION}; install matching versions of the SDK and the worker.`,
    );
  }
  if (typeof id !== "number" || typeof wireOp !== "string") throw new ProtocolError(`A reply lacks its id or op; ${NOT_SPEC}`);
  const op = OP_OF_WIRE.get(wireOp) ?? "unknown";
  if (h["ok"] === true) {
    const result = h["result"] ?? {};
    if (typeof result !== "object" || result === null) throw new ProtocolError(`A reply's result is not a map; ${NOT_SPEC}`);
    return { id, op, ok: true, result: result as Record<string, unknown>, tensors };
  }
  const error = h["error"] as Record<string, unknown> | undefined;
  const code = error?.["code"];
  const message = error?.["message"];
  if (typeof code !== "string" || typeof message !== "string") throw new ProtocolError(`An error reply lacks its code or message; ${NOT_SPEC}`);
  return { id, op, ok: false, error: { code, message } };
}

/** Turn a successful reply into the typed result of its op, checking it against the op's table entry. */
export function parseResult<O extends Op>(op: O, result: Record<string, unknown>, tensors: WireMessage["tensors"]): ResultOf[O] {
  const spec: OpSpec = OPS[op];
  const out = readFields(spec.result, result, op);
  if (spec.tensorsOut === "any") out["tensors"] = tensors;
  else {
    for (const [name, dtype] of Object.entries(spec.tensorsOut)) {
      const dtypes = dtypesOf(dtype);
      const t = tensors.find((x) => x.name === name);
      if (t === undefined || !dtypes.includes(t.dtype)) throw lacks(op, `the ${dtypes.join(" or ")} tensor`, name);
      out[camel(name)] = { dtype: t.dtype, shape: t.shape, data: t.data };
    }
  }
  return spec.finish(out as never) as ResultOf[O];
}
