/**
 * CogVideoXDPMScheduler (diffusers): the stochastic second-order DPM-Solver++ (SDE) sampler of
 * CogVideoX-5b on the SNR-shifted schedule. diffusers' `step` takes the previous x0 prediction
 * (`old_pred_original_sample`) and the previous timestep from the pipeline; here both live in the
 * scheduler state. Noise comes from the loop's NoiseSource: one draw per step, and a second draw
 * for the second-order update (diffusers draws both; the first is then unused), so a replayed
 * stream stays aligned with diffusers. `eta` is accepted and ignored, as in diffusers.
 */

import { cogVideoXAlphasCumprod, ddimSigmas, ddimTimesteps, parseCogVideoXConfig, type CogVideoXConfig } from "./cogvideox-common.js";
import { cogVideoXX0 } from "./cogvideox-ddim.js";
import { UnsupportedSchedulerError } from "./errors.js";
import type { DiffusersSchedulerConfig, NoiseSource, PredictionType, Scheduler } from "./types.js";

const f32 = Math.fround;
export const COGVIDEOX_DPM = "CogVideoXDPMScheduler";

/** lambda = log(sqrt(abar / (1 - abar))), the half log-SNR. */
const lambdaOf = (a: number): number => Math.log(Math.sqrt(a / (1 - a)));

export class CogVideoXDPMScheduler implements Scheduler {
  readonly className = COGVIDEOX_DPM;
  readonly initNoiseSigma = 1;
  readonly predictionType: PredictionType;
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly finalAlphaCumprod: number;
  private oldX0: Float32Array | undefined;
  private nextStep = 0;

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

  static fromConfig(config: DiffusersSchedulerConfig, n: number): CogVideoXDPMScheduler {
    return new CogVideoXDPMScheduler(parseCogVideoXConfig(COGVIDEOX_DPM, config), n);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  reset(): void {
    this.oldX0 = undefined;
    this.nextStep = 0;
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise?: NoiseSource): Float32Array {
    if (stepIndex !== this.nextStep) {
      throw new UnsupportedSchedulerError(
        "invalid_scheduler_call",
        `${COGVIDEOX_DPM} expected step ${this.nextStep} but got ${stepIndex}; call step() once per step in order, or reset() first.`,
      );
    }
    if (noise === undefined) throw new UnsupportedSchedulerError("invalid_scheduler_call", `${COGVIDEOX_DPM} is stochastic and needs a NoiseSource in step().`);
    const i = stepIndex;
    const N = this.config.numTrainTimesteps;
    const t = this.timesteps[i]!;
    const prevT = t - Math.floor(N / this.numInferenceSteps);
    const a = this.alphasCumprod[t]!;
    const aPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : this.finalAlphaCumprod;
    const tBack = i > 0 ? this.timesteps[i - 1] : undefined;

    const x0 = cogVideoXX0(this.config.predictionType, a, sample, modelOutput);
    const lamb = lambdaOf(a);
    const h = lambdaOf(aPrev) - lamb;
    // x' = sqrt((1-abar')/(1-abar)) e^{-h} x - (e^{-2h} - 1) sqrt(abar') D + sqrt(1-abar') sqrt(1 - e^{-2h}) eps
    const m1 = f32(Math.sqrt((1 - aPrev) / (1 - a)) * Math.exp(-h));
    const m2 = f32(Math.expm1(-2 * h) * Math.sqrt(aPrev));
    const mn = f32(Math.sqrt(1 - aPrev) * Math.sqrt(1 - Math.exp(-2 * h)));

    let eps = noise.normal(sample.length);
    let denoised = x0;
    const old = this.oldX0;
    if (old !== undefined && prevT >= 0 && tBack !== undefined) {
      // Second order: D = (1 + 1/(2r)) x0 - 1/(2r) x0_old, r = h_last / h.
      const r = (lamb - lambdaOf(this.alphasCumprod[tBack]!)) / h;
      const m3 = f32(1 + 1 / (2 * r));
      const m4 = f32(1 / (2 * r));
      denoised = x0.map((v, j) => f32(m3 * v) - f32(m4 * old[j]!));
      eps = noise.normal(sample.length);
    }
    this.oldX0 = x0;
    this.nextStep++;
    return sample.map((x, j) => f32(f32(m1 * x) - f32(m2 * denoised[j]!)) + f32(mn * eps[j]!));
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const a = this.alphasCumprod[this.timesteps[stepIndex]!]!;
    const sa = f32(Math.sqrt(a));
    const sb = f32(Math.sqrt(1 - a));
    return original.map((x, j) => f32(sa * x) + f32(sb * noise[j]!));
  }
}
