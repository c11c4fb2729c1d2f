/**
 * `generate`: one text- or image-to-video sample through a worker-backed model — encode the prompts
 * (and send the conditioning image once), draw the initial latent from the seed, run the loop with a
 * cache policy and the family's schedule and guidance rule (from the load result), optionally decode.
 */
import { InvalidInputError } from "../errors.js";
import type { CachePolicy } from "../policies/types.js";
import { schedulerIdentity } from "../schedulers/identity.js";
import { SeededNoiseSource } from "../schedulers/noise.js";
import type { NoiseSource, SetTimestepsOptions } from "../schedulers/types.js";
import type { Tensor } from "../worker/tensors.js";
import { createScheduler } from "../schedulers/index.js";
import { expertsOfModel } from "./experts.js";
import { sample, type SampleResult } from "./loop.js";
import { conditionsOnFps, pipelineTimestepOptions } from "./family.js";
import type { Model } from "./model.js";
import type { Denoiser, StepEvent } from "./types.js";

export interface GenerateOptions {
  readonly prompt: string;
  /** Negative prompt for the unconditional branch (default ""). */
  readonly negativePrompt?: string;
  readonly seed: number;
  /** Defaults come from the model (its sencache.json, else the family's defaults). */
  readonly steps?: number;
  readonly guidanceScale?: number;
  /** Wan 2.2 A14B: the guidance scale on the low-noise expert's steps (default: the model's guidance_scale_2, else guidanceScale). */
  readonly guidanceScale2?: number;
  /** CogVideoX's dynamic CFG (use_dynamic_cfg): the scale follows the pipeline's cosine rule per step (default: the model's). */
  readonly dynamicCfg?: boolean;
  /**
   * LTX-Video: the frame rate the model is conditioned on (its RoPE scale, `__call__`'s `frame_rate`;
   * default: the model's `defaults.fps`). Refused on a model that does not condition on it (`conditionsOnFps`).
   */
  readonly fps?: number;
  /** Text-encoder length (default: the model's max_sequence_length). */
  readonly maxSequenceLength?: number;
  /**
   * Another scheduler class on the pipeline's scheduler config (as diffusers' `from_config`), e.g.
   * "FlowMatchEulerDiscreteScheduler" for a UniPC pipeline (default: the pipeline's own).
   */
  readonly scheduler?: string;
  readonly height?: number;
  readonly width?: number;
  readonly numFrames?: number;
  readonly policy?: CachePolicy;
  /** Image-to-video: the conditioning image [H, W, 3] uint8 (resized by the pipeline's own preprocessing). */
  readonly image?: Tensor<Uint8Array>;
  /** Added to (and overriding) the options the pipeline passes to set_timesteps (LTX-Video: linspace sigmas, mu). */
  readonly schedulerOptions?: SetTimestepsOptions;
  /**
   * Noise for stochastic schedulers (sde-dpmsolver++, CogVideoXDPM, stochastic flow sampling). The loop
   * owns it: by default a `SeededNoiseSource` seeded with `seed`, so a run is reproducible from its seed.
   */
  readonly noise?: NoiseSource;
  /** Evaluate through this instead of the model itself (e.g. a wrapper that records the outputs); default: the model. */
  readonly denoiser?: Denoiser;
  /** Decode the final latent to uint8 video frames [F, H, W, 3]. */
  readonly decode?: boolean;
  readonly onStep?: (event: StepEvent) => void;
  /** Where policies report one-line notes. */
  readonly log?: (message: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * What `generate` (and `runMany`) use of a model: a worker-backed `Model`, or a stand-in such as
 * `FakeModel` from `sencache/testing`.
 */
export type GenerateModel = Pick<
  Model,
  "info" | "identity" | "family" | "latentShape" | "encodePrompt" | "release" | "prepareLatents" | "denoise" | "probes" | "decode"
> &
  Partial<Pick<Model, "encodeImage">>;

export interface GenerateResult extends SampleResult {
  readonly latentShape: readonly number[];
  readonly video?: Tensor<Uint8Array>;
}

export async function generate(model: GenerateModel, options: GenerateOptions): Promise<GenerateResult> {
  const d = model.info.defaults;
  const steps = options.steps ?? d.numInferenceSteps;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidInputError(`steps must be a positive integer, not ${steps}.`);
  const guidanceScale = options.guidanceScale ?? d.guidanceScale;
  if (!Number.isFinite(guidanceScale) || guidanceScale < 0) throw new InvalidInputError(
    `The guidance scale must be a finite number ≥ 0, not ${guidanceScale}.`,
  );
  const size = { height: options.height ?? d.height, width: options.width ?? d.width, numFrames: options.numFrames ?? d.numFrames };
  model.latentShape(size); // validates the size before anything is sent
  const i2v = model.info.imageToVideo === true;
  if (i2v && (options.image === undefined || model.encodeImage === undefined)) throw new InvalidInputError(
    `${model.info.pipelineClass} is an image-to-video pipeline; pass the conditioning image (image).`,
  );
  if (!i2v && options.image !== undefined) throw new InvalidInputError(
    `${model.info.pipelineClass} is a text-to-video pipeline; it takes no conditioning image.`,
  );
  if (options.fps !== undefined) {
    if (!conditionsOnFps(model.info)) {
      const name = model.info.pipelineClass;
      const fix = "drop fps, or set the file's frame rate where the video is written";
      throw new InvalidInputError(`${name} is not conditioned on the frame rate (only LTX-Video is); ${fix}.`);
    }
    const fps = options.fps;
    if (!Number.isFinite(fps) || fps <= 0 || fps > 1000) throw new InvalidInputError(`fps must be a number in (0, 1000], not ${fps}.`);
  }
  const signal = options.signal;
  const guidanceAt = guidanceRule(model, steps, guidanceScale, options);
  const schedulerSpec = options.scheduler !== undefined ? { className: options.scheduler, config: model.info.scheduler.config } : model.info.scheduler;
  const scheduler = createScheduler(
    schedulerSpec,
    steps,
    { ...pipelineTimestepOptions(model.info, steps, model.latentShape(size)), ...(options.schedulerOptions ?? {}) },
  );
  const encodeOptions = { ...(signal ? { signal } : {}), ...(options.maxSequenceLength !== undefined ? { maxSequenceLength: options.maxSequenceLength } : {}) };
  const cond = await model.encodePrompt(options.prompt, encodeOptions);
  const uncond = guidanceScale > 1 ? await model.encodePrompt(options.negativePrompt ?? "", encodeOptions) : undefined;
  let image: string | undefined;
  try {
    if (options.image !== undefined && model.encodeImage) image = await model.encodeImage(options.image, options.seed, size, signal);
    const initial = await model.prepareLatents(options.seed, size, signal, image);
    // The worker's shape is authoritative (CogVideoX 1.5 pads the latent frames to its temporal patch).
    const latentShape = initial.shape;
    const result = await sample({
      denoiser: options.denoiser ?? model,
      scheduler,
      latent: initial.data,
      latentShape,
      cond,
      ...(uncond !== undefined ? { uncond } : {}),
      guidanceScale,
      ...(guidanceAt ? { guidanceAt } : {}),
      ...(image !== undefined ? { image } : {}),
      ...(options.fps !== undefined ? { fps: options.fps } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
      probes: model.probes,
      model: { family: model.family, source: model.identity },
      experts: expertsOfModel(model),
      schedulerIdentity: schedulerIdentity(schedulerSpec),
      ...(options.log ? { log: options.log } : {}),
      noise: options.noise ?? new SeededNoiseSource(options.seed),
      ...(options.onStep ? { onStep: options.onStep } : {}),
      ...(signal ? { signal } : {}),
    });
    const video = options.decode ? await model.decode(result.latent, latentShape, signal) : undefined;
    return { ...result, latentShape, ...(video ? { video } : {}) };
  } finally {
    await model.release([cond, ...(uncond !== undefined ? [uncond] : []), ...(image !== undefined ? [image] : [])]).catch(() => undefined);
  }
}

/**
 * CogVideoX's dynamic CFG, as `CogVideoXPipeline.__call__` computes it with use_dynamic_cfg:
 * 1 + g·(1 − cos(π·((T − t)/T)^5))/2, with t the timestep value and T the number of steps.
 */
export function dynamicCfgScale(guidanceScale: number, t: number, steps: number): number {
  return 1 + (guidanceScale * (1 - Math.cos(Math.PI * ((steps - t) / steps) ** 5.0))) / 2;
}

/** The per-step guidance of a run, or undefined when one scale holds for every step. */
function guidanceRule(
  model: GenerateModel,
  steps: number,
  guidanceScale: number,
  options: GenerateOptions,
): ((step: number, t: number, expert: string) => number) | undefined {
  const g = model.info.guidance;
  const dynamic = options.dynamicCfg ?? g?.dynamic ?? false;
  const experts = expertsOfModel(model);
  const scale2 = experts.length > 1 ? (options.guidanceScale2 ?? g?.scale2 ?? undefined) : undefined;
  if (options.guidanceScale2 !== undefined && experts.length < 2) {
    throw new InvalidInputError(`guidanceScale2 applies to a model with two experts (Wan 2.2 A14B); this ${model.info.pipelineClass} has one.`);
  }
  if (scale2 !== undefined && (!Number.isFinite(scale2) || scale2 < 0)) throw new InvalidInputError(
    `guidanceScale2 must be a finite number ≥ 0, not ${scale2}.`,
  );
  if (!dynamic && (scale2 === undefined || scale2 === guidanceScale)) return undefined;
  const low = experts.reduce((a, b) => (b.tMin < a.tMin ? b : a)).name;
  return (_step, t, expert) => {
    const base = scale2 !== undefined && expert === low ? scale2 : guidanceScale;
    return dynamic ? dynamicCfgScale(base, t, steps) : base;
  };
}
