/**
 * "static-optimal": a compute mask searched offline for a given NFE (on calibration prompts, against
 * the uncached final latent) and applied unchanged to every prompt — the approach of LeMiCa (NeurIPS
 * 2025), BudCache (ICML 2026) and DPCache (CVPR 2026). The mask comes from a file written by
 * `sencache calibrate --kind static-optimal` (option `masks`, a path or the parsed object), which holds
 * one mask per NFE; how it is searched is in ts/sensitivity/static-search.ts.
 *
 * It is the strongest input-independent schedule the search finds; a per-sample policy has to beat it
 * to justify deciding per sample.
 */

import { compute, reuse } from "./common.js";
import { definePolicyFactory } from "./define.js";
import { PolicyOptionsError } from "./errors.js";
import { option, parseOptions, type InputOf, type OptionsOf } from "./options.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision, type RunInfo } from "./types.js";
import { ProfileError } from "../sensitivity/errors.js";
import { loadStaticMasksSync, validateStaticMasks, type StaticMasksFile } from "../sensitivity/static-masks.js";

export const staticOptimalSchema = {
  nfe: option.integer("number of full evaluations: picks that mask from the file", {
    min: 1,
    aliases: ["budget"],
    required: 'the number of evaluations; write e.g. "static-optimal:nfe=18,masks=static.json"',
  }),
  masks: option.required(
    option.objectOrPath<StaticMasksFile>("a static-mask .json from sencache calibrate --kind static-optimal (or the parsed object)", {
      aliases: ["file", "masksFile"],
    }),
    "a mask file; create one with sencache calibrate --kind static-optimal --nfe … and pass masks=<file.json>",
  ),
};

export type StaticOptimalOptions = OptionsOf<typeof staticOptimalSchema>;

/** A policy that computes exactly the given steps (and reuses every other); the building block of static-optimal and of the search. */
export function createMaskPolicy(computeSteps: readonly number[], id = "mask"): CachePolicy<{ compute: readonly number[] }> {
  const set = new Set(computeSteps);
  return {
    id,
    apiVersion: POLICY_API_VERSION,
    options: { compute: computeSteps },
    reset() {},
    decide(ctx: DecideContext): Decision {
      if (ctx.step === 0 || ctx.last === undefined) return compute("first step");
      return set.has(ctx.step) ? compute("mask: compute") : reuse("mask: reuse");
    },
    diagnostics: () => [],
  };
}

export function createStaticOptimalPolicy(input: InputOf<typeof staticOptimalSchema>): CachePolicy<StaticOptimalOptions> {
  const options = parseOptions("static-optimal", staticOptimalSchema, input);
  let file: StaticMasksFile;
  try {
    file = typeof options.masks === "string" ? loadStaticMasksSync(options.masks) : validateStaticMasks(options.masks, "(option masks)");
  } catch (err) {
    if (ProfileError.isInstance(err)) throw new PolicyOptionsError("invalid_option", "static-optimal", err.message, "masks");
    throw err;
  }
  const nfe = options.nfe;
  const mask = file.masks.find((m) => m.nfe === nfe);
  if (mask === undefined) {
    throw new PolicyOptionsError(
      "invalid_option",
      "static-optimal",
      `The static-mask file has no mask for nfe ${nfe} (it has ${file.masks.map((m) => m.nfe).join(", ")}); pick one of those or search it with sencache ` +
        `calibrate --kind static-optimal --nfe ${nfe}.`,
      "nfe",
    );
  }
  const inner = createMaskPolicy(mask.compute, "static-optimal");
  const notes: string[] = [];
  return {
    id: "static-optimal",
    apiVersion: POLICY_API_VERSION,
    options,
    prepare(run: RunInfo) {
      notes.length = 0;
      if (run.totalSteps !== file.steps) {
        throw new PolicyOptionsError(
          "invalid_option",
          "static-optimal",
          `The static masks were searched for ${file.steps} steps but the run has ${run.totalSteps}; search masks for ${run.totalSteps} steps (sencache ` +
            `calibrate --kind static-optimal --steps ${run.totalSteps}).`,
          "masks",
        );
      }
      const vm = file.validFor.model;
      if (vm !== undefined && (vm.family !== run.model.family || vm.source !== run.model.source)) {
        notes.push(`static-optimal: the masks were searched on ${vm.source}, the run uses ${run.model.source}`);
        run.log?.(notes[notes.length - 1]!);
      }
    },
    reset() {},
    decide: (ctx) => inner.decide(ctx),
    diagnostics: () => [...notes],
  };
}

export const staticOptimalFactory = definePolicyFactory<StaticOptimalOptions>({
  id: "static-optimal",
  description: "An offline-searched compute mask for a given NFE, the same for every prompt (LeMiCa / BudCache / DPCache style anchor).",
  optionSchema: staticOptimalSchema,
  create: (o) => createStaticOptimalPolicy(o),
});
