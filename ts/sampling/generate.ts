/**
 * `generate`: one text-to-video sample through a worker-backed model — encode the prompts, draw the
 * initial latent from the seed, run the loop with a cache policy, optionally decode.
 */
import { InvalidInputError } from "../errors.js";
import type { CachePolicy } from "../policies/types.js";
import { schedulerConfigHash } from "../sensitivity/profile.js";
import { SeededNoiseSource } from "../schedulers/noise.js";
import type { NoiseSource, SetTimestepsOptions } from "../schedulers/types.js";
import type { Tensor } from "../worker/codec.js";
import { sample, type SampleResult } from "./loop.js";
import type { Model } from "./model.js";
import type { StepEvent } from "./types.js";

export interface GenerateOptions {
  readonly prompt: string;
  /** Negative prompt for the unconditional branch (default ""). */
  readonly negativePrompt?: string;
  readonly seed: number;
  /** Defaults come from the model (its sencache.json, else the family's defaults). */
  readonly steps?: number;
  readonly guidanceScale?: number;
  readonly height?: number;
  readonly width?: number;
  readonly numFrames?: number;
  readonly policy?: CachePolicy;
  readonly schedulerOptions?: SetTimestepsOptions;
  /**
   * Noise for stochastic schedulers (sde-dpmsolver++, CogVideoXDPM, stochastic flow sampling). The loop
   * owns it: by default a `SeededNoiseSource` seeded with `seed`, so a run is reproducible from its seed.
   */
  readonly noise?: NoiseSource;
  /** Decode the final latent to uint8 video frames [F, H, W, 3]. */
  readonly decode?: boolean;
  readonly onStep?: (event: StepEvent) => void;
  /** Where policies report one-line notes. */
  readonly log?: (message: string) => void;
  readonly signal?: AbortSignal;
}

export interface GenerateResult extends SampleResult {
  readonly latentShape: readonly number[];
  readonly video?: Tensor<Uint8Array>;
}

export async function generate(model: Model, options: GenerateOptions): Promise<GenerateResult> {
  const d = model.info.defaults;
  const steps = options.steps ?? d.numInferenceSteps;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidInputError(`steps must be a positive integer, not ${steps}.`);
  const guidanceScale = options.guidanceScale ?? d.guidanceScale;
  if (!Number.isFinite(guidanceScale) || guidanceScale < 0) throw new InvalidInputError(`The guidance scale must be a finite number ≥ 0, not ${guidanceScale}.`);
  const size = { height: options.height ?? d.height, width: options.width ?? d.width, numFrames: options.numFrames ?? d.numFrames };
  const latentShape = model.latentShape(size);
  const signal = options.signal;
  const cond = await model.encodePrompt(options.prompt, signal ? { signal } : {});
  const uncond = guidanceScale > 1 ? await model.encodePrompt(options.negativePrompt ?? "", signal ? { signal } : {}) : undefined;
  try {
    const initial = await model.prepareLatents(options.seed, size, signal);
    const result = await sample({
      denoiser: model,
      scheduler: model.scheduler(steps, options.schedulerOptions ?? {}),
      latent: initial.data,
      latentShape,
      cond,
      ...(uncond !== undefined ? { uncond } : {}),
      guidanceScale,
      ...(options.policy ? { policy: options.policy } : {}),
      probes: model.probes,
      model: { family: model.family, source: model.identity },
      schedulerIdentity: { className: model.info.scheduler.className, configHash: schedulerConfigHash(model.info.scheduler.className, model.info.scheduler.config) },
      ...(options.log ? { log: options.log } : {}),
      noise: options.noise ?? new SeededNoiseSource(options.seed),
      ...(options.onStep ? { onStep: options.onStep } : {}),
      ...(signal ? { signal } : {}),
    });
    const video = options.decode ? await model.decode(result.latent, latentShape, signal) : undefined;
    return { ...result, latentShape, ...(video ? { video } : {}) };
  } finally {
    await model.release(uncond !== undefined ? [cond, uncond] : [cond]).catch(() => undefined);
  }
}
