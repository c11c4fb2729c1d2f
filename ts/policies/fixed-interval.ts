/**
 * "fixed-interval": compute every k-th step after a warm-up (FORA, Selvaraju et al. 2024; Δ-DiT,
 * Chen et al. 2024 — a fixed, input-independent reuse schedule).
 *
 * Rule: step 0 and steps < warmup are computed; after that step s is computed iff
 * (s − warmup) mod k = 0; with `forceLast` the last step is computed too. k = 1 computes everything.
 */

import { compute, forcedCompute, reuse } from "./common.js";
import { definePolicyFactory } from "./define.js";
import { option, parseOptions, type InputOf, type OptionsOf } from "./options.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision } from "./types.js";

export const fixedIntervalSchema = {
  k: option.integer("compute every k-th step (1 computes all)", {
    min: 1,
    aliases: ["interval", "every"],
    required: 'the interval k; write e.g. "fixed-interval:k=3"',
  }),
  warmup: option.integer("number of steps computed unconditionally at the start", { min: 0, default: 0 }),
  forceLast: option.boolean("also compute the last step", { default: false }),
};

export type FixedIntervalOptions = OptionsOf<typeof fixedIntervalSchema>;

export function createFixedIntervalPolicy(input: InputOf<typeof fixedIntervalSchema> = {}): CachePolicy<FixedIntervalOptions> {
  const options = parseOptions("fixed-interval", fixedIntervalSchema, input);
  return {
    id: "fixed-interval",
    apiVersion: POLICY_API_VERSION,
    options,
    reset() {},
    decide(ctx: DecideContext): Decision {
      const forced = forcedCompute(ctx, options.warmup, options.forceLast);
      if (forced !== undefined) return forced;
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
  create: (o) => createFixedIntervalPolicy(o),
});
