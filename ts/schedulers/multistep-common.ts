/** Pieces shared by the multistep solvers (UniPC, DPM-Solver): timestep spacing, flow sigmas, float32 helpers. */

import { UnsupportedSchedulerError } from "./errors.js";
import { roundHalfEven } from "../math.js";
import { linspace, timeShiftExponential, timeShiftLinear } from "./sigma-schedules.js";

export const f32 = Math.fround;

export type TimestepSpacing = "linspace" | "leading" | "trailing";

/** Discrete timesteps of `set_timesteps(n)` for a DDPM-trained model (int64 in diffusers). */
export function spacedTimesteps(spacing: TimestepSpacing, numTrain: number, n: number, stepsOffset: number): Float64Array {
  if (spacing === "linspace") {
    const t = linspace(0, numTrain - 1, n + 1).map(roundHalfEven).reverse();
    return t.slice(0, n);
  }
  if (spacing === "leading") {
    const ratio = Math.floor(numTrain / (n + 1));
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) t[i] = (n - i) * ratio + stepsOffset;
    return t;
  }
  const ratio = numTrain / n;
  const len = Math.ceil((0 - numTrain) / -ratio);
  const t = new Float64Array(len);
  for (let i = 0; i < len; i++) t[i] = roundHalfEven(numTrain + i * -ratio) - 1;
  return t;
}

/** sigma = sqrt((1 - alpha_bar) / alpha_bar) in float32, per training timestep. */
export function ddpmSigmas(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

export interface FlowSigmaOptions {
  readonly numTrainTimesteps: number;
  readonly flowShift: number;
  readonly useDynamicShifting: boolean;
  readonly timeShiftType: "exponential" | "linear";
  readonly shiftTerminal: number | undefined;
  readonly mu: number | undefined;
}

/** Flow-matching sigmas of UniPC / DPM-Solver with `use_flow_sigmas` (float64, before the float32 cast). */
export function flowSigmas(o: FlowSigmaOptions, n: number, className: string): Float64Array {
  let s = linspace(1, 1 / o.numTrainTimesteps, n + 1).slice(0, n);
  if (o.useDynamicShifting) {
    if (o.mu === undefined) {
      throw new UnsupportedSchedulerError("invalid_scheduler_call", `${className} with use_dynamic_shifting needs options.mu.`);
    }
    const mu = o.mu;
    s = s.map((t) => (o.timeShiftType === "linear" ? timeShiftLinear(mu, 1.0, t) : timeShiftExponential(mu, 1.0, t)));
  } else {
    s = s.map((t) => (o.flowShift * t) / (1 + (o.flowShift - 1) * t));
  }
  if (o.shiftTerminal !== undefined && o.shiftTerminal !== 0) {
    const scale = (1 - (s[s.length - 1] ?? 0)) / (1 - o.shiftTerminal);
    s = s.map((t) => 1 - (1 - t) / scale);
  }
  return s;
}

/** alpha_t, sigma_t of a sigma, in float32: (1 - s, s) for flow sigmas, else (1/sqrt(s^2+1), s * alpha). */
export function alphaSigma(sigma: number, flow: boolean): [number, number] {
  if (flow) return [f32(1 - sigma), sigma];
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  return [alpha, f32(sigma * alpha)];
}

/** lambda = log(alpha) - log(sigma), float32. */
export function lambdaOf(alpha: number, sigma: number): number {
  return f32(f32(Math.log(alpha)) - f32(Math.log(sigma)));
}

/** Solve A x = b (small dense system) by Gaussian elimination with partial pivoting; results rounded to float32. */
export function solveSmall(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row.slice(0, n), b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const k = m[r]![c]! / m[c]![c]!;
      for (let j = c; j <= n; j++) m[r]![j]! -= k * m[c]![j]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let j = r + 1; j < n; j++) s -= m[r]![j]! * x[j]!;
    x[r] = s / m[r]![r]!;
  }
  return x.map(f32);
}
