/**
 * The TypeScript codec of wire protocol v1 (proto/SPEC.md). This is the only TypeScript file that
 * knows wire keys: everything else sees camelCase requests and typed results.
 */
import { Packr, Unpackr } from "msgpackr";
import { ProtocolError } from "../errors.js";
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
    throw new ProtocolError(`A tensor of shape [${shape.join(", ")}] needs ${numel(shape)} values but ${data.length} were given; pass data that matches the shape.`);
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
      throw new ProtocolError(`Tensor "${name}" should have ${expected} bytes for ${dtype}[${dims.join(", ")}] but its frame has ${frame.byteLength}; the message was truncated or corrupted.`);
    }
    total += expected;
    if (total > maxBytes) throw new ProtocolError(`A message exceeds the limit of ${maxBytes} bytes; send smaller batches.`);
    return { name, dtype, shape: dims, data: viewOf(dtype, frame) };
  });
  return { header: h, tensors };
}

/** Encode a wire-level header (snake_case) and named tensors into frames. */
export function encodeFrames(header: Record<string, unknown>, tensors: readonly (Tensor & { readonly name: string })[] = []): Buffer[] {
  const withDescriptors = tensors.length
    ? { ...header, tensors: tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })) }
    : header;
  return [packr.pack(withDescriptors), ...tensors.map((t) => frameOf(t.data))];
}

// ---------------------------------------------------------------- requests

export type Branch = "cond" | "uncond";

export interface DenoiseItem {
  readonly cond: string;
  readonly t: number;
  readonly branch: Branch;
  /** Image-to-video: the handle from `encodeImage` for this item's sample. */
  readonly image?: string;
}

export type Request =
  | { readonly op: "hello"; readonly client: string }
  | { readonly op: "ping" }
  | {
      readonly op: "load";
      readonly source: string;
      readonly dtype?: string;
      readonly family?: string;
      /** "model": diffusers' enable_model_cpu_offload (weights wait in CPU memory, one component on the device at a time). */
      readonly offload?: "model" | "sequential";
      readonly vaeTiling?: boolean;
      readonly vaeSlicing?: boolean;
      /** Latents on the wire for denoise: "auto" (the transformer's dtype when it is bf16/fp16), or one dtype. */
      readonly wireDtype?: "auto" | "float32" | "bfloat16" | "float16";
    }
  | { readonly op: "encodePrompt"; readonly model: string; readonly text: string; readonly maxSequenceLength?: number }
  | { readonly op: "encodeImage"; readonly model: string; readonly seed: number; readonly height: number; readonly width: number; readonly numFrames: number; readonly image: Tensor<Uint8Array> }
  | { readonly op: "prepareLatents"; readonly model: string; readonly seed: number; readonly height: number; readonly width: number; readonly numFrames: number; readonly image?: string }
  | { readonly op: "denoise"; readonly model: string; readonly items: readonly DenoiseItem[]; readonly x: Tensor<Float32Array> | Tensor<Uint16Array> }
  | { readonly op: "timeEmbedding"; readonly model: string; readonly timesteps: readonly number[] }
  | { readonly op: "decode"; readonly model: string; readonly latents: Tensor<Float32Array> }
  | { readonly op: "encodeMedia"; readonly model: string; readonly video: Tensor<Uint8Array>; readonly sample?: boolean }
  | {
      readonly op: "encodeVideo";
      /** [F, H, W, 3] (for "grid": [R, F, H, W, 3]) uint8 RGB. */
      readonly video: Tensor<Uint8Array>;
      readonly format: VideoFormat;
      readonly fps?: number;
      readonly scale?: number;
      readonly labels?: readonly string[];
      readonly title?: string;
      readonly columns?: readonly number[];
    }
  | {
      readonly op: "readMedia";
      /** The files' bytes (one image per frame, or one animated image / video) and their names (the extension says the kind). */
      readonly files: readonly Uint8Array[];
      readonly names: readonly string[];
      readonly height: number;
      readonly width: number;
      readonly numFrames: number;
    }
  | { readonly op: "release"; readonly handles: readonly string[] }
  | { readonly op: "echo"; readonly tensors: readonly (Tensor & { readonly name: string })[] }
  | { readonly op: "stats" }
  | { readonly op: "shutdown" };

