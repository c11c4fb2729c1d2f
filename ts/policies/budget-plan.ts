/**
 * Budget mode's arithmetic, apart from the policy that uses it (sencache-budget.ts): which NFE targets
 * the reuse rules allow (minComputesTable, feasibleNfeRange), how a budget is split over the experts'
 * spans (splitBudget), and the step weights of the placement (earlyWeights, budgetWeights).
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
