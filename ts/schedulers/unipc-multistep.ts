/**
 * UniPCMultistepScheduler (diffusers): UniPC predictor-corrector (Zhao et al. 2023), B(h) = bh1/bh2,
 * orders 1-3, in data (x0) or noise prediction. Wan 2.1 uses it with flow sigmas
 * (`prediction_type: flow_prediction`, `use_flow_sigmas`, `flow_shift` 3 or 5).
 *
 * Sigmas are float32 as diffusers stores them, and the update arithmetic is float32 (Math.fround),
 * as torch runs it on float32 tensors.
 */

import { ConfigReader, unsupportedOption } from "./config.js";
import { alphasCumprod, BETA_SCHEDULES, betas, type BetaSchedule } from "./ddpm-schedule.js";
import { UnsupportedSchedulerError } from "./errors.js";
import {
  alphaSigma,
  ddpmSigmas,
  f32,
  flowSigmas,
  lambdaOf,
  solveSmall,
  spacedTimesteps,
  type TimestepSpacing,
} from "./multistep-common.js";
import type { DiffusersSchedulerConfig, PredictionType, Scheduler, SetTimestepsOptions } from "./types.js";

export const UNIPC = "UniPCMultistepScheduler";

export interface UniPCConfig {
  readonly numTrainTimesteps: number;
  readonly betaSchedule: BetaSchedule;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly solverOrder: number;
  readonly predictionType: PredictionType;
  readonly predictX0: boolean;
  readonly solverType: "bh1" | "bh2";
  readonly lowerOrderFinal: boolean;
  readonly disableCorrector: readonly number[];
  readonly useFlowSigmas: boolean;
  readonly flowShift: number;
  readonly timestepSpacing: TimestepSpacing;
  readonly stepsOffset: number;
  readonly finalSigmasType: "zero" | "sigma_min";
  readonly useDynamicShifting: boolean;
  readonly timeShiftType: "exponential" | "linear";
  readonly shiftTerminal: number | undefined;
}

const SUPPORTED_HINT = "the default sigma spacing (or use_flow_sigmas)";

export function parseUniPCConfig(config: DiffusersSchedulerConfig): UniPCConfig {
  const c = new ConfigReader(UNIPC, config);
  for (const key of ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "thresholding", "rescale_betas_zero_snr"]) {
    c.requireInert(key, [false], `false (${SUPPORTED_HINT}, no thresholding, no zero-SNR rescale)`);
  }
  c.requireInert("trained_betas", [], `null (betas from beta_schedule ${BETA_SCHEDULES.join("/")})`);
  c.requireInert("solver_p", [], "null (UniPC's own predictor)");
  const solverOrder = c.number("solver_order", 2);
  if (![1, 2, 3].includes(solverOrder)) throw unsupportedOption(UNIPC, "solver_order", solverOrder, "1, 2 or 3");
  const predictionType = c.choice<PredictionType>("prediction_type", "epsilon", ["epsilon", "v_prediction", "sample", "flow_prediction"]);
  const predictX0 = c.boolean("predict_x0", true);
  if (!predictX0 && predictionType === "flow_prediction") {
    throw unsupportedOption(UNIPC, "predict_x0", false, "predict_x0=true with prediction_type flow_prediction (diffusers rejects this pair too)");
  }
  const useFlowSigmas = c.boolean("use_flow_sigmas", false);
  const shiftTerminal = c.optionalNumber("shift_terminal");
  if (shiftTerminal !== undefined && !useFlowSigmas) throw unsupportedOption(
    UNIPC,
    "shift_terminal",
    shiftTerminal,
    "shift_terminal only with use_flow_sigmas=true",
  );
  const raw = (config as Record<string, unknown>)["disable_corrector"];
  const disableCorrector = Array.isArray(raw) ? raw.filter((v): v is number => typeof v === "number") : [];
  // diffusers maps the DPM-Solver names of solver_type to bh2.
  const st = c.choice("solver_type", "bh2", ["bh1", "bh2", "midpoint", "heun", "logrho"] as const);
  return {
    numTrainTimesteps: c.number("num_train_timesteps", 1000),
    betaSchedule: c.choice("beta_schedule", "linear", BETA_SCHEDULES),
    betaStart: c.number("beta_start", 0.0001),
    betaEnd: c.number("beta_end", 0.02),
    solverOrder,
    predictionType,
    predictX0,
    solverType: st === "bh1" ? "bh1" : "bh2",
    lowerOrderFinal: c.boolean("lower_order_final", true),
    disableCorrector,
    useFlowSigmas,
    flowShift: c.number("flow_shift", 1.0),
    timestepSpacing: c.choice("timestep_spacing", "linspace", ["linspace", "leading", "trailing"] as const),
    stepsOffset: c.number("steps_offset", 0),
    finalSigmasType: c.choice("final_sigmas_type", "zero", ["zero", "sigma_min"] as const),
    useDynamicShifting: c.boolean("use_dynamic_shifting", false),
    timeShiftType: c.choice("time_shift_type", "exponential", ["exponential", "linear"] as const),
    shiftTerminal,
  };
}

