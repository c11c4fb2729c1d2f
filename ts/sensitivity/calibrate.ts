/**
 * Calibration through a worker-backed model (SenCache, Haghighi & Alahi, CVPR 2026, §3; MagCache, Ma et al., NeurIPS 2025).
 *
 * `calibrate` estimates the SenCache sensitivity profile with ordinary full evaluations: for each of
 * N samples with a clean latent x0 (from the user's media, encoded by the worker's VAE, or from
 * uncached generations) and each scheduled timestep t_k, with fresh seeded noise ε:
 *
 *   x = (1 − σ_k)·x0 + σ_k·ε  (flow models; else the scheduler's addNoise)
 *   y = f(x, t_k)                                 conditional branch only
 *   x' = Euler step of x with y (flow; else one step of a fresh scheduler);  y' = f(x', t_k)
 *   y_next = f(x, t_{k+1})  (t after the last = 0)
 *   J_x = ‖y' − y‖ / ‖x' − x‖,  J_t = ‖y_next − y‖ / |t_{k+1} − t_k|,  averaged over samples.
 *
 * 3 evaluations per timestep per sample, sent in blocks: one `denoise` message with the y items of a
 * block of timesteps, then one with its y' and y_next items (≤ maxItemsPerMessage items each).
 *
 * `calibrateMagcache` measures MagCache's per-step magnitude ratios ‖out_k‖/‖out_{k−1}‖ per CFG branch
 * over N uncached generations, recording the outputs through a wrapping Denoiser.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { AbortError, InvalidInputError } from "../errors.js";
import { l2Norm } from "../math.js";
import { pipelineTimestepOptions } from "../sampling/family.js";
import { generate } from "../sampling/generate.js";
import { sample } from "../sampling/loop.js";
import type { LatentSize, Model } from "../sampling/model.js";
import type { Denoiser, DenoiseItem } from "../sampling/types.js";
import { SeededNoiseSource } from "../schedulers/noise.js";
import type { SetTimestepsOptions } from "../schedulers/types.js";
import type { Tensor } from "../worker/tensors.js";
import type { WorkerLike } from "../worker/client.js";
import { aggregateProfile, eulerStep, flowNoise, measure, nextTimestep, type SensitivityMeasurement } from "./calibrate-math.js";
import { MAGCACHE_RATIOS_FORMAT, magnitudeRatios, withExpertRatios, type MagcacheRatiosFile } from "./magcache-ratios.js";
import { withExpertSections } from "./profile-experts.js";
import type { ProfileValidity, SensitivityProfile } from "./profile.js";
import { schedulerIdentity } from "../schedulers/identity.js";
import { expertSpans, expertsOfModel } from "../sampling/experts.js";

/** Prompts used for calibration-by-generation when the user gives none. */
export const DEFAULT_CALIBRATION_PROMPTS: readonly string[] = [
  "a red square moving left on a blue background",
  "a yellow ball bouncing on green grass",
  "waves rolling onto a sandy beach at sunset",
  "a person walking through a busy city street",
  "a cat playing with a ball of yarn",
  "clouds drifting over snowy mountains",
  "a car driving along a coastal road",
  "fireworks exploding in the night sky",
];

export interface CalibrationProgress {
  /** "encode": media through the VAE; "generate": an uncached generation step; "measure": timesteps measured. */
  readonly phase: "encode" | "generate" | "measure";
  /** Sample index (0-based) the event belongs to. */
  readonly sample: number;
  readonly samples: number;
  /** Work units done / total (one unit per measured timestep and per generation step). */
  readonly completed: number;
  readonly total: number;
}