export type Op = Request["op"];

/** Files `encodeVideo` makes: MP4 (H.264 yuv420p), animated GIF, a PNG strip of the frames, a labelled PNG grid of several videos. */
export type VideoFormat = "mp4" | "gif" | "png" | "grid";

const WIRE_OP: Record<Op, string> = {
  hello: "hello",
  ping: "ping",
  load: "load",
  encodePrompt: "encode_prompt",
  encodeImage: "encode_image",
  prepareLatents: "prepare_latents",
  denoise: "denoise",
  timeEmbedding: "time_embedding",
  decode: "decode",
  encodeMedia: "encode_media",
  encodeVideo: "encode_video",
  readMedia: "read_media",
  release: "release",
  echo: "echo",
  stats: "stats",
  shutdown: "shutdown",
};
const OP_OF_WIRE = new Map(Object.entries(WIRE_OP).map(([k, v]) => [v, k as Op]));

function definedOnly(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/** Options for tests that must speak a wrong dialect on purpose. */
export interface EncodeOptions {
  readonly version?: number;
  readonly wireOp?: string;
}

/** Encode a request with its id into frames. */
export function encodeRequest(id: number, req: Request, options: EncodeOptions = {}): Buffer[] {
  let args: Record<string, unknown> = {};
  const tensors: (Tensor & { name: string })[] = [];
  switch (req.op) {
    case "hello":
      args = { client: req.client, protocols: [PROTOCOL_VERSION] };
      break;
    case "load":
      args = definedOnly({
        source: req.source,
        dtype: req.dtype,
        family: req.family,
        offload: req.offload,
        vae_tiling: req.vaeTiling,
        vae_slicing: req.vaeSlicing,
        wire_dtype: req.wireDtype,
      });
      break;
    case "encodePrompt":
      args = definedOnly({ model: req.model, text: req.text, max_sequence_length: req.maxSequenceLength });
      break;
    case "encodeImage":
      args = { model: req.model, seed: req.seed, height: req.height, width: req.width, num_frames: req.numFrames };
      tensors.push({ name: "image", ...req.image });
      break;
    case "prepareLatents":
      args = definedOnly({ model: req.model, seed: req.seed, height: req.height, width: req.width, num_frames: req.numFrames, image: req.image });
      break;
    case "denoise":
      args = { model: req.model, items: req.items.map((it) => definedOnly({ cond: it.cond, t: it.t, branch: it.branch, image: it.image })) };
      tensors.push({ name: "x", ...req.x });
      break;
    case "timeEmbedding":
      args = { model: req.model, timesteps: [...req.timesteps] };
      break;
    case "decode":
      args = { model: req.model };
      tensors.push({ name: "latents", ...req.latents });
      break;
    case "encodeMedia":
      args = definedOnly({ model: req.model, sample: req.sample });
      tensors.push({ name: "video", ...req.video });
      break;
    case "encodeVideo":
      args = definedOnly({ format: req.format, fps: req.fps, scale: req.scale, labels: req.labels && [...req.labels], title: req.title, columns: req.columns && [...req.columns] });
      tensors.push({ name: "video", ...req.video });
      break;
    case "readMedia":
      args = { names: [...req.names], height: req.height, width: req.width, num_frames: req.numFrames };
      req.files.forEach((data, i) => tensors.push({ name: `file${i}`, dtype: "uint8", shape: [data.length], data }));
      break;
    case "release":
      args = { handles: [...req.handles] };
      break;
    case "echo":
      tensors.push(...req.tensors);
      break;
    case "ping":
    case "stats":
    case "shutdown":
      break;
  }
  const header: Record<string, unknown> = { v: options.version ?? PROTOCOL_VERSION, op: options.wireOp ?? WIRE_OP[req.op], id };
  if (Object.keys(args).length) header["args"] = args;
  return encodeFrames(header, tensors);
}

// ---------------------------------------------------------------- replies

export interface HelloResult {
  readonly protocol: number;
  readonly worker: string;
  readonly version: string;
  readonly device: string;
  readonly pid: number;
  readonly torch: string;
  readonly diffusers: string;
  readonly maxMessageBytes: number;
}

/** One transformer and the timesteps it serves (Wan 2.2 A14B: two, split at boundary_ratio·1000). */
export interface LoadExpert {
  readonly name: string;
  readonly tMin: number;
  readonly tMax: number;
}

/** What sizes the model accepts (the load result's `geometry`). */
export interface LoadGeometry {
  /** Transformer patch [pt, ph, pw] in latent cells. */
  readonly patch: readonly [number, number, number];
  /** Height and width must be multiples of this (pixels). */
  readonly spatialMultiple: number;
  /** num_frames = multiple·k + plus (Wan, CogVideoX: 4k+1; LTX-Video: 8k+1). */
  readonly frameRule: { readonly multiple: number; readonly plus: number };
  /** The largest latent [F', H', W'] the positional range allows (absent: no limit known). */
  readonly maxLatent?: readonly [number, number, number];
  /** The only [height, width] the model generates (learned positional embeddings: CogVideoX 5b-I2V); absent otherwise. */
  readonly fixedSize?: readonly [number, number];
}

export interface LoadResult {
  readonly model: string;
  readonly family: string;
  readonly pipelineClass: string;
  readonly scheduler: { readonly className: string; readonly config: Readonly<Record<string, unknown>> };
  readonly latent: { readonly channels: number; readonly spatialScale: number; readonly temporalScale: number };
  readonly defaults: {
    readonly height: number;
    readonly width: number;
    readonly numFrames: number;
    readonly guidanceScale: number;
    readonly numInferenceSteps: number;
    readonly maxSequenceLength?: number;
    /** Frames per second the pipeline's videos play at (older workers do not send it). */
    readonly fps?: number;
  };
  /** The transformers and their timestep ranges (absent from an older worker: see Model.experts). */
  readonly experts?: readonly LoadExpert[];
  /** The pipeline's guidance defaults (scale_2: Wan 2.2's guidance of the low-noise expert; dynamic: CogVideoX's use_dynamic_cfg). */
  readonly guidance?: { readonly scale: number; readonly scale2: number | null; readonly dynamic: boolean };
  readonly geometry?: LoadGeometry;
  /** dtype of the latents on the wire for denoise (float32 when the worker says nothing). */
  readonly wireDtype: "float32" | "bfloat16" | "float16";
  /** The device-side load options the worker applied (dtype, offload, VAE tiling / slicing), as it reports them. */
  readonly loadOptions?: Readonly<Record<string, unknown>>;
  /** What the pipeline passes to `set_timesteps` besides the step count (LTX-Video: sigmas and mu; nothing when the worker says nothing). */
  readonly setTimesteps?: SetTimestepsRule;
  /** The pipeline needs a conditioning image (`encodeImage`) for every sample (false when absent). */
  readonly imageToVideo?: boolean;
}

export interface SetTimestepsRule {
  /** "linspace": custom sigmas linspace(1, 1/n, n); null: the scheduler's own spacing. */
  readonly sigmas: "linspace" | null;
  /** "sequence_length": mu = calculate_shift(F'·H'·W', scheduler config); null: no mu. */
  readonly mu: "sequence_length" | null;
}

function parseSetTimesteps(r: Record<string, unknown>): SetTimestepsRule {
  const st = r["set_timesteps"];
  const o = (typeof st === "object" && st !== null && !Array.isArray(st) ? st : {}) as Record<string, unknown>;
  return { sigmas: o["sigmas"] === "linspace" ? "linspace" : null, mu: o["mu"] === "sequence_length" ? "sequence_length" : null };
}

function parseExperts(r: Record<string, unknown>): LoadExpert[] | undefined {
  const v = r["experts"];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0) throw new ProtocolError('The worker\'s load reply has an "experts" that is not a non-empty list; it does not follow proto/SPEC.md.');
  return v.map((e: unknown) => {
    const o = (typeof e === "object" && e !== null ? e : {}) as Record<string, unknown>;
    return { name: str(o, "name", "load"), tMin: num(o, "t_min", "load"), tMax: num(o, "t_max", "load") };
  });
}

