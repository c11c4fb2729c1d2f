/**
 * What a calibration run takes, shared by SenCache calibration (`calibrate.ts`), MagCache calibration
 * (`calibrate-magcache.ts`) and the static search (`measure-runs.ts`, `static-search.ts`): the options,
 * the default prompts, the conditioning images of an image-to-video model, the size, and what the
 * result is valid for.
 */
import { AbortError, InvalidInputError } from "../errors.js";
import type { LatentSize, Model } from "../sampling/model.js";
import { schedulerIdentity } from "../schedulers/identity.js";
import type { SetTimestepsOptions } from "../schedulers/types.js";
import type { Tensor } from "../worker/tensors.js";
import type { ProfileValidity } from "./profile.js";

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

export function checkAbort(signal: AbortSignal | undefined, what: string): void {
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
/** The checked sample count N, step count T, size and latent shape of a calibration run. */
export function runShape(
  model: Model,
  options: Pick<CalibrateOptions, "samples" | "steps" | "height" | "width" | "numFrames">,
): { readonly N: number; readonly T: number; readonly size: LatentSize; readonly latentShape: number[] } {
  const N = positiveInt("samples", options.samples ?? 8);
  const T = positiveInt("steps", options.steps ?? model.info.defaults.numInferenceSteps);
  const size = sizeOf(model, options);
  return { N, T, size, latentShape: model.latentShape(size) };
}

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