export interface CalibrateOptions {
  /** Calibration samples N (default 8; paper Fig. 4: 8 give nearly the curves of 4096). */
  readonly samples?: number;
  /** Inference steps T of the schedule to calibrate (default: the model's). */
  readonly steps?: number;
  readonly height?: number;
  readonly width?: number;
  readonly numFrames?: number;
  /**
   * Real media as clean samples: images (replicated over the frames), animated GIFs, videos (.mp4, …)
   * or folders of image frames (one video per folder, frames in natural name order), read by the
   * worker (Pillow, imageio-ffmpeg). Resized to the model's size by centre crop and area sampling. Fewer media than samples are cycled (fresh noise each time).
   */
  readonly media?: readonly string[];
  /**
   * Prompts: the condition of each sample (cycled). Without media they also drive the uncached
   * generations that give x0. Default: DEFAULT_CALIBRATION_PROMPTS without media, "" with media.
   */
  readonly prompts?: readonly string[];
  /**
   * Image-to-video models: the conditioning images [H, W, 3] uint8, one per sample (cycled), sent with
   * encode_image as `generate` does. Required on an image-to-video model unless `media` is given (then
   * each clip's first frame conditions its sample); refused on a text-to-video model.
   */
  readonly images?: readonly Tensor<Uint8Array>[];
  /** Base seed of generations (seed + s) and of the calibration noise (default 0). */
  readonly seed?: number;
  /** Guidance of the uncached generations (default: the model's). The measurements use cond only. */
  readonly guidanceScale?: number;
  readonly schedulerOptions?: SetTimestepsOptions;
  /** Upper bound on items in one denoise message (default 64). */
  readonly maxItemsPerMessage?: number;
  /** Upper bound on the latent bytes in one denoise message (default 512 MiB). */
  readonly maxMessageBytes?: number;
  readonly onProgress?: (event: CalibrationProgress) => void;
  readonly signal?: AbortSignal;
}

export interface CalibrationReport {
  readonly samples: number;
  readonly steps: number;
  readonly source: "media" | "generations";
  readonly latentShape: readonly number[];
  /** Items sent for the measurements (3·T·N) and for the uncached generations. */
  readonly denoiseItems: { readonly measure: number; readonly generate: number };
  /** Denoise messages sent for the measurements. */
  readonly denoiseMessages: number;
  /** Measurements dropped as non-finite, per timestep. */
  readonly dropped: readonly number[];
  readonly wallMs: number;
}

export interface CalibrationResult {
  readonly profile: SensitivityProfile;
  readonly report: CalibrationReport;
}

// ---- media ---------------------------------------------------------------------------------------

/** Image files a folder of frames may hold (read by Pillow in the worker). */
const FRAME_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"]);
/** Files read as one clip each: videos (imageio-ffmpeg in the worker) and animated or still images. */
const MEDIA_EXTENSIONS = new Set([...FRAME_EXTENSIONS, ".gif", ".mp4", ".mov", ".mkv", ".webm", ".avi"]);

function listFrames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => FRAME_EXTENSIONS.has(extname(f).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
    .map((f) => join(dir, f));
}

/** What reads media files into frames: a worker client, or a model (its current client). */
export type MediaReader = WorkerLike | { readonly client: WorkerLike };

/**
 * Load one media item as a uint8 video [F, H, W, 3] of the given size: an image (repeated over the
 * frames), an animated GIF / WebP, a video file (.mp4, .mov, .mkv, .webm, .avi), or a folder of image
 * frames (natural name order). The worker decodes them (Pillow, imageio-ffmpeg), centre-crops to the
 * aspect, area-resamples to the size and nearest-frame samples to F frames.
 */
export async function loadMediaVideo(reader: MediaReader, path: string, size: LatentSize, signal?: AbortSignal): Promise<Tensor<Uint8Array>> {
  let files: string[];
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new InvalidInputError(`The calibration media "${path}" does not exist; pass images, videos or folders of image frames.`);
  }
  if (isDir) {
    files = listFrames(path);
    if (files.length === 0) throw new InvalidInputError(
      `The folder "${path}" holds no image frames (.png, .jpg, …); pass images, videos or folders of image frames.`,
    );
  } else {
    if (!MEDIA_EXTENSIONS.has(extname(path).toLowerCase())) {
      throw new InvalidInputError(
        `The calibration media "${basename(path)}" is neither an image nor a video sencache reads (${[...MEDIA_EXTENSIONS].join(", ")}); convert it to ` +
          `PNG or MP4.`,
      );
    }
    files = [path];
  }
  const client = "client" in reader ? reader.client : reader;
  const { video } = await client.request(
    {
      op: "readMedia",
      files: files.map((f) => readFileSync(f)),
      names: files.map((f) => basename(f)),
      height: size.height,
      width: size.width,
      numFrames: size.numFrames,
    },
    signal ? { signal } : {},
  );
  return video;
}

