/**
 * A cache policy written outside the package: "compute every step whose sigma change since the last
 * full evaluation exceeds maxGap". It uses the public API only, and is a CLI plugin as it stands:
 *
 *   sencache policies --plugin examples/custom-policy.ts
 *   sencache generate --plugin examples/custom-policy.ts --policy sigma-gap:maxGap=0.1 --prompt "a red square"
 *
 * (`--plugin` registers every policy factory the module exports; a .ts plugin needs tsx installed,
 * a compiled .js one does not.) In an app: `registerPolicy(sigmaGapFactory)`, then
 * `resolvePolicy("sigma-gap:maxGap=0.1")`. Run this file itself to see the policy decide on the fake
 * denoiser from `sencache/testing`:
 *
 *   npx tsx examples/custom-policy.ts
 */

import { pathToFileURL } from "node:url";
import { POLICY_API_VERSION, definePolicy, option, parseOptions, registerPolicy, resolvePolicy } from "sencache";
import type { CachePolicy, DecideContext, Decision, InputOf, OptionsOf } from "sencache";
import { FakeDenoiser, runTrajectory, seededNormal } from "sencache/testing";

/** The options, declared once: the type, validation, defaults and `sencache policies` text follow from it. */
export const sigmaGapSchema = {
  maxGap: option.number("largest σ change a reused output may cover", {
    min: 0,
    exclusiveMin: true,
    aliases: ["x", "gap"],
    required: 'maxGap; write e.g. "sigma-gap:maxGap=0.1"',
  }),
};

export type SigmaGapOptions = OptionsOf<typeof sigmaGapSchema>; // { readonly maxGap: number }

export function createSigmaGapPolicy(input: InputOf<typeof sigmaGapSchema>): CachePolicy<SigmaGapOptions> {
  const options = parseOptions("sigma-gap", sigmaGapSchema, input); // throws PolicyOptionsError (missing_option, invalid_option)
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
  optionSchema: sigmaGapSchema,
  create: (o) => createSigmaGapPolicy(o),
});

// Run as a script: register the policy, resolve it from a spec string and run 20 steps on the fake denoiser.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  registerPolicy(sigmaGapFactory);
  const policy = resolvePolicy("sigma-gap:maxGap=0.12");
  const result = await runTrajectory({ policy, denoiser: new FakeDenoiser(), latent: seededNormal(8, 1), steps: 20 });
  console.log(`policy ${policy.id} ${JSON.stringify(policy.options)} on the fake denoiser, 20 steps`);
  console.log(`computed steps: ${result.computedSteps.join(", ")} (NFE ${result.computedSteps.length} of 20)`);
}
