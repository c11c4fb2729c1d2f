/**
 * Every op of wire protocol v1 (proto/SPEC.md "Ops"), one entry each, and the request and result types
 * that follow from the table. A new op is one entry here and one in py/sencache_worker/protocol/ops.py's
 * `OPS`.
 */
import { fromHalf } from "./half.js";
import {
  bool,
  dims2,
  dims3,
  int,
  intMap,
  list,
  nullable,
  num,
  oneOf,
  opaque,
  optional,
  record,
  str,
  withDefault,
  type Infer,
  type Simplify,
} from "./header-fields.js";
import { op, type None, type RawResult, type TensorsOf } from "./op-spec.js";
import type { Tensor } from "./tensors.js";

export const PROTOCOL_VERSION = 1;

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

/** Every op of protocol v1 (proto/SPEC.md "Ops"). A new op is one entry here and one in protocol/ops.py's `OPS`. */
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
    result: {
      messages: int,
      denoise_requests: int,
      denoise_items: int,
      forwards: int,
      errors: int,
      models: int,
      conds: int,
      forward_seconds: num,
    },
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