/** An image file (PNG, JPEG, …; a video's first frame) as a conditioning image [H, W, 3] uint8 of the given size, read by the worker. */
export async function loadImage(reader: MediaReader, path: string, size: Pick<LatentSize, "height" | "width">, signal?: AbortSignal):
  Promise<Tensor<Uint8Array>> {
  return firstFrame(await loadMediaVideo(reader, path, { height: size.height, width: size.width, numFrames: 1 }, signal));
}

// ---- helpers ------------------------------------------------------------------------------------

function checkAbort(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`Calibration was aborted ${what}.`);
}

function sizeOf(model: Model, o: { height?: number; width?: number; numFrames?: number }): LatentSize {
  const d = model.info.defaults;
  return { height: o.height ?? d.height, width: o.width ?? d.width, numFrames: o.numFrames ?? d.numFrames };
}

/**
 * The conditioning images of a calibration: required on an image-to-video model (one sentence saying
 * what to pass), refused on a text-to-video one. `fromMedia`: the clips' first frames may stand in.
 */
export function calibrationImages<I = Tensor<Uint8Array>>(model: Pick<Model, "info">, images: readonly I[] | undefined, fromMedia = false): readonly I[] {
  const list = images ?? [];
  const name = model.info.pipelineClass;
  if (model.info.imageToVideo !== true) {
    if (list.length > 0) throw new InvalidInputError(`${name} is a text-to-video model; calibration takes no conditioning image (drop --image / images).`);
    return [];
  }
  if (list.length === 0 && !fromMedia) {
    const what = "pass --image FILE (repeatable, cycled over the samples; SDK: images), or --media clips (each clip's first frame conditions it)";
    throw new InvalidInputError(`${name} is an image-to-video model, so calibration needs conditioning images: ${what}.`);
  }
  return list;
}

/** Frame 0 of a video [F, H, W, 3] as an image [H, W, 3]. */
function firstFrame(video: Tensor<Uint8Array>): Tensor<Uint8Array> {
  const [, h = 0, w = 0, c = 3] = video.shape;
  return { dtype: "uint8", shape: [h, w, c], data: video.data.slice(0, h * w * c) };
}

/**
 * The latent frames an image-to-video model holds at the image (LTX I2V, Wan 2.2 TI2V: the worker
 * returns a zero prediction there, so sampling never moves them): the frames of `out` that are zero.
 */
function heldFrames(out: Float32Array, shape: readonly number[]): number[] {
  const [, c = 1, f = 1, h = 1, w = 1] = shape;
  const held: number[] = [];
  for (let fi = 0; fi < f; fi++) {
    let zero = true;
    for (let ci = 0; ci < c && zero; ci++) {
      const base = (ci * f + fi) * h * w;
      for (let j = 0; j < h * w; j++) if (out[base + j] !== 0) { zero = false; break; }
    }
    if (zero) held.push(fi);
  }
  return held;
}

