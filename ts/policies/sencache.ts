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

import { DiagnosticLog, compute, forcedCompute, reuse, roundHalfEven } from "./common.js";
import { definePolicyFactory } from "./define.js";
import { PolicyOptionsError } from "./errors.js";
import { SENCACHE_PAPER_SETTINGS } from "./constants.js";
import { option, validateOptions, withDefaults, type InputOf, type OptionSpec, type OptionValues, type OptionsOf } from "./options.js";
import { ProfileSlot, missingProfileError, noteBadScore, sencacheScore } from "./sencache-score.js";
import { budgetSchema, createSencacheBudgetPolicy, type SencacheBudgetOptions } from "./sencache-budget.js";
import { profileOptions } from "./sencache-score.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision, type RunInfo } from "./types.js";
import type { SensitivityProfile } from "../sensitivity/profile.js";

/** The paper's settings as presets (T = 50, Wan 2.1; constants.ts SENCACHE_PAPER_SETTINGS, the one source). */
export const SENCACHE_PRESETS = {
  slow: {
    epsStart: SENCACHE_PAPER_SETTINGS.epsStartFirst20pct,
    epsMain: SENCACHE_PAPER_SETTINGS.epsMain["wan2.1 slow"],
    n: SENCACHE_PAPER_SETTINGS.nMaxConsecutiveReuses.slow,
  },
  fast: {
    epsStart: SENCACHE_PAPER_SETTINGS.epsStartFirst20pct,
    epsMain: SENCACHE_PAPER_SETTINGS.epsMain["wan2.1 fast"],
    n: SENCACHE_PAPER_SETTINGS.nMaxConsecutiveReuses.fast,
  },
} as const;

/** Paper ε_main per model (n not stated for these in the paper). */
export const SENCACHE_PAPER_EPS_MAIN = SENCACHE_PAPER_SETTINGS.epsMain;

export type SencachePreset = keyof typeof SENCACHE_PRESETS;

const presetOf = (o: OptionValues): (typeof SENCACHE_PRESETS)[SencachePreset] => SENCACHE_PRESETS[o["preset"] as SencachePreset];

/** Options of the paper's ε rule only (refused in budget mode). */
const ruleOnly = {
  preset: option.enum(Object.keys(SENCACHE_PRESETS) as SencachePreset[], "ε rule: paper settings slow (ε 0.1, n 2) or fast (ε 0.2, n 3)", {
    default: "slow",
  }),
  /** RMS tolerance per element during the first `warmupFraction` of steps. */
  epsStart: option.number("ε rule: tolerance during the first 20% of steps", {
    min: 0,
    aliases: ["eps0"],
    default: (o: OptionValues) => presetOf(o).epsStart,
  }),
  /** RMS tolerance per element afterwards. */
  epsMain: option.number("ε rule: tolerance after the first 20% of steps", {
    min: 0,
    aliases: ["eps"],
    default: (o: OptionValues) => presetOf(o).epsMain,
  }),
  /** Steps k < round(warmupFraction·T) use epsStart (paper: 0.2). */
  warmupFraction: option.number("ε rule: fraction of steps that use epsStart", { min: 0, max: 1, default: 0.2 }),
};

const inBudgetMode = <S extends OptionSpec>(spec: S): S => ({ ...spec, description: `budget mode: ${spec.description}` });

/**
 * One option set for the one policy: the ε rule's options and budget mode's (budgetSchema); nfe= or
 * speedup= selects budget mode. Each mode refuses the other's own options.
 */
export const sencacheSchema = {
  ...profileOptions,
  resampleProfile: option.boolean("accept a profile from another schedule (ε rule: nearest timestep; budget mode: interpolated by timestep); logged", {
    aliases: ["resample"],
    default: false,
  }),
  ...ruleOnly,
  nfe: inBudgetMode(budgetSchema.nfe),
  speedup: inBudgetMode(budgetSchema.speedup),
  /** n = 1 allows one reuse between computes; 0 disables caching. */
  n: option.integer("maximum consecutive reuses (ε rule: the preset's; budget mode: 3)", { min: 0, allowInfinity: true, aliases: ["maxReuse", "K"] }),
  /** CogVideoX / LTX code computes the last step; the current Wan code does not. */
  forceLast: budgetSchema.forceLast,
  onInfeasible: inBudgetMode(budgetSchema.onInfeasible),
  placement: budgetSchema.placement,
};

/** The ε rule's options with their defaults (budget mode fills in budgetSchema's). */
const ruleSchema = {
  ...profileOptions,
  resampleProfile: sencacheSchema.resampleProfile,
  ...ruleOnly,
  n: { ...sencacheSchema.n, default: (o: OptionValues) => presetOf(o).n },
  forceLast: budgetSchema.forceLast,
};

export type SencacheOptions = OptionsOf<typeof ruleSchema> & { readonly profile: SensitivityProfile | string };
export type SencacheInput = InputOf<typeof sencacheSchema>;

/** Budget-mode options (refused by the ε rule). */
const budgetOnly = ["nfe", "speedup", "onInfeasible", "placement"] as const;

export function createSencachePolicy(input: SencacheInput): CachePolicy<SencacheOptions> | CachePolicy<SencacheBudgetOptions> {
  const v = validateOptions("sencache", sencacheSchema, input);
  if (v.nfe !== undefined || v.speedup !== undefined) {
    const stray = Object.keys(ruleOnly).filter((k) => v[k as keyof typeof v] !== undefined);
    if (stray.length > 0) {
      const [them, does] = stray.length > 1 ? ["them", "do"] : ["it", "does"];
      throw new PolicyOptionsError(
        "invalid_option",
        "sencache",
        `The option${stray.length > 1 ? "s" : ""} ${stray.join(", ")} of the ε rule ${does} not apply in budget mode (nfe= / speedup=), which picks ε ` +
          `itself; ` +
          `drop ${them}, or drop nfe/speedup to use the ε rule.`,
        stray[0],
      );
    }
    return createSencacheBudgetPolicy(v);
  }
  const strayBudget = budgetOnly.filter((k) => v[k] !== undefined);
  if (strayBudget.length > 0) {
    throw new PolicyOptionsError(
      "invalid_option",
      "sencache",
      `The option ${strayBudget[0]} applies only to budget mode; add nfe=<evaluations> or speedup=<T/NFE>, or drop it.`,
      strayBudget[0],
    );
  }
  const parsed = withDefaults("sencache", ruleSchema, v);
  const { profile } = parsed;
  if (profile === undefined) throw missingProfileError("sencache");
  const options: SencacheOptions = { ...parsed, profile };
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
      const forced = forcedCompute(ctx, 0, options.forceLast);
      if (forced !== undefined) return forced;
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
  create: (o) => createSencachePolicy(o),
});
