/** Small helpers shared by the built-in policies. */

import type { DecideContext, Decision, DecisionInfo } from "./types.js";

export { l2Distance, l2Norm, roundHalfEven } from "../math.js";

/** Build a DecisionInfo without writing `undefined` into optional fields (exactOptionalPropertyTypes). */
export function info(reason: string, score?: number, threshold?: number): DecisionInfo {
  const out: { reason: string; score?: number; threshold?: number } = { reason };
  if (score !== undefined) out.score = score;
  if (threshold !== undefined) out.threshold = threshold;
  return out;
}

export function compute(reason: string, score?: number, threshold?: number): Decision {
  return { action: "compute", ...info(reason, score, threshold) };
}

export function reuse(reason: string, score?: number, threshold?: number, outputs?: readonly Float32Array[]): Decision {
  return outputs === undefined ? { action: "reuse", ...info(reason, score, threshold) } : { action: "reuse", ...info(reason, score, threshold), outputs };
}

/**
 * The steps every built-in computes whatever its rule says, checked in this order: the first step
 * (nothing cached yet), the steps before `warmup` (reason `warmupReason`), and with `forceLast` the
 * last one. Undefined when the policy's own rule decides (callers that read `ctx.last` after it write
 * `if (forced !== undefined || ctx.last === undefined) return forced ?? compute("first step")` for the type).
 */
export function forcedCompute(ctx: DecideContext, warmup: number, forceLast: boolean, warmupReason = "warm-up"): Decision | undefined {
  if (ctx.step === 0 || ctx.last === undefined) return compute("first step");
  if (ctx.step < warmup) return compute(warmupReason);
  if (forceLast && ctx.step === ctx.totalSteps - 1) return compute("forced last step");
  return undefined;
}

/**
 * Counts problems per kind and renders them as loud one-line warnings ("score was NaN on 12 steps
 * (first at step 3): …"). Cleared per sample with `clear()`.
 */
export class DiagnosticLog {
  readonly #entries = new Map<string, { count: number; firstStep: number; message: string }>();

  note(kind: string, step: number, message: string): void {
    const entry = this.#entries.get(kind);
    if (entry === undefined) this.#entries.set(kind, { count: 1, firstStep: step, message });
    else entry.count += 1;
  }

  count(kind: string): number {
    return this.#entries.get(kind)?.count ?? 0;
  }

  clear(): void {
    this.#entries.clear();
  }

  list(): string[] {
    return [...this.#entries.values()].map((e) =>
      e.firstStep < 0 ? e.message : `${e.message} (${e.count} step${e.count === 1 ? "" : "s"}, first at step ${e.firstStep})`,
    );
  }
}

/** mean |a − b|. */
export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** mean |a|. */
export function meanAbs(a: ArrayLike<number>): number {
  if (a.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!);
  return s / a.length;
}
