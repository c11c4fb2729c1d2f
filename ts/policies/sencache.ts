/**
 * "sencache": sensitivity-aware caching (Haghighi & Alahi, "SenCache: Accelerating Diffusion Model
 * Inference via Sensitivity-Aware Caching", CVPR 2026, arXiv 2602.24208; official code
 * vita-epfl/SenCache). The rule, as the paper and its code write it:
 *
 *   S = α_x‖x − x_ref‖₂ + α_t|t − t_ref|       (α's at the nearest calibrated timestep to t_ref)
 *   ε_k = ε_start if k < round(0.2·T) else ε_main
 *   reuse iff S ≤ ε_k·√N and m < n             (m = consecutive reuses so far; n = 1 allows one)
 *   otherwise compute; the current state becomes the reference
 *
 * The first step is always computed; the last one optionally (`forceLast`). With guidance the loop
 * keeps one cached output per branch and this one decision covers both.
 *
 * Paper settings at T = 50 (presets): "slow" ε_start 0.01, ε_main 0.1, n 2; "fast" ε_start 0.01,
 * ε_main 0.2, n 3. Paper ε_main for other models: CogVideoX 0.6, LTX-Video 0.5. The official CLI
 * values differ (Wan README: ε_start 0.045, ε_main 2, K 3), so ε needs tuning per model — or use
 * budget mode: `nfe` / `speedup` here (also reachable as "sencache-budget:nfe=…"; same options).
 */

import { DiagnosticLog, compute, reuse, roundHalfEven } from "./common.js";
import { definePolicyFactory } from "./define.js";
import { PolicyOptionsError } from "./errors.js";
import { validateOptions, type OptionSchema } from "./options.js";
import { ProfileSlot, noteBadScore, sencacheScore } from "./sencache-score.js";
import { budgetSchema, createSencacheBudgetPolicy, type SencacheBudgetOptions } from "./sencache-budget.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision, type RunInfo } from "./types.js";
import type { SensitivityProfile } from "../sensitivity/profile.js";

/** The paper's settings (T = 50, Wan 2.1; Haghighi & Alahi, CVPR 2026, §4). */
export const SENCACHE_PRESETS = {
  slow: { epsStart: 0.01, epsMain: 0.1, n: 2 },
  fast: { epsStart: 0.01, epsMain: 0.2, n: 3 },
} as const;

/** Paper ε_main per model (n not stated for these in the paper). */
export const SENCACHE_PAPER_EPS_MAIN = { "wan2.1 slow": 0.1, "wan2.1 fast": 0.2, cogvideox: 0.6, "ltx-video": 0.5 } as const;

export type SencachePreset = keyof typeof SENCACHE_PRESETS;

export interface SencacheOptions {
  /** A profile object, or a path to a profile `.json` / official `.npz` (loaded in prepare). */
  readonly profile: SensitivityProfile | string;
  readonly preset: SencachePreset;
  /** RMS tolerance per element during the first `warmupFraction` of steps. */
  readonly epsStart: number;
  /** RMS tolerance per element afterwards. */
  readonly epsMain: number;
  /** Maximum consecutive reuses (n = 1 allows one reuse between computes; 0 disables caching). */
  readonly n: number;
  /** Steps k < round(warmupFraction·T) use epsStart (paper: 0.2). */
  readonly warmupFraction: number;
  /** Compute the last step too (CogVideoX / LTX code does; current Wan code does not). */
  readonly forceLast: boolean;
  readonly resampleProfile: boolean;
  readonly forceProfile: boolean;
}

export type SencacheInput = Partial<Omit<SencacheOptions, "profile">> & {
  readonly profile?: SensitivityProfile | string;
  /** Budget mode: target number of full evaluations (routes to budget mode, ts/policies/sencache-budget.ts). */
  readonly nfe?: number;
  /** Budget mode: target speed-up T/NFE. */
  readonly speedup?: number;
  /** Budget mode only: what an unreachable target does. */
  readonly onInfeasible?: "error" | "clamp";
};

const profileSpecs: OptionSchema = {
  profile: { kind: "object", acceptsString: true, description: "a sensitivity profile object or a path to a profile .json / official .npz" },
  resampleProfile: { kind: "boolean", description: "accept a profile from another schedule by nearest-timestep resampling (logged)", aliases: ["resample"] },
  forceProfile: { kind: "boolean", description: "accept a profile for another model or latent shape (logged)" },
};

/** Options of the paper's ε rule only (refused in budget mode). */
const ruleOnly: OptionSchema = {
  preset: { kind: "enum", values: Object.keys(SENCACHE_PRESETS), description: "ε rule: paper settings slow (ε 0.1, n 2) or fast (ε 0.2, n 3)" },
  epsStart: { kind: "number", min: 0, description: "ε rule: tolerance during the first 20% of steps", aliases: ["eps0"] },
  epsMain: { kind: "number", min: 0, description: "ε rule: tolerance after the first 20% of steps", aliases: ["eps"] },
  warmupFraction: { kind: "number", min: 0, max: 1, description: "ε rule: fraction of steps that use epsStart" },
};

/** Budget-mode options (refused by the ε rule). */
const budgetOnly = ["nfe", "speedup", "onInfeasible", "placement"] as const;