/** `set_timesteps(n)`: int timesteps and float32 sigmas (length n + 1). */
export function uniPCSchedule(cfg: UniPCConfig, n: number, options: SetTimestepsOptions = {}): { timesteps: Float64Array; sigmas: Float64Array } {
  const N = cfg.numTrainTimesteps;
  if (cfg.useFlowSigmas) {
    const s = flowSigmas({ ...cfg, mu: options.mu }, n, UNIPC);
    if (Math.abs((s[0] ?? 0) - 1) < 1e-6) s[0] = (s[0] ?? 0) - 1e-6;
    const timesteps = s.map((v) => Math.trunc(v * N));
    const sigmas = new Float64Array(n + 1);
    sigmas.set(s.map(f32));
    sigmas[n] = cfg.finalSigmasType === "sigma_min" ? f32(s[n - 1] ?? 0) : 0;
    return { timesteps, sigmas };
  }
  const timesteps = spacedTimesteps(cfg.timestepSpacing, N, n, cfg.stepsOffset);
  const train = ddpmSigmas(alphasCumprod(betas(cfg.betaSchedule, cfg.betaStart, cfg.betaEnd, N)));
  const sigmas = new Float64Array(timesteps.length + 1);
  timesteps.forEach((t, i) => (sigmas[i] = train[t] ?? Number.NaN));
  sigmas[timesteps.length] = cfg.finalSigmasType === "sigma_min" ? (train[0] ?? 0) : 0;
  return { timesteps, sigmas };
}

export class UniPCMultistepScheduler implements Scheduler {
  readonly className = UNIPC;
  readonly initNoiseSigma = 1;
  readonly predictionType: PredictionType;
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
  readonly numInferenceSteps: number;

  /** Converted outputs (x0 or eps) of the last `solverOrder` steps, oldest first. */
  private history: (Float32Array | undefined)[] = [];
  private lowerOrderNums = 0;
  private lastSample: Float32Array | undefined;
  private thisOrder = 1;
  private nextStep = 0;

  constructor(
    readonly config: UniPCConfig,
    numInferenceSteps: number,
    options: SetTimestepsOptions = {},
  ) {
    ({ timesteps: this.timesteps, sigmas: this.sigmas } = uniPCSchedule(config, numInferenceSteps, options));
    this.numInferenceSteps = this.timesteps.length;
    this.predictionType = config.predictionType;
    this.reset();
  }

  static fromConfig(config: DiffusersSchedulerConfig, n: number, options: SetTimestepsOptions = {}): UniPCMultistepScheduler {
    return new UniPCMultistepScheduler(parseUniPCConfig(config), n, options);
  }

