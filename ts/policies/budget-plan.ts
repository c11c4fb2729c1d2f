/**
 * Budget mode's arithmetic, apart from the policy that uses it (sencache-budget.ts): which NFE targets
 * the reuse rules allow (minComputesTable, feasibleNfeRange), how a budget is split over the experts'
 * spans (splitBudget), the step weights of the placement (earlyWeights, budgetWeights) and the
 * placement's threshold (planThreshold).
 */

import { roundHalfEven } from "../math.js";
import { propagationGain } from "../sensitivity/profile-lookup.js";
import type { SensitivityProfile } from "../sensitivity/profile.js";

/**
 * lo[r][m]: the fewest computes that can finish r remaining steps when the last m steps were reuses
 * (a compute exists before them). `forceLast`: the final step cannot be a reuse.
 */
export function minComputesTable(totalSteps: number, n: number, forceLast: boolean): number[][] {
  const cap = Math.min(n, totalSteps);
  const lo: number[][] = [];
  for (let r = 0; r <= totalSteps; r++) {
    const row: number[] = [];
    for (let m = 0; m <= cap; m++) {
      if (r === 0) {
        row.push(0);
        continue;
      }
      const viaCompute = 1 + lo[r - 1]![0]!;
      const canReuse = m < cap && !(forceLast && r === 1);
      const viaReuse = canReuse ? lo[r - 1]![m + 1]! : Infinity;
      row.push(Math.min(viaCompute, viaReuse));
    }
    lo.push(row);
  }
  return lo;
}

/** The feasible NFE range for T steps: [min, T]. */
export function feasibleNfeRange(totalSteps: number, n: number, forceLast: boolean): { min: number; max: number } {
  if (totalSteps < 1) return { min: 0, max: 0 };
  const lo = minComputesTable(totalSteps, n, forceLast);
  return { min: 1 + lo[totalSteps - 1]![0]!, max: totalSteps };
}

/** EARLY_WEIGHT for steps k < round(EARLY_FRACTION·T), else 1 (placement "early"). */
export const EARLY_WEIGHT = 10;
export const EARLY_FRACTION = 0.1;
export function earlyWeights(T: number): Float64Array {
  const warm = roundHalfEven(EARLY_FRACTION * T);
  return Float64Array.from({ length: T }, (_, j) => (j < warm ? EARLY_WEIGHT : 1));
}

/** The per-step weights w_k = gain(t_k)·|σ_{k+1} − σ_k| (1 everywhere without a propagation measurement). */
export function budgetWeights(profile: SensitivityProfile, timesteps: ArrayLike<number>, sigmas: ArrayLike<number>): Float64Array {
  const T = timesteps.length;
  const w = new Float64Array(T);
  for (let j = 0; j < T; j++) {
    const g = propagationGain(profile, timesteps[j]!);
    w[j] = g === undefined ? 1 : g * Math.abs((sigmas[j + 1] ?? 0) - (sigmas[j] ?? 0));
  }
  return w;
}

/** A span of steps first..end−1 planned on its own (the whole schedule, or one expert's steps). */
export interface Span {
  readonly firstStep: number;
  readonly lastStep: number;
  readonly name?: string;
}

export interface BudgetSplit {
  /** The computes of each span, summing to the (possibly clamped) target. */
  readonly targets: number[];
  /** The fewest computes each span allows (its first step computed). */
  readonly mins: number[];
  /** Σ mins: the fewest computes of the whole run. */
  readonly min: number;
  readonly max: number;
}

/**
 * Split a budget of `nfe` computes over consecutive spans of a T-step schedule (the experts of a
 * two-expert model). Each span gets at least its minimum (feasibleNfeRange of its length: its first
 * step is always computed; forceLast counts only on the span ending at T − 1) and at most its length;
 * the remaining computes go one at a time to the span furthest below its share nfe·len/T (ties: the
 * earlier span). The targets sum to `nfe` exactly when min ≤ nfe ≤ T; outside, `targets` is empty.
 */
