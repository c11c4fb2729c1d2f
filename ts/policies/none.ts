/** "none": compute every step. The uncached reference every quality metric is measured against. */

import { compute } from "./common.js";
import { definePolicyFactory } from "./define.js";
import type { OptionsOf } from "./options.js";
import { POLICY_API_VERSION, type CachePolicy } from "./types.js";

export const noneSchema = {};

export type NoneOptions = OptionsOf<typeof noneSchema>;

export function createNonePolicy(): CachePolicy<NoneOptions> {
  return {
    id: "none",
    apiVersion: POLICY_API_VERSION,
    options: {},
    reset() {},
    decide: () => compute("no caching"),
    diagnostics: () => [],
  };
}

export const noneFactory = definePolicyFactory<NoneOptions>({
  id: "none",
  description: "Compute every step (no caching; the reference for quality metrics).",
  optionSchema: noneSchema,
  create: () => createNonePolicy(),
});
