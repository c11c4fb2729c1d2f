/**
 * DPMSolverMultistepScheduler (diffusers): DPM-Solver++ (Lu et al. 2022), multistep orders 1-3,
 * deterministic (`dpmsolver++`) or SDE (`sde-dpmsolver++`, noise from the loop's NoiseSource), for
 * epsilon / v / flow prediction, with karras or flow sigmas. float32 arithmetic as torch runs it.
 */

import { ConfigReader, unsupportedOption } from "./config.js";
import { alphasCumprod, BETA_SCHEDULES, betas, type BetaSchedule } from "./ddpm-schedule.js";
import { UnsupportedSchedulerError } from "./errors.js";
import { alphaSigma, ddpmSigmas, f32, lambdaOf, spacedTimesteps, type TimestepSpacing } from "./multistep-common.js";
import { roundHalfEven } from "../math.js";
import { karrasSigmas, linspace } from "./sigma-schedules.js";
import type { DiffusersSchedulerConfig, NoiseSource, PredictionType, Scheduler, SetTimestepsOptions } from "./types.js";

export const DPM_SOLVER = "DPMSolverMultistepScheduler";

export interface DPMSolverConfig {
  readonly numTrainTimesteps: number;
  readonly betaSchedule: BetaSchedule;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly solverOrder: number;
  readonly predictionType: "epsilon" | "v_prediction" | "sample" | "flow_prediction";
  readonly algorithmType: "dpmsolver++" | "sde-dpmsolver++";
  readonly solverType: "midpoint" | "heun";
  readonly lowerOrderFinal: boolean;
  readonly eulerAtFinal: boolean;
  readonly useKarrasSigmas: boolean;
  readonly useFlowSigmas: boolean;
  readonly flowShift: number;
  readonly finalSigmasType: "zero" | "sigma_min";
  readonly timestepSpacing: TimestepSpacing;
  readonly stepsOffset: number;
  readonly useDynamicShifting: boolean;
}

export function parseDPMSolverConfig(config: DiffusersSchedulerConfig): DPMSolverConfig {
  const c = new ConfigReader(DPM_SOLVER, config);
  for (const key of ["use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas", "thresholding", "rescale_betas_zero_snr"]) {
    c.requireInert(key, [false], "false (karras, flow or default sigma spacing; no thresholding, no zero-SNR rescale)");
  }
  c.requireInert("trained_betas", [], `null (betas from beta_schedule ${BETA_SCHEDULES.join("/")})`);
  c.requireInert("variance_type", [], "null (a fixed-variance model output)");
  c.requireInert("lambda_min_clipped", [Number.NEGATIVE_INFINITY, "-Infinity", "-inf"], "-inf (no lambda clipping)");
  const solverOrder = c.number("solver_order", 2);
  if (![1, 2, 3].includes(solverOrder)) throw unsupportedOption(DPM_SOLVER, "solver_order", solverOrder, "1, 2 or 3");
  const useKarrasSigmas = c.boolean("use_karras_sigmas", false);
  const useFlowSigmas = c.boolean("use_flow_sigmas", false);
  if (useKarrasSigmas && useFlowSigmas) throw unsupportedOption(DPM_SOLVER, "use_karras_sigmas", true, "karras sigmas or flow sigmas, not both");
  return {
    numTrainTimesteps: c.number("num_train_timesteps", 1000),
    betaSchedule: c.choice("beta_schedule", "linear", BETA_SCHEDULES),
    betaStart: c.number("beta_start", 0.0001),
    betaEnd: c.number("beta_end", 0.02),
    solverOrder,
    predictionType: c.choice("prediction_type", "epsilon", ["epsilon", "v_prediction", "sample", "flow_prediction"] as const),
    algorithmType: c.choice("algorithm_type", "dpmsolver++", ["dpmsolver++", "sde-dpmsolver++"] as const),
    solverType: c.choice("solver_type", "midpoint", ["midpoint", "heun"] as const),
    lowerOrderFinal: c.boolean("lower_order_final", true),
    eulerAtFinal: c.boolean("euler_at_final", false),
    useKarrasSigmas,
    useFlowSigmas,
    flowShift: c.number("flow_shift", 1.0),
    finalSigmasType: c.choice("final_sigmas_type", "zero", ["zero", "sigma_min"] as const),
    timestepSpacing: c.choice("timestep_spacing", "linspace", ["linspace", "leading", "trailing"] as const),
    stepsOffset: c.number("steps_offset", 0),
    useDynamicShifting: c.boolean("use_dynamic_shifting", false),
  };
}