/** x with the frames `held` copied from `from` (both [1, C, F, H, W]). */
function holdFrames(x: Float32Array, from: Float32Array, held: readonly number[], shape: readonly number[]): Float32Array {
  if (held.length === 0) return x;
  const [, c = 1, f = 1, h = 1, w = 1] = shape;
  const out = x.slice();
  for (const fi of held) for (let ci = 0; ci < c; ci++) {
    const base = (ci * f + fi) * h * w;
    out.set(from.subarray(base, base + h * w), base);
  }
  return out;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${name} must be a positive integer, not ${value}.`);
  return value;
}

/** What a profile calibrated on this model / schedule / size is valid for. */
export function validityOf(model: Model, steps: number, latentShape: readonly number[]): ProfileValidity {
  return {
    model: { family: model.family, source: model.identity },
    scheduler: schedulerIdentity(model.info.scheduler),
    steps,
    latentShape: [...latentShape],
  };
}

// ---- SenCache calibration -----------------------------------------------------------------------

export async function calibrate(model: Model, options: CalibrateOptions = {}): Promise<CalibrationResult> {
  const started = performance.now();
  const N = positiveInt("samples", options.samples ?? 8);
  const T = positiveInt("steps", options.steps ?? model.info.defaults.numInferenceSteps);
  const size = sizeOf(model, options);
  const latentShape = model.latentShape(size);
  const numel = latentShape.reduce((a, b) => a * b, 1);
  const seed = options.seed ?? 0;
  const signal = options.signal;
  const media = options.media ?? [];
  const fromMedia = media.length > 0;
  const prompts = options.prompts !== undefined && options.prompts.length > 0 ? options.prompts : fromMedia ? [""] : DEFAULT_CALIBRATION_PROMPTS;
  const images = calibrationImages(model, options.images, fromMedia);
  const i2v = model.info.imageToVideo === true;
  const schedule = model.scheduler(T, { ...pipelineTimestepOptions(model.info, T, latentShape), ...(options.schedulerOptions ?? {}) });
  const timesteps = Array.from(schedule.timesteps);
  const sigmas = Array.from(schedule.sigmas);
  const flow = schedule.predictionType === "flow_prediction";
  const maxItems = Math.max(1, Math.min(options.maxItemsPerMessage ?? 64, Math.floor((options.maxMessageBytes ?? 512 * 2 ** 20) / (4 * numel))));
  // A block of B timesteps sends B items, then 2B items.
  const block = Math.max(1, Math.min(T, Math.floor(maxItems / 2)));
  const total = N * T + (fromMedia ? 0 : N * T);
  let completed = 0;
  const progress = (phase: CalibrationProgress["phase"], s: number, units: number): void => {
    completed += units;
    options.onProgress?.({ phase, sample: s, samples: N, completed, total });
  };

  // Conditions, one per distinct prompt.
  const conds = new Map<string, string>();
  const condOf = async (prompt: string): Promise<string> => {
    let c = conds.get(prompt);
    if (c === undefined) {
      c = await model.encodePrompt(prompt, signal ? { signal } : {});
      conds.set(prompt, c);
    }
    return c;
  };

  const measurements: SensitivityMeasurement[][] = [];
  let measureItems = 0;
  let generateItems = 0;
  let messages = 0;
  const send = async (items: DenoiseItem[]): Promise<Float32Array[]> => {
    checkAbort(signal, "between denoise messages");
    messages++;
    measureItems += items.length;
    return model.denoise(items, signal);
  };

  const imageHandles: string[] = [];
  const heldSeen = new Set<number>();
  try {
    for (let s = 0; s < N; s++) {
      checkAbort(signal, `before sample ${s + 1} of ${N}`);
      const prompt = prompts[s % prompts.length]!;
      let x0: Float32Array;
      let image = images.length > 0 ? images[s % images.length] : undefined;
      if (fromMedia) {
        const video = await loadMediaVideo(model, media[s % media.length]!, size, signal);
        if (i2v && image === undefined) image = firstFrame(video);
        const latents = await model.encodeMedia(video, signal);
        if (latents.data.length !== numel || latents.shape.some((d, i) => d !== latentShape[i])) {
          throw new InvalidInputError(
            `The media "${media[s % media.length]}" encoded to latents [${latents.shape.join(", ")}] but the model's latent at this size is ` +
              `[${latentShape.join(", ")}]; pick a frame count the VAE accepts.`,
          );
        }
        x0 = latents.data;
        progress("encode", s, 0);
      } else {
        const gen = await generate(model, {
          prompt,
          seed: seed + s,
          steps: T,
          ...size,
          ...(image !== undefined ? { image } : {}),
          ...(options.guidanceScale !== undefined ? { guidanceScale: options.guidanceScale } : {}),
          ...(options.schedulerOptions ? { schedulerOptions: options.schedulerOptions } : {}),
          onStep: () => progress("generate", s, 1),
          ...(signal ? { signal } : {}),
        });
        generateItems += gen.summary.denoiseItems;
        x0 = gen.latent;
      }
      const cond = await condOf(prompt);
      // Image-to-video: every measurement item carries the sample's image handle. Frames the model holds
      // at the image (a zero prediction there) stay at the image latent, as in sampling: one probe finds them.
      let imageHandle: string | undefined;
      let held: number[] = [];
      let start: Float32Array | undefined;
      if (image !== undefined) {
        imageHandle = await model.encodeImage(image, seed + s, size, signal);
        imageHandles.push(imageHandle);
        start = (await model.prepareLatents(seed + s, size, signal, imageHandle)).data;
        const [probe] = await send([{ cond, branch: "cond", t: timesteps[0]!, x: start, shape: latentShape, image: imageHandle }]);
        held = heldFrames(probe!, latentShape);
        for (const f of held) heldSeen.add(f);
        x0 = holdFrames(x0, start, held, latentShape);
      }
      const noise = new SeededNoiseSource(seed * 1_000_003 + s);
      const perSample: SensitivityMeasurement[] = new Array<SensitivityMeasurement>(T);
      for (let k0 = 0; k0 < T; k0 += block) {
        const ks = Array.from({ length: Math.min(block, T - k0) }, (_, i) => k0 + i);
        const xs = ks.map((k) => {
          const eps = noise.normal(numel);
          return holdFrames(flow ? flowNoise(x0, eps, sigmas[k]!) : schedule.addNoise(x0, eps, k), x0, held, latentShape);
        });
        const input = (x: Float32Array, k: number): Float32Array => (flow ? x : schedule.scaleModelInput(x, k));
        const withImage = imageHandle !== undefined ? { image: imageHandle } : {};
        const item = (t: number, x: Float32Array): DenoiseItem => ({ cond, branch: "cond", t, x, shape: latentShape, ...withImage });
        const ys = await send(ks.map((k, i) => item(timesteps[k]!, input(xs[i]!, k))));
        const xPrimes = ks.map((k, i) => {
          if (flow) return holdFrames(eulerStep(ys[i]!, xs[i]!, sigmas[k]!, sigmas[k + 1] ?? 0), x0, held, latentShape);
          const fresh = model.scheduler(T, { ...pipelineTimestepOptions(model.info, T, latentShape), ...(options.schedulerOptions ?? {}) });
          return holdFrames(fresh.step(ys[i]!, k, xs[i]!, new SeededNoiseSource(seed * 1_000_003 + s + 7919 * (k + 1))), x0, held, latentShape);
        });
        const second = await send([
          ...ks.map((k, i) => item(timesteps[k]!, input(xPrimes[i]!, k))),
          ...ks.map((k, i) => item(nextTimestep(timesteps, k), input(xs[i]!, k))),
        ]);
        ks.forEach((k, i) => {
          perSample[k] = measure(ys[i]!, second[i]!, xs[i]!, xPrimes[i]!, second[ks.length + i]!, timesteps[k]!, nextTimestep(timesteps, k));
        });
        progress("measure", s, ks.length);
      }
      measurements.push(perSample);
    }
  } finally {
    const handles = [...conds.values(), ...imageHandles];
    if (handles.length > 0) await model.release(handles).catch(() => undefined);
  }
  const heldNote = heldSeen.size > 0 ? ` (latent frame ${[...heldSeen].sort((a, b) => a - b).join(", ")} held at the image)` : "";
  const conditioned = i2v ? `, conditioned on ${images.length > 0 ? `${images.length} image(s)` : "each clip's first frame"}${heldNote}` : "";
  const origin = `calibrated: ${N} samples from ${fromMedia ? `${media.length} media item(s)` : "uncached generations"}${conditioned}, seed ${seed}`;
  const aggregated = aggregateProfile(timesteps, measurements, validityOf(model, T, latentShape), origin);
  const dropped = aggregated.dropped;
  // A model with two experts gets one section per expert (two experts are two models for the policy).
  const profile = withExpertSections(aggregated.profile, expertsOfModel(model), timesteps);
  return {
    profile,
    report: {
      samples: N,
      steps: T,
      source: fromMedia ? "media" : "generations",
      latentShape,
      denoiseItems: { measure: measureItems, generate: generateItems },
      denoiseMessages: messages,
      dropped,
      wallMs: performance.now() - started,
    },
  };
}