  reset(): void {
    this.history = new Array<Float32Array | undefined>(this.config.solverOrder).fill(undefined);
    this.lowerOrderNums = 0;
    this.lastSample = undefined;
    this.thisOrder = 1;
    this.nextStep = 0;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  private alphaSigmaAt(i: number): [number, number] {
    return alphaSigma(this.sigmas[i]!, this.config.useFlowSigmas);
  }

  /** The model output as x0 (predict_x0) or as eps. */
  private convert(modelOutput: Float32Array, sample: Float32Array, i: number): Float32Array {
    const [alpha, sigma] = this.alphaSigmaAt(i);
    const x = sample;
    const m = modelOutput;
    const n = x.length;
    const out = new Float32Array(n);
    // One loop per case (no per-element branching: this runs on every step).
    if (this.config.predictX0) {
      switch (this.config.predictionType) {
        case "flow_prediction": {
          const s = this.sigmas[i]!;
          for (let j = 0; j < n; j++) out[j] = x[j]! - f32(s * m[j]!);
          break;
        }
        case "epsilon":
          for (let j = 0; j < n; j++) out[j] = f32(x[j]! - f32(sigma * m[j]!)) / alpha;
          break;
        case "v_prediction":
          for (let j = 0; j < n; j++) out[j] = f32(alpha * x[j]!) - f32(sigma * m[j]!);
          break;
        default:
          out.set(m);
      }
    } else {
      switch (this.config.predictionType) {
        case "epsilon":
          out.set(m);
          break;
        case "v_prediction":
          for (let j = 0; j < n; j++) out[j] = f32(alpha * m[j]!) + f32(sigma * x[j]!);
          break;
        default:
          for (let j = 0; j < n; j++) out[j] = f32(x[j]! - f32(alpha * m[j]!)) / sigma;
      }
    }
    return out;
  }

  /**
   * The UniPC coefficients between sigma index s0 and t, with earlier points `prev` (sigma indices):
   * h, B(h), phi_1, r_k and the right-hand side b of the order conditions.
   */
  private coefficients(t: number, s0: number, prev: number[], order: number) {
    const [alphaT, sigmaT] = this.alphaSigmaAt(t);
    const [alphaS0, sigmaS0] = this.alphaSigmaAt(s0);
    const lambdaS0 = lambdaOf(alphaS0, sigmaS0);
    const h = f32(lambdaOf(alphaT, sigmaT) - lambdaS0);
    const rks = prev.map((si) => {
      const [a, s] = this.alphaSigmaAt(si);
      return f32(f32(lambdaOf(a, s) - lambdaS0) / h);
    });
    rks.push(1);
    const hh = this.config.predictX0 ? -h : h;
    const hPhi1 = f32(Math.expm1(hh));
    const bH = this.config.solverType === "bh1" ? hh : f32(Math.expm1(hh));
    let hPhiK = f32(f32(hPhi1 / hh) - 1);
    let factorial = 1;
    const R: number[][] = [];
    const b: number[] = [];
    for (let i = 1; i <= order; i++) {
      R.push(rks.map((r) => f32(r ** (i - 1))));
      b.push(f32(f32(hPhiK * factorial) / bH));
      factorial *= i + 1;
      hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial));
    }
    return { alphaT, sigmaT, alphaS0, sigmaS0, hPhi1, bH, rks, R, b };
  }

  /** x_t = (sigma_t/sigma_s0) x - alpha_t phi_1 m0 (x0 form) or (alpha_t/alpha_s0) x - sigma_t phi_1 m0 (eps form). */
  private base(k: ReturnType<UniPCMultistepScheduler["coefficients"]>): [number, number, number] {
    if (this.config.predictX0) return [f32(k.sigmaT / k.sigmaS0), f32(k.alphaT * k.hPhi1), f32(k.alphaT * k.bH)];
    return [f32(k.alphaT / k.alphaS0), f32(k.sigmaT * k.hPhi1), f32(k.sigmaT * k.bH)];
  }

  /** Differences D1_k = (m_k - m0) / r_k of the earlier converted outputs. */
  private differences(models: Float32Array[], m0: Float32Array, rks: number[]): Float32Array[] {
    return models.map((mi, k) => {
      const r = rks[k]!;
      const out = new Float32Array(mi.length);
      for (let j = 0; j < mi.length; j++) out[j] = f32(mi[j]! - m0[j]!) / r;
      return out;
    });
  }

  /** UniPC-p predictor from sigma index i to i + 1 (the history already holds this step's output). */
  private predictor(x: Float32Array, i: number, order: number): Float32Array {
    const m0 = this.history[this.history.length - 1]!;
    const prevIdx = Array.from({ length: order - 1 }, (_, k) => i - (k + 1));
    const prevModels = prevIdx.map((_, k) => this.history[this.history.length - (k + 2)]!);
    const k = this.coefficients(i + 1, i, prevIdx, order);
    const [c1, c2, c3] = this.base(k);
    const D = this.differences(prevModels, m0, k.rks);
    const rhos = order === 1 ? [] : order === 2 ? [0.5] : solveSmall(k.R.slice(0, -1).map((r) => r.slice(0, -1)), k.b.slice(0, -1));
    const out = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const xt = f32(c1 * x[j]!) - f32(c2 * m0[j]!);
      let res = 0;
      for (let d = 0; d < D.length; d++) res = f32(res + f32(rhos[d]! * D[d]![j]!));
      out[j] = D.length > 0 ? f32(xt) - f32(c3 * res) : xt;
    }
    return out;
  }

  /** UniPC-c corrector of the sample reached at step i, with this step's converted output. */
  private corrector(modelT: Float32Array, last: Float32Array, xT: Float32Array, i: number, order: number): Float32Array {
    const m0 = this.history[this.history.length - 1]!;
    const prevIdx = Array.from({ length: order - 1 }, (_, k) => i - (k + 2));
    const prevModels = prevIdx.map((_, k) => this.history[this.history.length - (k + 2)]!);
    const k = this.coefficients(i, i - 1, prevIdx, order);
    const [c1, c2, c3] = this.base(k);
    const D = this.differences(prevModels, m0, k.rks);
    const rhos = order === 1 ? [0.5] : solveSmall(k.R, k.b);
    const rhoT = rhos[rhos.length - 1]!;
    const out = new Float32Array(xT.length);
    for (let j = 0; j < xT.length; j++) {
      const xt = f32(f32(c1 * last[j]!) - f32(c2 * m0[j]!));
      let res = 0;
      for (let d = 0; d < D.length; d++) res = f32(res + f32(rhos[d]! * D[d]![j]!));
      const d1t = f32(modelT[j]! - m0[j]!);
      const corr = D.length > 0 ? f32(res + f32(rhoT * d1t)) : f32(rhoT * d1t);
      out[j] = xt - f32(c3 * corr);
    }
    return out;
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): Float32Array {
    if (stepIndex !== this.nextStep) {
      throw new UnsupportedSchedulerError(
        "invalid_scheduler_call",
        `${UNIPC} expected step ${this.nextStep} but got ${stepIndex}; call step() once per step in order, or reset() first.`,
      );
    }
    const i = stepIndex;
    const converted = this.convert(modelOutput, sample, i);
    let x = sample;
    if (i > 0 && !this.config.disableCorrector.includes(i - 1) && this.lastSample !== undefined) {
      x = this.corrector(converted, this.lastSample, sample, i, this.thisOrder);
    }
    this.history.shift();
    this.history.push(converted);
    const order = this.config.lowerOrderFinal ? Math.min(this.config.solverOrder, this.timesteps.length - i) : this.config.solverOrder;
    this.thisOrder = Math.min(order, this.lowerOrderNums + 1);
    this.lastSample = x;
    const prev = this.predictor(x, i, this.thisOrder);
    if (this.lowerOrderNums < this.config.solverOrder) this.lowerOrderNums++;
    this.nextStep++;
    return prev;
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const [alpha, sigma] = this.alphaSigmaAt(stepIndex);
    return original.map((x, j) => f32(alpha * x) + f32(sigma * noise[j]!));
  }
}
