/** Cache policies: the plugin contract, the registry and the built-in policies. */

export { POLICY_API_VERSION } from "./types.js";
export type { CachePolicy, ComputedStep, DecideContext, Decision, DecisionInfo, ModelProbes, RunInfo } from "./types.js";
export { PolicyOptionsError, PolicyRegistryError } from "./errors.js";
export type { PolicyOptionsErrorCode, PolicyRegistryErrorCode } from "./errors.js";
export { parseSpec, splitTopLevel } from "./spec.js";
export type { ParsedSpec } from "./spec.js";
export { coerceOptions, validateOptions, withDefaults, parseOptions, option, canonicalKey } from "./options.js";
export { describeOptions, optionInfo, schemaDefaults } from "./options-help.js";
export type { OptionKind, OptionSpec, OptionSchema, OptionDefault, OptionValues, OptionsOf, InputOf } from "./options.js";
export type { OptionInfo } from "./options-help.js";
export { definePolicy } from "./define.js";
export type { PolicyFactory } from "./define.js";
export {
  PolicyRegistry,
  BUILTIN_POLICIES,
  createPolicyRegistry,
  defaultPolicyRegistry,
  registerPolicy,
  resolvePolicy,
  listPolicies,
} from "./registry.js";
export type { PolicySpec, RegisterOptions } from "./registry.js";
export { createNonePolicy, noneFactory } from "./none.js";
export { createFixedIntervalPolicy, fixedIntervalFactory } from "./fixed-interval.js";
export type { FixedIntervalOptions } from "./fixed-interval.js";
export { createSencachePolicy, sencacheFactory, SENCACHE_PRESETS, SENCACHE_PAPER_EPS_MAIN } from "./sencache.js";
export type { SencacheOptions, SencacheInput, SencachePreset } from "./sencache.js";
export { createSencacheBudgetPolicy, sencacheBudgetFactory, feasibleNfeRange, minComputesTable, budgetSchema, budgetWeights } from "./sencache-budget.js";
export { createStaticOptimalPolicy, createMaskPolicy, staticOptimalFactory } from "./static-optimal.js";
export type { StaticOptimalOptions } from "./static-optimal.js";
export type { SencacheBudgetOptions, SencacheBudgetInput } from "./sencache-budget.js";
export { sencacheScore } from "./sencache-score.js";
export type { SenCacheScore } from "./sencache-score.js";
export { createTeacachePolicy, teacacheFactory, polyval, relativeL1 } from "./teacache.js";
export type { TeacacheOptions } from "./teacache.js";
export { createMagcachePolicy, magcacheFactory, resampleRatios, publishedRatiosByBranch } from "./magcache.js";
export type { MagcacheOptions } from "./magcache.js";
export { createEasycachePolicy, easycacheFactory, easycacheWarmup, transformedOutput } from "./easycache.js";
export type { EasycacheOptions } from "./easycache.js";
export { TEACACHE_COEFFICIENTS, MAGCACHE_RATIOS, MAGCACHE_DEFAULTS, EASYCACHE_DEFAULTS, SENCACHE_PAPER_SETTINGS } from "./constants.js";
export type { TeacacheModelConstants, MagcacheModelConstants } from "./constants.js";
export { roundHalfEven } from "./common.js";
export { resolvePolicyForModel, modelPolicyDefaults, MODEL_PROFILE_FILE, MODEL_MAGCACHE_FILE } from "./model-files.js";
export type { ModelRef, ModelPolicyDefaults } from "./model-files.js";
