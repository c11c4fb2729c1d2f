/**
 * CogVideoXDDIMScheduler (diffusers): deterministic DDIM (eta is ignored, as in diffusers) on the
 * SNR-shifted CogVideoX schedule; CogVideoX-2b uses it with v-prediction and trailing spacing.
 * Coefficients in float64 (diffusers' alpha_bar is a float64 tensor), the update in float32.
 */

import { cogVideoXAlphasCumprod, ddimSigmas, ddimTimesteps, parseCogVideoXConfig, type CogVideoXConfig } from "./cogvideox-common.js";
import type { DiffusersSchedulerConfig, PredictionType, Scheduler } from "./types.js";

const f32 = Math.fround;
export const COGVIDEOX_DDIM = "CogVideoXDDIMScheduler";

/** The x0 prediction from the model output at alpha_bar = a (float32 result). */
export function cogVideoXX0(p: CogVideoXConfig["predictionType"], a: number, sample: Float32Array, out: Float32Array): Float32Array {
  const sa = f32(Math.sqrt(a));
  const sb = f32(Math.sqrt(1 - a));
  return sample.map((x, j) => {
    const m = out[j]!;
    if (p === "v_prediction") return f32(sa * x) - f32(sb * m);
    if (p === "epsilon") return f32(x - f32(sb * m)) / sa;
    return m;
  });
}

export class CogVideoXDDIMScheduler implements Scheduler {
  readonly className = COGVIDEOX_DDIM;
  readonly initNoiseSigma = 1;
  readonly predictionType: PredictionType;
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly finalAlphaCumprod: number;

  constructor(
    readonly config: CogVideoXConfig,
    readonly numInferenceSteps: number,
  ) {
    this.alphasCumprod = cogVideoXAlphasCumprod(config);
    this.finalAlphaCumprod = config.setAlphaToOne ? 1 : this.alphasCumprod[0]!;
    this.timesteps = ddimTimesteps(config, numInferenceSteps);
    this.sigmas = ddimSigmas(this.alphasCumprod, this.timesteps, this.finalAlphaCumprod);
    this.predictionType = config.predictionType;
  }

  static fromConfig(config: DiffusersSchedulerConfig, n: number): CogVideoXDDIMScheduler {
    return new CogVideoXDDIMScheduler(parseCogVideoXConfig(COGVIDEOX_DDIM, config), n);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  /** alpha_bar at step i and at the step it goes to (t - N // n, or the final alpha_bar below 0). */
  alphaPair(i: number): [number, number] {
    const t = this.timesteps[i]!;
    const prev = t - Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps);
    return [this.alphasCumprod[t]!, prev >= 0 ? this.alphasCumprod[prev]! : this.finalAlphaCumprod];
  }

  /** x_prev = a_t x + b_t x0, a_t = sqrt((1 - abar_prev) / (1 - abar_t)), b_t = sqrt(abar_prev) - sqrt(abar_t) a_t. */
  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): Float32Array {
    const [a, aPrev] = this.alphaPair(stepIndex);
    const x0 = cogVideoXX0(this.config.predictionType, a, sample, modelOutput);
    const at = Math.sqrt((1 - aPrev) / (1 - a));
    const bt = Math.sqrt(aPrev) - Math.sqrt(a) * at;
    const A = f32(at);
    const B = f32(bt);
    return sample.map((x, j) => f32(A * x) + f32(B * x0[j]!));
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const a = this.alphasCumprod[this.timesteps[stepIndex]!]!;
    const sa = f32(Math.sqrt(a));
    const sb = f32(Math.sqrt(1 - a));
    return original.map((x, j) => f32(sa * x) + f32(sb * noise[j]!));
  }

  reset(): void {}
}