function parseGeometry(r: Record<string, unknown>): LoadGeometry | undefined {
  const g = r["geometry"];
  if (g === undefined || g === null) return undefined;
  if (typeof g !== "object" || Array.isArray(g)) throw new ProtocolError('The worker\'s load reply has a "geometry" that is not a map; it does not follow proto/SPEC.md.');
  const o = g as Record<string, unknown>;
  const triple = (key: string): [number, number, number] => {
    const a = o[key];
    if (!Array.isArray(a) || a.length !== 3 || !a.every((x) => Number.isInteger(x) && (x as number) > 0)) {
      throw new ProtocolError(`The worker's load reply has a geometry "${key}" that is not three positive integers; it does not follow proto/SPEC.md.`);
    }
    return a as [number, number, number];
  };
  const rule = obj(o, "frame_rule", "load");
  const max = o["max_latent"];
  return {
    patch: triple("patch"),
    spatialMultiple: num(o, "spatial_multiple", "load"),
    frameRule: { multiple: num(rule, "multiple", "load"), plus: num(rule, "plus", "load") },
    ...(max !== undefined && max !== null ? { maxLatent: triple("max_latent") } : {}),
    ...(Array.isArray(o["fixed_size"]) && o["fixed_size"].length === 2 ? { fixedSize: o["fixed_size"] as [number, number] } : {}),
  };
}

