/** "none": compute every step. The uncached reference every quality metric is measured against. */

import { compute } from "./common.js";
import { definePolicyFactory } from "./define.js";
import { POLICY_API_VERSION, type CachePolicy } from "./types.js";

export type NoneOptions = Record<string, never>;

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
  optionSchema: {},
  create: () => createNonePolicy(),
});
