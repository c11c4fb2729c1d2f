/**
 * FlowMatchEulerDiscreteScheduler (diffusers): Euler steps of a rectified-flow ODE,
 * x_{i+1} = x_i + (sigma_{i+1} - sigma_i) * v. Sigmas are stored as float32 as diffusers stores
 * them; the step runs in float32. LTX-Video uses it with dynamic shifting and `shift_terminal`.
 */

import { ConfigReader, unsupportedOption } from "./config.js";
import { UnsupportedSchedulerError } from "./errors.js";
import {
  betaSigmas,
  exponentialSigmas,
  karrasSigmas,
  linspace,
  timeShiftExponential,
  timeShiftLinear,
} from "./sigma-schedules.js";
import type { DiffusersSchedulerConfig, NoiseSource, PredictionType, Scheduler, SetTimestepsOptions } from "./types.js";

const f32 = Math.fround;

export interface FlowMatchEulerConfig {
  readonly numTrainTimesteps: number;
  readonly shift: number;
  readonly useDynamicShifting: boolean;
  readonly baseShift: number;
  readonly maxShift: number;
  readonly baseImageSeqLen: number;
  readonly maxImageSeqLen: number;
  readonly invertSigmas: boolean;
  readonly shiftTerminal: number | undefined;
  readonly sigmaSpacing: "default" | "karras" | "exponential" | "beta";
  readonly timeShiftType: "exponential" | "linear";
  readonly stochasticSampling: boolean;
}

export const FLOW_MATCH_EULER = "FlowMatchEulerDiscreteScheduler";

export function parseFlowMatchEulerConfig(config: DiffusersSchedulerConfig): FlowMatchEulerConfig {
  const c = new ConfigReader(FLOW_MATCH_EULER, config);
  const karras = c.boolean("use_karras_sigmas", false);
  const exponential = c.boolean("use_exponential_sigmas", false);
  const beta = c.boolean("use_beta_sigmas", false);
  if (Number(karras) + Number(exponential) + Number(beta) > 1) {
    throw unsupportedOption(FLOW_MATCH_EULER, "use_karras_sigmas/use_exponential_sigmas/use_beta_sigmas", "several true", "at most one of them true");
  }
  return {
    numTrainTimesteps: c.number("num_train_timesteps", 1000),
    shift: c.number("shift", 1.0),
    useDynamicShifting: c.boolean("use_dynamic_shifting", false),
    baseShift: c.number("base_shift", 0.5),
    maxShift: c.number("max_shift", 1.15),
    baseImageSeqLen: c.number("base_image_seq_len", 256),
    maxImageSeqLen: c.number("max_image_seq_len", 4096),
    invertSigmas: c.boolean("invert_sigmas", false),
    shiftTerminal: c.optionalNumber("shift_terminal"),
    sigmaSpacing: karras ? "karras" : exponential ? "exponential" : beta ? "beta" : "default",
    timeShiftType: c.choice("time_shift_type", "exponential", ["exponential", "linear"] as const),
    stochasticSampling: c.boolean("stochastic_sampling", false),
  };
}

/**
 * The schedule of `set_timesteps(n, sigmas?, mu?)`: float32 sigmas (length n + 1) and timesteps.
 * Without custom sigmas numpy computes in float64; custom sigmas are float32 and numpy keeps float32
 * through the shift, so `r` rounds every operation there.
 */
