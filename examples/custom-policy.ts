/**
 * A cache policy written outside the package: "compute every step whose sigma change since the last
 * full evaluation exceeds X". It is registered and used through the public API only.
 *
 *   import { registerPolicy, resolvePolicy } from "sencache";   // in an app
 *   registerPolicy(sigmaGapFactory);
 *   const policy = resolvePolicy("sigma-gap:maxGap=0.1");       // or --policy sigma-gap:maxGap=0.1
 *
 * (Inside this repository the example imports the sources through relative paths, because
 * `examples/` is not part of the compiled package; an app would import "sencache".)
 */

import { POLICY_API_VERSION, PolicyOptionsError, definePolicy, validateOptions } from "../ts/policies/index.js";
import type { CachePolicy, DecideContext, Decision, OptionSchema } from "../ts/policies/index.js";

export interface SigmaGapOptions {
  /** Compute when σ has moved more than this since the last full evaluation. */
  readonly maxGap: number;
}

const schema: OptionSchema = {
  maxGap: { kind: "number", min: 0, exclusiveMin: true, description: "largest σ change a reused output may cover", aliases: ["x", "gap"] },
};

export function createSigmaGapPolicy(input: Partial<SigmaGapOptions>): CachePolicy<SigmaGapOptions> {
  const v = validateOptions("sigma-gap", schema, input);
  if (v.maxGap === undefined) {
    throw new PolicyOptionsError("missing-option", "sigma-gap", 'The policy "sigma-gap" needs maxGap; write e.g. "sigma-gap:maxGap=0.1".', "maxGap");
  }
  const options: SigmaGapOptions = { maxGap: v.maxGap as number };
  return {
    id: "sigma-gap",
    apiVersion: POLICY_API_VERSION,
    options,
    reset() {}, // stateless: everything it needs is in the context
    decide(ctx: DecideContext): Decision {
      if (ctx.last === undefined) return { action: "compute", reason: "first step" };
      const gap = Math.abs(ctx.sigma - ctx.last.sigma);
      return gap > options.maxGap
        ? { action: "compute", score: gap, threshold: options.maxGap, reason: "σ moved too far" }
        : { action: "reuse", score: gap, threshold: options.maxGap, reason: "σ close to the cached step" };
    },
  };
}

export const sigmaGapFactory = definePolicy<SigmaGapOptions>({
  id: "sigma-gap",
  apiVersion: POLICY_API_VERSION,
  description: "Compute every step whose σ change since the last full evaluation exceeds maxGap.",
  optionSchema: schema,
  create: (o) => createSigmaGapPolicy(o as Partial<SigmaGapOptions>),
});