export function splitBudget(nfe: number, spans: readonly Span[], n: number, forceLast: boolean): BudgetSplit {
  const lens = spans.map((s) => s.lastStep - s.firstStep + 1);
  const T = lens.reduce((a, b) => a + b, 0);
  const end = Math.max(...spans.map((s) => s.lastStep));
  const mins = spans.map((s, i) => feasibleNfeRange(lens[i]!, Math.min(n, lens[i]!), forceLast && s.lastStep === end).min);
  const min = mins.reduce((a, b) => a + b, 0);
  if (nfe < min || nfe > T) return { targets: [], mins, min, max: T };
  const targets = [...mins];
  for (let left = nfe - min; left > 0; left--) {
    let best = -1;
    for (let i = 0; i < spans.length; i++) {
      if (targets[i]! >= lens[i]!) continue;
      const deficit = (nfe * lens[i]!) / T - targets[i]!;
      if (best < 0 || deficit > (nfe * lens[best]!) / T - targets[best]! + 1e-12) best = i;
    }
    targets[best]!++;
  }
  return { targets, mins, min, max: T };
}

/** What budget mode's planner sees at step k of a span (see planThreshold). */
export interface PlanInput {
  readonly k: number;
  /** The span's steps end here. */
  readonly end: number;
  /** At most `cap` consecutive reuses; `streak` of them so far; `forceLast`: the span's last step computes. */
  readonly cap: number;
  readonly streak: number;
  readonly forceLast: boolean;
  /** Computes left for steps k..end−1. */
  readonly remaining: number;
  /** The SenCache score of reusing at step k, its latent drift, and step k's weight. */
  readonly score: number;
  readonly drift: number;
  readonly weight: number;
  /** The last computed step and its α's. */
  readonly refStep: number;
  readonly refAlphaX: number;
  readonly refAlphaT: number;
  /** Latent drift and timestep distance per step since the last compute. */
  readonly u: number;
  readonly tau: number;
  /** α_x, α_t and the weight of every step. */
  readonly ax: Float64Array;
  readonly at: Float64Array;
  readonly w: Float64Array;
}

/**
 * The placement: the smallest ε for which the rule "reuse while w·S ≤ ε", simulated over the rest of
 * the span on predicted scores Ŝ(c, j) = α_x(t_c)·u·|j − c| + α_t(t_c)·τ·|j − c|, makes at most the
 * remaining computes; returned as the threshold on step k's unweighted score. "tight": even the
 * largest ε computes too often (reuse); "ample": ε = 0 fits (compute).
 */
export function planThreshold(input: PlanInput): number | "tight" | "ample" {
  const { k, cap, forceLast: lastForced, remaining: R, score: scoreK, drift, weight: wk, refStep, u, tau, ax, at, w } = input;
  const { streak: m, refAlphaX: ax0, refAlphaT: at0 } = input;
  const T = input.end;
  // Simulate the rule on predicted weighted scores (fixed for this decision: tabulated once, read
  // many times by the bisection) and take the smallest ε whose predicted computes fit R.
  const span = Math.min(cap, T - 1 - k) + 1; // a reference serves at most `cap` reuses after it
  const open = new Float64Array(T);
  for (let j = k + 1; j < T; j++) open[j] = w[j]! * (ax0 * (drift + u * (j - k)) + at0 * tau * (j - refStep));
  const pred = new Float64Array(T * span); // pred[ref·span + d] = w_{ref+d}·Ŝ(ref, ref + d)
  for (let ref = k; ref < T; ref++) {
    for (let d = 1; d < span && ref + d < T; d++) pred[ref * span + d] = w[ref + d]! * (ax[ref]! * u * d + at[ref]! * tau * d);
  }
  const computesAt = (eps: number): number => {
    let reusing = m < cap && !(lastForced && k === T - 1) && wk * scoreK <= eps;
    let ref = k;
    let streak = reusing ? m + 1 : 0;
    let n = reusing ? 0 : 1;
    for (let j = k + 1; j < T; j++) {
      const score = reusing ? open[j]! : pred[ref * span + (j - ref)]!;
      if (streak < cap && !(lastForced && j === T - 1) && score <= eps) {
        streak++;
      } else {
        reusing = false;
        ref = j;
        streak = 0;
        n++;
      }
    }
    return n;
  };
  let hi = Math.max(wk * scoreK, 1e-12);
  for (let j = k + 1; j < T; j++) hi = Math.max(hi, open[j]!);
  for (let i = 0; i < pred.length; i++) hi = Math.max(hi, pred[i]!);
  hi *= 4;
  let lo = 0;
  if (computesAt(hi) > R) return "tight";
  if (computesAt(0) <= R) return "ample";
  for (let it = 0; it < 40; it++) {
    const mid = 0.5 * (lo + hi);
    if (computesAt(mid) <= R) hi = mid;
    else lo = mid;
  }
  return hi / (wk > 0 ? wk : 1);
}