/** Fractional training timestep of a sigma by interpolating log-sigma (diffusers' `_sigma_to_t`). */
function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i]! >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low]!;
  const hi = logSigmas[low + 1]!;
  const w = Math.min(Math.max((lo - logSigma) / (lo - hi), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

export function dpmSolverSchedule(cfg: DPMSolverConfig, n: number, options: SetTimestepsOptions = {}): { timesteps: Float64Array; sigmas: Float64Array } {
  const N = cfg.numTrainTimesteps;
  const train = ddpmSigmas(alphasCumprod(betas(cfg.betaSchedule, cfg.betaStart, cfg.betaEnd, N)));
  let timesteps = spacedTimesteps(cfg.timestepSpacing, N, n, cfg.stepsOffset);
  let s: Float64Array;
  if (cfg.useKarrasSigmas) {
    const logSigmas = train.map((v) => f32(Math.log(v)));
    s = karrasSigmas(train[0]!, train[N - 1]!, n);
    timesteps = s.map((v) => roundHalfEven(sigmaToT(v, logSigmas)));
  } else if (cfg.useFlowSigmas) {
    let shift = cfg.flowShift;
    if (options.mu !== undefined) {
      if (!cfg.useDynamicShifting) throw new UnsupportedSchedulerError(
        "invalid_scheduler_call",
        `${DPM_SOLVER} takes options.mu only with use_dynamic_shifting=true.`,
      );
      shift = Math.exp(options.mu);
    }
    const shifted = linspace(1, 1 / N, n + 1).map((a) => {
      const v = 1.0 - a;
      return (shift * v) / (1 + (shift - 1) * v);
    });
    s = shifted.reverse().slice(0, n);
    timesteps = s.map((v) => Math.trunc(v * N));
  } else {
    s = timesteps.map((t) => train[t] ?? Number.NaN);
  }
  const sigmas = new Float64Array(n + 1);
  sigmas.set(s.map(f32));
  sigmas[n] = cfg.finalSigmasType === "sigma_min" ? train[0]! : 0;
  return { timesteps, sigmas };
}

export class DPMSolverMultistepScheduler implements Scheduler {
  readonly className = DPM_SOLVER;
  readonly initNoiseSigma = 1;
  readonly predictionType: PredictionType;
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
  readonly numInferenceSteps: number;

  /** x0 predictions of the last `solverOrder` steps, oldest first. */
  private history: (Float32Array | undefined)[] = [];
  private lowerOrderNums = 0;
  private nextStep = 0;

  constructor(
    readonly config: DPMSolverConfig,
    numInferenceSteps: number,
    options: SetTimestepsOptions = {},
  ) {
    ({ timesteps: this.timesteps, sigmas: this.sigmas } = dpmSolverSchedule(config, numInferenceSteps, options));
    this.numInferenceSteps = this.timesteps.length;
    this.predictionType = config.predictionType;
    this.reset();
  }

  static fromConfig(config: DiffusersSchedulerConfig, n: number, options: SetTimestepsOptions = {}): DPMSolverMultistepScheduler {
    return new DPMSolverMultistepScheduler(parseDPMSolverConfig(config), n, options);
  }

  reset(): void {
    this.history = new Array<Float32Array | undefined>(this.config.solverOrder).fill(undefined);
    this.lowerOrderNums = 0;
    this.nextStep = 0;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  private alphaSigmaAt(i: number): [number, number] {
    return alphaSigma(this.sigmas[i]!, this.config.useFlowSigmas);
  }

  private lambdaAt(i: number): number {
    const [a, s] = this.alphaSigmaAt(i);
    return lambdaOf(a, s);
  }

  /** The data prediction x0 from the model output. */
  private toX0(modelOutput: Float32Array, sample: Float32Array, i: number): Float32Array {
    const [alpha, sigma] = this.alphaSigmaAt(i);
    const p = this.config.predictionType;
    return sample.map((x, j) => {
      const m = modelOutput[j]!;
      if (p === "epsilon") return f32(x - f32(sigma * m)) / alpha;
      if (p === "v_prediction") return f32(alpha * x) - f32(sigma * m);
      if (p === "flow_prediction") return x - f32(this.sigmas[i]! * m);
      return m;
    });
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise?: NoiseSource): Float32Array {
    if (stepIndex !== this.nextStep) {
      throw new UnsupportedSchedulerError(
        "invalid_scheduler_call",
        `${DPM_SOLVER} expected step ${this.nextStep} but got ${stepIndex}; call step() once per step in order, or reset() first.`,
      );
    }
    const i = stepIndex;
    const T = this.timesteps.length;
    const lowerFinal = i === T - 1 && (this.config.eulerAtFinal || (this.config.lowerOrderFinal && T < 15) || this.config.finalSigmasType === "zero");
    const lowerSecond = i === T - 2 && this.config.lowerOrderFinal && T < 15;
    this.history.shift();
    this.history.push(this.toX0(modelOutput, sample, i));

    let eps: Float32Array | undefined;
    if (this.config.algorithmType === "sde-dpmsolver++") {
      if (noise === undefined) throw new UnsupportedSchedulerError(
        "invalid_scheduler_call",
        `${DPM_SOLVER} with sde-dpmsolver++ needs a NoiseSource in step().`,
      );
      eps = noise.normal(sample.length);
    }
    const firstOrder = this.config.solverOrder === 1 || this.lowerOrderNums < 1 || lowerFinal;
    const secondOrder = this.config.solverOrder === 2 || this.lowerOrderNums < 2 || lowerSecond;
    const order = firstOrder ? 1 : secondOrder ? 2 : 3;
    const out = this.update(order, i, sample, eps);
    if (this.lowerOrderNums < this.config.solverOrder) this.lowerOrderNums++;
    this.nextStep++;
    return out;
  }

  /**
   * x_t = (sigma_t/sigma_s) e^{-h} x + alpha_t (1 - e^{-2h}) D0 + ... (SDE) or
   * x_t = (sigma_t/sigma_s) x - alpha_t (e^{-h} - 1) D0 + ... (ODE), with D1, D2 finite differences
   * of the x0 history in lambda = log(alpha/sigma).
   */
  private update(order: number, i: number, x: Float32Array, eps: Float32Array | undefined): Float32Array {
    const sde = eps !== undefined;
    const [alphaT, sigmaT] = this.alphaSigmaAt(i + 1);
    const sigmaS0 = this.alphaSigmaAt(i)[1];
    const lambdaT = this.lambdaAt(i + 1);
    const lambdaS0 = this.lambdaAt(i);
    const h = f32(lambdaT - lambdaS0);
    const H = this.history.length;
    const m0 = this.history[H - 1]!;
    const emh1 = f32(f32(Math.exp(-h)) - 1); // e^{-h} - 1
    const e2 = f32(Math.exp(f32(-2 * h))); // e^{-2h}
    const cx = sde ? f32(f32(sigmaT / sigmaS0) * f32(Math.exp(-h))) : f32(sigmaT / sigmaS0);
    const c0 = sde ? f32(alphaT * f32(1 - e2)) : f32(alphaT * emh1);
    const cn = sde ? f32(sigmaT * f32(Math.sqrt(f32(1 - e2)))) : 0;
    // ODE form subtracts the D0 term, SDE form adds it.
    const sign0 = sde ? 1 : -1;
    const out = new Float32Array(x.length);

    if (order === 1) {
      for (let j = 0; j < x.length; j++) {
        let v = f32(f32(cx * x[j]!) + sign0 * f32(c0 * m0[j]!));
        if (sde) v = f32(v + f32(cn * eps[j]!));
        out[j] = v;
      }
      return out;
    }

    const m1 = this.history[H - 2]!;
    const lambdaS1 = this.lambdaAt(i - 1);
    const r0 = f32(f32(lambdaS0 - lambdaS1) / h);
    const inv0 = f32(1 / r0);

    if (order === 2) {
      let c1: number;
      if (sde) c1 = this.config.solverType === "midpoint" ? f32(0.5 * c0) : f32(alphaT * f32(f32(f32(1 - e2) / f32(-2 * h)) + 1));
      else c1 = this.config.solverType === "midpoint" ? -f32(0.5 * c0) : f32(alphaT * f32(f32(emh1 / h) + 1));
      for (let j = 0; j < x.length; j++) {
        const d1 = f32(inv0 * f32(m0[j]! - m1[j]!));
        let v = f32(f32(cx * x[j]!) + sign0 * f32(c0 * m0[j]!));
        v = f32(v + f32(c1 * d1));
        if (sde) v = f32(v + f32(cn * eps[j]!));
        out[j] = v;
      }
      return out;
    }

    const m2 = this.history[H - 3]!;
    const lambdaS2 = this.lambdaAt(i - 2);
    const r1 = f32(f32(lambdaS1 - lambdaS2) / h);
    const inv1 = f32(1 / r1);
    const r01 = f32(r0 + r1);
    const w1 = f32(r0 / r01);
    const w2 = f32(1 / r01);
    let c1: number;
    let c2: number;
    if (sde) {
      c1 = f32(alphaT * f32(f32(f32(1 - e2) / f32(-2 * h)) + 1));
      const h2 = f32(2 * h);
      c2 = f32(alphaT * f32(f32(f32(f32(1 - e2) - h2) / f32(h2 * h2)) - 0.5));
    } else {
      c1 = f32(alphaT * f32(f32(emh1 / h) + 1));
      c2 = -f32(alphaT * f32(f32(f32(emh1 + h) / f32(h * h)) - 0.5));
    }
    for (let j = 0; j < x.length; j++) {
      const d10 = f32(inv0 * f32(m0[j]! - m1[j]!));
      const d11 = f32(inv1 * f32(m1[j]! - m2[j]!));
      const dd = f32(d10 - d11);
      const d1 = f32(d10 + f32(w1 * dd));
      const d2 = f32(w2 * dd);
      let v = f32(f32(cx * x[j]!) + sign0 * f32(c0 * m0[j]!));
      v = f32(v + f32(c1 * d1));
      v = f32(v + f32(c2 * d2));
      if (sde) v = f32(v + f32(cn * eps[j]!));
      out[j] = v;
    }
    return out;
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const [alpha, sigma] = this.alphaSigmaAt(stepIndex);
    return original.map((x, j) => f32(alpha * x) + f32(sigma * noise[j]!));
  }
}