function parseGuidance(r: Record<string, unknown>): LoadResult["guidance"] {
  const g = r["guidance"];
  if (g === undefined || g === null) return undefined;
  if (typeof g !== "object" || Array.isArray(g)) throw new ProtocolError('The worker\'s load reply has a "guidance" that is not a map; it does not follow proto/SPEC.md.');
  const o = g as Record<string, unknown>;
  const s2 = o["scale_2"];
  return { scale: num(o, "scale", "load"), scale2: typeof s2 === "number" ? s2 : null, dynamic: o["dynamic"] === true };
}

function parseWireDtype(r: Record<string, unknown>): LoadResult["wireDtype"] {
  const w = r["wire_dtype"];
  if (w === undefined || w === null) return "float32";
  if (w !== "float32" && w !== "bfloat16" && w !== "float16") throw new ProtocolError(`The worker's load reply names the wire dtype ${JSON.stringify(w)}; this client reads float32, bfloat16 or float16.`);
  return w;
}

export interface EncodeVideoResult {
  /** The encoded file. */
  readonly data: Uint8Array;
  readonly format: VideoFormat;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly fps: number;
  /** Edge rows / columns added at the bottom / right (H.264 yuv420p needs even sizes); 0 otherwise. */
  readonly padBottom: number;
  readonly padRight: number;
}

export interface StatsResult {
  readonly messages: number;
  readonly denoiseRequests: number;
  readonly denoiseItems: number;
  readonly forwards: number;
  readonly errors: number;
  readonly models: number;
  readonly conds: number;
}

export interface ResultOf {
  hello: HelloResult;
  ping: Record<string, never>;
  load: LoadResult;
  encodePrompt: { readonly cond: string; readonly tokens: number };
  encodeImage: { readonly image: string };
  prepareLatents: { readonly latents: Tensor<Float32Array> };
  /** `out` is float32 whatever the wire carried; `wireDtype` says what that was. */
  denoise: { readonly out: Tensor<Float32Array>; readonly items: number; readonly wireDtype: "float32" | "bfloat16" | "float16" };
  timeEmbedding: { readonly emb: Tensor<Float32Array> };
  decode: { readonly video: Tensor<Uint8Array> };
  encodeMedia: { readonly latents: Tensor<Float32Array> };
  encodeVideo: EncodeVideoResult;
  readMedia: { readonly video: Tensor<Uint8Array> };
  release: { readonly released: number };
  echo: { readonly tensors: WireMessage["tensors"] };
  stats: StatsResult;
  shutdown: Record<string, never>;
}