// ---- MagCache calibration -----------------------------------------------------------------------

/** A Denoiser that forwards to another and records the norm of every output per branch. */
export class RecordingDenoiser implements Denoiser {
  /** ‖out‖₂ per branch, in call order. */
  readonly norms: { cond: number[]; uncond: number[] } = { cond: [], uncond: [] };
  constructor(private readonly inner: Denoiser) {}

  async denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    const outs = await this.inner.denoise(items, signal);
    items.forEach((item, i) => {
      this.norms[item.branch].push(l2Norm(outs[i]!));
    });
    return outs;
  }
}

export interface MagcacheCalibrateOptions extends Omit<CalibrateOptions, "media" | "maxItemsPerMessage" | "maxMessageBytes"> {
  // `images`: image-to-video models' conditioning images, one per sample (cycled), as in calibrate.
  readonly negativePrompt?: string;
}

export interface MagcacheCalibrationResult {
  readonly ratios: MagcacheRatiosFile;
  readonly report: { readonly samples: number; readonly steps: number; readonly denoiseItems: number; readonly wallMs: number };
}

/**
 * Measure MagCache ratios: N uncached generations (cond + uncond branches when the guidance is > 1),
 * outputs recorded per step, γ per branch via `magnitudeRatios` (over the output norms, which is all
 * the ratio needs, so no output tensor is kept).
 */
