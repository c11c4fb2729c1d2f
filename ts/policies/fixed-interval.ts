/**
 * "fixed-interval": compute every k-th step after a warm-up (FORA, Selvaraju et al. 2024; Δ-DiT,
 * Chen et al. 2024 — a fixed, input-independent reuse schedule).
 *
 * Rule: step 0 and steps < warmup are computed; after that step s is computed iff
 * (s − warmup) mod k = 0; with `forceLast` the last step is computed too. k = 1 computes everything.
 */

import { compute, reuse } from "./common.js";
import { definePolicyFactory } from "./define.js";
import { PolicyOptionsError } from "./errors.js";
import { validateOptions, type OptionSchema } from "./options.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision } from "./types.js";

export interface FixedIntervalOptions {
  /** Compute every k-th step (≥ 1). */
  readonly k: number;
  /** Steps computed unconditionally at the start (≥ 0; step 0 is always computed). */
  readonly warmup: number;
  /** Also compute the last step. */
  readonly forceLast: boolean;
}

export const fixedIntervalSchema: OptionSchema = {
  k: { kind: "integer", min: 1, description: "compute every k-th step (1 computes all)", aliases: ["interval", "every"] },
  warmup: { kind: "integer", min: 0, description: "number of steps computed unconditionally at the start" },
  forceLast: { kind: "boolean", description: "also compute the last step" },
};

export function createFixedIntervalPolicy(input: Partial<FixedIntervalOptions> = {}): CachePolicy<FixedIntervalOptions> {
  const v = validateOptions("fixed-interval", fixedIntervalSchema, input);
  if (v.k === undefined) {
    throw new PolicyOptionsError("missing_option", "fixed-interval", 'The policy "fixed-interval" needs the interval k; write e.g. "fixed-interval:k=3".', "k");
  }
  const options: FixedIntervalOptions = { k: v.k as number, warmup: (v.warmup as number | undefined) ?? 0, forceLast: (v.forceLast as boolean | undefined) ?? false };
  return {
    id: "fixed-interval",
    apiVersion: POLICY_API_VERSION,
    options,
    reset() {},
    decide(ctx: DecideContext): Decision {
      if (ctx.step === 0 || ctx.last === undefined) return compute("first step");
      if (ctx.step < options.warmup) return compute("warm-up");
      if (options.forceLast && ctx.step === ctx.totalSteps - 1) return compute("forced last step");
      const phase = (ctx.step - options.warmup) % options.k;
      return phase === 0 ? compute(`every ${options.k}th step`, phase, 0) : reuse(`every ${options.k}th step`, phase, 0);
    },
    diagnostics: () => [],
  };
}

export const fixedIntervalFactory = definePolicyFactory<FixedIntervalOptions>({
  id: "fixed-interval",
  description: "Compute every k-th step after a warm-up (FORA / Δ-DiT style fixed schedule).",
  optionSchema: fixedIntervalSchema,
  create: (o) => createFixedIntervalPolicy(o as Partial<FixedIntervalOptions>),
});