export type Reply =
  | { readonly id: number; readonly op: Op | "unknown"; readonly ok: true; readonly result: Record<string, unknown>; readonly tensors: WireMessage["tensors"] }
  | { readonly id: number; readonly op: Op | "unknown"; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** Decode the frames of a reply (header + tensors); the result stays untyped until `parseResult`. */
export function decodeReply(frames: readonly Buffer[], maxBytes?: number): Reply {
  const { header: h, tensors } = decodeFrames(frames, maxBytes);
  const id = h["id"];
  const wireOp = h["op"];
  if (h["v"] !== PROTOCOL_VERSION) throw new ProtocolError(`The worker speaks protocol version ${String(h["v"])} but this client speaks ${PROTOCOL_VERSION}; install matching versions of the SDK and the worker.`);
  if (typeof id !== "number" || typeof wireOp !== "string") throw new ProtocolError("A reply lacks its id or op; the worker does not follow proto/SPEC.md.");
  const op = OP_OF_WIRE.get(wireOp) ?? "unknown";
  if (h["ok"] === true) {
    const result = h["result"] ?? {};
    if (typeof result !== "object" || result === null) throw new ProtocolError("A reply's result is not a map; the worker does not follow proto/SPEC.md.");
    return { id, op, ok: true, result: result as Record<string, unknown>, tensors };
  }
  const error = h["error"] as Record<string, unknown> | undefined;
  const code = error?.["code"];
  const message = error?.["message"];
  if (typeof code !== "string" || typeof message !== "string") throw new ProtocolError("An error reply lacks its code or message; the worker does not follow proto/SPEC.md.");
  return { id, op, ok: false, error: { code, message } };
}

function num(r: Record<string, unknown>, key: string, op: string): number {
  const v = r[key];
  if (typeof v !== "number") throw new ProtocolError(`The worker's ${op} reply lacks the number "${key}"; it does not follow proto/SPEC.md.`);
  return v;
}

function str(r: Record<string, unknown>, key: string, op: string): string {
  const v = r[key];
  if (typeof v !== "string") throw new ProtocolError(`The worker's ${op} reply lacks the string "${key}"; it does not follow proto/SPEC.md.`);
  return v;
}

function obj(r: Record<string, unknown>, key: string, op: string): Record<string, unknown> {
  const v = r[key];
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ProtocolError(`The worker's ${op} reply lacks the map "${key}"; it does not follow proto/SPEC.md.`);
  return v as Record<string, unknown>;
}

function tensor<D extends TensorData>(tensors: WireMessage["tensors"], name: string, dtype: DType, op: string): Tensor<D> {
  const t = tensors.find((x) => x.name === name);
  if (!t || t.dtype !== dtype) throw new ProtocolError(`The worker's ${op} reply lacks the ${dtype} tensor "${name}"; it does not follow proto/SPEC.md.`);
  return { dtype: t.dtype, shape: t.shape, data: t.data as D };
}

/** Turn a successful reply into the typed result of its op. */
export function parseResult<O extends Op>(op: O, result: Record<string, unknown>, tensors: WireMessage["tensors"]): ResultOf[O] {
  const r = result;
  const parsed = ((): unknown => {
    switch (op) {
      case "hello":
        return {
          protocol: num(r, "protocol", op),
          worker: str(r, "worker", op),
          version: str(r, "version", op),
          device: str(r, "device", op),
          pid: num(r, "pid", op),
          torch: str(r, "torch", op),
          diffusers: str(r, "diffusers", op),
          maxMessageBytes: num(r, "max_message_bytes", op),
        } satisfies HelloResult;
      case "load": {
        const sched = obj(r, "scheduler", op);
        const latent = obj(r, "latent", op);
        const d = obj(r, "defaults", op);
        const msl = d["max_sequence_length"];
        const fps = d["fps"];
        const guidance = parseGuidance(r);
        const experts = parseExperts(r);
        const geometry = parseGeometry(r);
        const lo = r["load_options"];
        return {
          model: str(r, "model", op),
          family: str(r, "family", op),
          pipelineClass: str(r, "pipeline_class", op),
          // The scheduler config stays in diffusers' own snake_case: the schedulers read it as diffusers does.
          scheduler: { className: str(sched, "class_name", op), config: obj(sched, "config", op) },
          latent: { channels: num(latent, "channels", op), spatialScale: num(latent, "spatial_scale", op), temporalScale: num(latent, "temporal_scale", op) },
          defaults: {
            height: num(d, "height", op),
            width: num(d, "width", op),
            numFrames: num(d, "num_frames", op),
            guidanceScale: num(d, "guidance_scale", op),
            numInferenceSteps: num(d, "num_inference_steps", op),
            ...(typeof msl === "number" ? { maxSequenceLength: msl } : {}),
            ...(typeof fps === "number" ? { fps } : {}),
          },
          ...(experts ? { experts } : {}),
          ...(guidance ? { guidance } : {}),
          ...(geometry ? { geometry } : {}),
          wireDtype: parseWireDtype(r),
          ...(typeof lo === "object" && lo !== null && !Array.isArray(lo) ? { loadOptions: lo as Record<string, unknown> } : {}),
          setTimesteps: parseSetTimesteps(r),
          imageToVideo: r["image_to_video"] === true,
        } satisfies LoadResult;
      }
      case "encodePrompt":
        return { cond: str(r, "cond", op), tokens: num(r, "tokens", op) };
      case "encodeImage":
        return { image: str(r, "image", op) };
      case "prepareLatents":
        return { latents: tensor(tensors, "latents", "float32", op) };
      case "denoise": {
        // The output comes in the wire dtype the model was loaded with (float32 unless bf16/fp16 was chosen).
        const out = tensors.find((x) => x.name === "out");
        if (out === undefined || (out.dtype !== "float32" && out.dtype !== "bfloat16" && out.dtype !== "float16")) {
          throw new ProtocolError(`The worker's ${op} reply lacks the float32, bfloat16 or float16 tensor "out"; it does not follow proto/SPEC.md.`);
        }
        // Widened to float32 here, at the edge, so every caller sees float32 whatever the wire carried.
        const data = out.dtype === "float32" ? (out.data as Float32Array) : fromHalf(out.dtype, out.data as Uint16Array);
        return { out: { dtype: "float32", shape: out.shape, data }, items: num(r, "items", op), wireDtype: out.dtype };
      }
      case "timeEmbedding":
        return { emb: tensor(tensors, "emb", "float32", op) };
      case "decode":
        return { video: tensor(tensors, "video", "uint8", op) };
      case "encodeMedia":
        return { latents: tensor(tensors, "latents", "float32", op) };
      case "encodeVideo":
        return {
          data: tensor<Uint8Array>(tensors, "data", "uint8", op).data,
          format: str(r, "format", op) as VideoFormat,
          width: num(r, "width", op),
          height: num(r, "height", op),
          frames: num(r, "frames", op),
          fps: num(r, "fps", op),
          padBottom: num(r, "pad_bottom", op),
          padRight: num(r, "pad_right", op),
        } satisfies EncodeVideoResult;
      case "readMedia":
        return { video: tensor(tensors, "video", "uint8", op) };
      case "release":
        return { released: num(r, "released", op) };
      case "echo":
        return { tensors };
      case "stats":
        return {
          messages: num(r, "messages", op),
          denoiseRequests: num(r, "denoise_requests", op),
          denoiseItems: num(r, "denoise_items", op),
          forwards: num(r, "forwards", op),
          errors: num(r, "errors", op),
          models: num(r, "models", op),
          conds: num(r, "conds", op),
        } satisfies StatsResult;
      case "ping":
      case "shutdown":
        return {};
    }
  })();
  return parsed as ResultOf[O];
}