export function flowMatchEulerSchedule(
  cfg: FlowMatchEulerConfig,
  n: number,
  options: SetTimestepsOptions = {},
): { timesteps: Float64Array; sigmas: Float64Array } {
  const N = cfg.numTrainTimesteps;
  if (cfg.useDynamicShifting && options.mu === undefined) {
    throw new UnsupportedSchedulerError(
      "invalid_scheduler_call",
      `${FLOW_MATCH_EULER} with use_dynamic_shifting needs options.mu (e.g. calculateShift(seqLen, ...) as the pipeline computes it).`,
    );
  }
  // Training schedule ends (the __init__ tensors, float32): sigma_max = 1 after any shift, sigma_min from 1/N.
  const shift = cfg.shift;
  let trainMin = f32(1 / N);
  if (!cfg.useDynamicShifting) trainMin = f32(f32(f32(shift) * trainMin) / f32(1 + f32(f32(shift - 1) * trainMin)));
  const trainMax = 1.0;

  let sigmas: Float64Array;
  let r: (x: number) => number;
  if (options.sigmas !== undefined) {
    if (options.sigmas.length !== n) {
      throw new UnsupportedSchedulerError(
        "invalid_scheduler_call",
        `${FLOW_MATCH_EULER} got ${options.sigmas.length} custom sigmas for ${n} steps; pass exactly one sigma per step.`,
      );
    }
    sigmas = Float64Array.from(options.sigmas, f32);
    r = f32;
  } else {
    sigmas = linspace(trainMax * N, trainMin * N, n).map((t) => t / N);
    r = (x) => x;
  }

  if (cfg.useDynamicShifting) {
    const mu = options.mu ?? 0;
    // sigma = 1.0 in diffusers' time_shift call, so the power is the identity.
    if (cfg.timeShiftType === "exponential") {
      const a = r(Math.exp(mu));
      sigmas = sigmas.map((t) => (r === f32 ? r(a / r(a + r(r(1 / t) - 1))) : timeShiftExponential(mu, 1.0, t)));
    } else {
      const a = r(mu);
      sigmas = sigmas.map((t) => (r === f32 ? r(a / r(a + r(r(1 / t) - 1))) : timeShiftLinear(mu, 1.0, t)));
    }
  } else {
    const s = r(shift);
    const s1 = r(shift - 1);
    sigmas = sigmas.map((t) => r(r(s * t) / r(1 + r(s1 * t))));
  }

  if (cfg.shiftTerminal !== undefined && cfg.shiftTerminal !== 0) {
    const oneMinusLast = r(1 - (sigmas[sigmas.length - 1] ?? 0));
    const scale = r(oneMinusLast / r(1 - cfg.shiftTerminal));
    sigmas = sigmas.map((t) => r(1 - r(r(1 - t) / scale)));
  }

  const lo = sigmas[sigmas.length - 1] ?? 0;
  const hi = sigmas[0] ?? 1;
  if (cfg.sigmaSpacing === "karras") sigmas = karrasSigmas(lo, hi, n);
  else if (cfg.sigmaSpacing === "exponential") sigmas = exponentialSigmas(lo, hi, n);
  else if (cfg.sigmaSpacing === "beta") sigmas = betaSigmas(lo, hi, n);

  let s32 = sigmas.map(f32);
  let timesteps = s32.map((s) => f32(s * N));
  const full = new Float64Array(n + 1);
  if (cfg.invertSigmas) {
    s32 = s32.map((s) => f32(1 - s));
    timesteps = s32.map((s) => f32(s * N));
    full.set(s32);
    full[n] = 1;
  } else {
    full.set(s32);
    full[n] = 0;
  }
  return { timesteps, sigmas: full };
}

export class FlowMatchEulerDiscreteScheduler implements Scheduler {
  readonly className = FLOW_MATCH_EULER;
  readonly predictionType: PredictionType = "flow_prediction";
  readonly initNoiseSigma = 1;
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;

  constructor(
    readonly config: FlowMatchEulerConfig,
    readonly numInferenceSteps: number,
    options: SetTimestepsOptions = {},
  ) {
    ({ timesteps: this.timesteps, sigmas: this.sigmas } = flowMatchEulerSchedule(config, numInferenceSteps, options));
  }

  static fromConfig(config: DiffusersSchedulerConfig, numInferenceSteps: number, options: SetTimestepsOptions = {}): FlowMatchEulerDiscreteScheduler {
    return new FlowMatchEulerDiscreteScheduler(parseFlowMatchEulerConfig(config), numInferenceSteps, options);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise?: NoiseSource): Float32Array {
    const sigma = this.sigmaAt(stepIndex);
    const sigmaNext = this.sigmaAt(stepIndex + 1);
    const out = new Float32Array(sample.length);
    if (this.config.stochasticSampling) {
      if (noise === undefined) {
        throw new UnsupportedSchedulerError("invalid_scheduler_call", `${FLOW_MATCH_EULER} with stochastic_sampling needs a NoiseSource in step().`);
      }
      // Re-noise the x0 estimate to the next level: x' = (1 - s') x0 + s' eps.
      const eps = noise.normal(sample.length);
      const keep = f32(1 - sigmaNext);
      for (let j = 0; j < sample.length; j++) {
        const x0 = f32(sample[j]! - f32(sigma * modelOutput[j]!));
        out[j] = f32(keep * x0) + f32(sigmaNext * eps[j]!);
      }
    } else {
      const dt = f32(sigmaNext - sigma);
      for (let j = 0; j < sample.length; j++) out[j] = sample[j]! + f32(dt * modelOutput[j]!);
    }
    return out;
  }

  /** diffusers' `scale_noise`: x_t = sigma * noise + (1 - sigma) * x0. */
  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const sigma = this.sigmaAt(stepIndex);
    const keep = f32(1 - sigma);
    return original.map((x, j) => f32(sigma * noise[j]!) + f32(keep * x));
  }

  reset(): void {}

  private sigmaAt(i: number): number {
    const s = this.sigmas[i];
    if (s === undefined) throw new RangeError(`${FLOW_MATCH_EULER} has ${this.numInferenceSteps} steps; step index ${i - 0} is out of range.`);
    return s;
  }
}