export async function calibrateMagcache(model: Model, options: MagcacheCalibrateOptions = {}): Promise<MagcacheCalibrationResult> {
  const started = performance.now();
  const N = positiveInt("samples", options.samples ?? 8);
  const T = positiveInt("steps", options.steps ?? model.info.defaults.numInferenceSteps);
  const size = sizeOf(model, options);
  const latentShape = model.latentShape(size);
  const seed = options.seed ?? 0;
  const signal = options.signal;
  const guidanceScale = options.guidanceScale ?? model.info.defaults.guidanceScale;
  const prompts = options.prompts !== undefined && options.prompts.length > 0 ? options.prompts : DEFAULT_CALIBRATION_PROMPTS;
  const guided = guidanceScale > 1;
  const images = calibrationImages(model, options.images);
  const cond: Float32Array[][] = [];
  const uncond: Float32Array[][] = [];
  let items = 0;
  let completed = 0;
  for (let s = 0; s < N; s++) {
    checkAbort(signal, `before sample ${s + 1} of ${N}`);
    const c = await model.encodePrompt(prompts[s % prompts.length]!, signal ? { signal } : {});
    const u = guided ? await model.encodePrompt(options.negativePrompt ?? "", signal ? { signal } : {}) : undefined;
    const image = images.length > 0 ? await model.encodeImage(images[s % images.length]!, seed + s, size, signal) : undefined;
    try {
      const initial = await model.prepareLatents(seed + s, size, signal, image);
      const recorder = new RecordingDenoiser(model);
      const result = await sample({
        denoiser: recorder,
        scheduler: model.scheduler(T, { ...pipelineTimestepOptions(model.info, T, latentShape), ...(options.schedulerOptions ?? {}) }),
        latent: initial.data,
        latentShape,
        cond: c,
        ...(u !== undefined ? { uncond: u } : {}),
        guidanceScale,
        ...(image !== undefined ? { image } : {}),
        model: { family: model.family, source: model.identity },
        schedulerIdentity: schedulerIdentity(model.info.scheduler),
        experts: expertsOfModel(model),
        onStep: () => {
          completed++;
          options.onProgress?.({ phase: "generate", sample: s, samples: N, completed, total: N * T });
        },
        ...(signal ? { signal } : {}),
      });
      items += result.summary.denoiseItems;
      cond.push(recorder.norms.cond.map((n) => Float32Array.of(n)));
      if (guided) uncond.push(recorder.norms.uncond.map((n) => Float32Array.of(n)));
    } finally {
      await model.release([c, ...(u !== undefined ? [u] : []), ...(image !== undefined ? [image] : [])]).catch(() => undefined);
    }
  }
  const c = magnitudeRatios(cond);
  const u = guided ? magnitudeRatios(uncond) : undefined;
  const whole: MagcacheRatiosFile = {
    format: MAGCACHE_RATIOS_FORMAT,
    version: 1,
    validFor: validityOf(model, T, latentShape),
    steps: T,
    ratios: c.ratios,
    ...(u !== undefined ? { uncondRatios: u.ratios } : {}),
    std: c.std,
    ...(u !== undefined ? { uncondStd: u.std } : {}),
    samples: N,
    createdAt: new Date().toISOString(),
  };
  // Per-expert sections for a model with several experts (the ratio across a switch is padding).
  const experts = expertsOfModel(model);
  const ratios = experts.length > 1 ? withExpertRatios(whole, expertSpans(experts, model.scheduler(T, options.schedulerOptions ?? {}).timesteps)) : whole;
  return { ratios, report: { samples: N, steps: T, denoiseItems: items, wallMs: performance.now() - started } };
}