/**
 * One option set for the one policy: the ε rule's options and budget mode's (budgetSchema); nfe= or
 * speedup= selects budget mode. Each mode refuses the other's own options.
 */
export const sencacheSchema: OptionSchema = {
  ...profileSpecs,
  ...ruleOnly,
  ...budgetSchema,
  n: { kind: "integer", min: 0, allowInfinity: true, description: "maximum consecutive reuses (ε rule: the preset's; budget mode: 3)", aliases: ["maxReuse", "K"] },
  nfe: { kind: "integer", min: 1, description: "budget mode: target number of full evaluations", aliases: ["budget"] },
  speedup: { kind: "number", min: 1, description: "budget mode: target speed-up T/NFE" },
  onInfeasible: { kind: "enum", values: ["error", "clamp"], description: "budget mode: what an unreachable target does: throw (default), or clamp into the feasible range" },
  resampleProfile: { kind: "boolean", description: "accept a profile from another schedule (ε rule: nearest timestep; budget mode: interpolated by timestep); logged", aliases: ["resample"] },
};

export function missingProfileError(policy: string): PolicyOptionsError {
  return new PolicyOptionsError(
    "missing_profile",
    policy,
    `The policy "${policy}" needs a sensitivity profile; pass profile=<file.json|file.npz> in the spec, a profile object in the options, or create one with sencache calibrate.`,
    "profile",
  );
}

export function createSencachePolicy(input: SencacheInput): CachePolicy<SencacheOptions> | CachePolicy<SencacheBudgetOptions> {
  const v = validateOptions("sencache", sencacheSchema, input as Record<string, unknown>);
  if (v.nfe !== undefined || v.speedup !== undefined) {
    const stray = Object.keys(ruleOnly).filter((k) => v[k] !== undefined);
    if (stray.length > 0) {
      throw new PolicyOptionsError("invalid_option", "sencache", `The option${stray.length > 1 ? "s" : ""} ${stray.join(", ")} of the ε rule do${stray.length > 1 ? "" : "es"} not apply in budget mode (nfe= / speedup=), which picks ε itself; drop ${stray.length > 1 ? "them" : "it"}, or drop nfe/speedup to use the ε rule.`, stray[0]);
    }
    return createSencacheBudgetPolicy(v);
  }
  const strayBudget = budgetOnly.filter((k) => v[k] !== undefined);
  if (strayBudget.length > 0) {
    throw new PolicyOptionsError("invalid_option", "sencache", `The option ${strayBudget[0]} applies only to budget mode; add nfe=<evaluations> or speedup=<T/NFE>, or drop it.`, strayBudget[0]);
  }
  if (v.profile === undefined) throw missingProfileError("sencache");
  const preset = SENCACHE_PRESETS[(v.preset as SencachePreset | undefined) ?? "slow"];
  const options: SencacheOptions = {
    profile: v.profile as SensitivityProfile | string,
    preset: (v.preset as SencachePreset | undefined) ?? "slow",
    epsStart: (v.epsStart as number | undefined) ?? preset.epsStart,
    epsMain: (v.epsMain as number | undefined) ?? preset.epsMain,
    n: (v.n as number | undefined) ?? preset.n,
    warmupFraction: (v.warmupFraction as number | undefined) ?? 0.2,
    forceLast: (v.forceLast as boolean | undefined) ?? false,
    resampleProfile: (v.resampleProfile as boolean | undefined) ?? false,
    forceProfile: (v.forceProfile as boolean | undefined) ?? false,
  };
  const slot = new ProfileSlot("sencache", options);
  const diag = new DiagnosticLog();

  return {
    id: "sencache",
    apiVersion: POLICY_API_VERSION,
    options,
    async prepare(run: RunInfo) {
      diag.clear();
      await slot.prepare(run);
    },
    reset() {
      diag.clear();
    },
    decide(ctx: DecideContext): Decision {
      if (ctx.step === 0 || ctx.last === undefined) return compute("first step");
      if (options.forceLast && ctx.step === ctx.totalSteps - 1) return compute("forced last step");
      const s = sencacheScore(slot.get(), ctx);
      // Python's round, as the method is written; T·0.2 is never a half-integer for integer T anyway.
      const eps = ctx.step < roundHalfEven(options.warmupFraction * ctx.totalSteps) ? options.epsStart : options.epsMain;
      const threshold = eps * Math.sqrt(ctx.numElements);
      if (!Number.isFinite(s.score)) {
        noteBadScore(diag, "sencache", ctx.step, s);
        return compute("score not finite", s.score, threshold);
      }
      if (ctx.reuseStreak >= options.n) return compute("streak limit", s.score, threshold);
      return s.score <= threshold ? reuse("score ≤ ε·√N", s.score, threshold) : compute("score > ε·√N", s.score, threshold);
    },
    diagnostics: () => [...slot.notes(), ...diag.list()],
  };
}

export const sencacheFactory = definePolicyFactory<SencacheOptions | SencacheBudgetOptions>({
  id: "sencache",
  description: "Sensitivity-aware caching (SenCache, CVPR 2026): reuse while α_x‖Δx‖ + α_t|Δt| ≤ ε·√N; nfe=/speedup= switch to budget mode.",
  optionSchema: sencacheSchema,
  create: (o) => createSencachePolicy(o as SencacheInput),
});
