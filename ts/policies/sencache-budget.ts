/**
 * SenCache budget mode: a target number of full evaluations (NFE) instead of a tolerance ε.
 * Reached as `sencache:nfe=K` / `sencache:speedup=X` (the `sencache` policy switches to it) or under
 * its own id `sencache-budget:nfe=K`; both take the same options (`budgetSchema`).
 *
 * Guarantee. The run makes exactly `nfe` full evaluations whenever the target is feasible, i.e.
 * lo ≤ nfe ≤ T with lo = the fewest computes the rules allow (step 0 computed, at most n consecutive
 * reuses, the last step computed with `forceLast`; lo = ceil(T/(n+1)) without forceLast). This is a
 * hard invariant: before every decision a small table lo(r, m) (fewest computes that can finish r
 * remaining steps from a streak of m reuses) says whether computing or reusing still leaves the
 * remaining budget R reachable, and only feasible actions are taken. An infeasible target is a
 * PolicyOptionsError ("budget_infeasible") in `prepare`, or — with `onInfeasible: "clamp"` — clamped
 * into [lo, T] with a diagnostic.
 *
 * Two experts (Wan 2.2 A14B). The loop computes the first step of every expert and re-prepares the
 * policy there, so the budget is split over the expert spans (`splitBudget`): every span gets its own
 * minimum (its first step computed, at most n consecutive reuses; forceLast only on the span that
 * ends the schedule), the rest goes by each span's share of the steps, and the targets sum to exactly
 * `nfe`. Each span is then planned on its own, with its own profile section. The fewest computes of
 * the whole run is the sum of the spans' minimums; a budget below it is refused with that number.
 *
 * Placement. When both actions are feasible the policy is the SenCache rule on a weighted score —
 * reuse while w_k·S_k ≤ ε — with ε chosen at every step so that the rule, simulated over the rest of
 * the sample on predicted scores, makes exactly the remaining computes (the smallest such ε, by
 * bisection; re-planned every step, so prediction errors are corrected as soon as they show). The
 * future score of reusing step j against reference c is predicted as
 * Ŝ(c, j) = α_x(t_c)·u·|j − c| + α_t(t_c)·τ·|j − c|, with u and τ the latent drift and timestep distance
 * per step measured since the last compute. The step weights (`placement`):
 *
 *  - "early" (default): w_k = 10 for k < round(0.1·T), else 1 — the paper's ε_start / ε_main split,
 *    with the constants measured best on a tuning set disjoint from the benchmark.
 *  - "propagation": w_k = gain(t_k)·|σ_{k+1} − σ_k|, the profile's measured propagation gain (final-
 *    latent error of one reuse per unit |Δσ|·S, see PropagationProfile), so that w_k·S_k predicts the
 *    reuse's error in the final output. A profile without the measurement gets w_k = 1 and a diagnostic.
 *
 * docs/benchmark.md ("Budget mode: placement and options") has the measurements behind the default
 * and the variants that were dropped (dynamic-programming objectives, other weightings).
 *
 * NFE counts steps on which the denoiser ran (one NFE covers both CFG branches, as the papers count).
 * Source of the score: Haghighi & Alahi, SenCache (CVPR 2026); the planner is this package's own.
 */

import { DiagnosticLog, compute, reuse } from "./common.js";
import { definePolicyFactory } from "./define.js";
import { PolicyOptionsError } from "./errors.js";
import { option, parseOptions, type InputOf, type OptionsOf } from "./options.js";
import { ProfileSlot, missingProfileError, noteBadScore, profileOptions, sencacheScore } from "./sencache-score.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision, type RunInfo } from "./types.js";
import { lookup } from "../sensitivity/profile-lookup.js";
import type { SensitivityProfile } from "../sensitivity/profile.js";
import { budgetWeights, earlyWeights, minComputesTable, planThreshold, splitBudget, type Span } from "./budget-plan.js";

/** Budget mode's options, the same under `sencache:nfe=…` and `sencache-budget:nfe=…`. */
export const budgetSchema = {
  ...profileOptions,
  /** Set this or speedup. */
  nfe: option.integer("target number of full evaluations", { min: 1, aliases: ["budget"] }),
  /** NFE = round(T / speedup). */
  speedup: option.number("target speed-up T/NFE", { min: 1 }),
  /** Infinity = no limit. */
  n: option.integer("maximum consecutive reuses", { min: 0, allowInfinity: true, aliases: ["maxReuse", "K"], default: 3 }),
  forceLast: option.boolean("also compute the last step", { default: false }),
  onInfeasible: option.enum(["error", "clamp"], "what an unreachable target does: throw, or clamp into the feasible range", {
    default: "error",
  }),
  placement: option.enum(
    ["early", "propagation"],
    "step weights: early = ε / 10 over the first 10 % of steps, else 1; propagation = the profile's measured gain × |Δσ| " +
      "(see docs/benchmark.md for why early is the default)",
    { default: "early" },
  ),
};

export type SencacheBudgetOptions = OptionsOf<typeof budgetSchema> & { readonly profile: SensitivityProfile | string };
export type SencacheBudgetInput = InputOf<typeof budgetSchema>;

/** @deprecated the same schema as budgetSchema (kept for imports). */
export const sencacheBudgetSchema = budgetSchema;

interface Plan {
  readonly T: number;
  /** This plan's steps: first..end−1 (one expert's span; the whole schedule with one expert). */
  readonly first: number;
  readonly end: number;
  /** forceLast applies: the span ends the schedule. */
  readonly forceLast: boolean;
  readonly target: number;
  readonly cap: number;
  readonly lo: number[][];
  readonly decided: Int8Array; // -1 unknown, 0 reuse, 1 compute
  /** α's and weights for this profile and schedule (filled on first use). */
  tables?: { profile: SensitivityProfile; timesteps: ArrayLike<number>; ax: Float64Array; at: Float64Array; w: Float64Array } | undefined;
}

export function createSencacheBudgetPolicy(input: SencacheBudgetInput): CachePolicy<SencacheBudgetOptions> {
  const parsed = parseOptions("sencache-budget", budgetSchema, input);
  const { profile } = parsed;
  if (profile === undefined) {
    throw missingProfileError("sencache-budget", "SenCache budget mode");
  }
  if ((parsed.nfe === undefined) === (parsed.speedup === undefined)) {
    const hint = 'write e.g. "sencache:nfe=21"';
    throw new PolicyOptionsError(
      "missing_option",
      "sencache-budget",
      `SenCache budget mode needs exactly one of nfe (target evaluations) or speedup (T/NFE); ${hint}.`,
      "nfe",
    );
  }
  const options: SencacheBudgetOptions = { ...parsed, profile };
  const slot = new ProfileSlot("sencache-budget", options, { resampleMethod: "interpolate" });
  const diag = new DiagnosticLog();
  let plan: Plan | undefined;
  let uIdx = NaN; // latent drift per step since the last compute
  let tauIdx = NaN; // timestep distance per step since the last compute

  const makePlan = (T: number, spans?: readonly Span[], current?: Span): Plan => {
    const cap = Math.min(options.n, T);
    const wanted = options.nfe ?? Math.max(1, Math.round(T / options.speedup!));
    const all: readonly Span[] = spans !== undefined && spans.length > 1 ? spans : [{ firstStep: 0, lastStep: T - 1 }];
    const index = Math.max(0, all.findIndex((s) => s.firstStep === current?.firstStep));
    let split = splitBudget(wanted, all, cap, options.forceLast);
    if (split.targets.length === 0) {
      const reuses = `at most ${Number.isFinite(options.n) ? options.n : "unlimited"} consecutive reuses${options.forceLast ? " and a forced last step" : ""}`;
      const fewest = all.map((s, i) => `${s.name ?? i} ${split.mins[i]} of ${s.lastStep - s.firstStep + 1} steps`).join(", ");
      const experts = all.length > 1 ? ` over ${all.length} experts (each computes its first step; fewest per expert: ${fewest})` : "";
      const range = `feasible: ${split.min}–${split.max}; the minimum is ${split.min}`;
      const what = `a budget of ${wanted} evaluations for ${T} steps is not reachable with ${reuses}${experts} (${range})`;
      if (options.onInfeasible === "error") {
        throw new PolicyOptionsError(
          "budget_infeasible",
          "sencache-budget",
          `In SenCache budget mode, ${what}; pick a target in that range, raise n, or pass onInfeasible=clamp.`,
          options.nfe !== undefined ? "nfe" : "speedup",
        );
      }
      const target = Math.min(split.max, Math.max(split.min, wanted));
      if (index === 0) diag.note("clamped", -1, `sencache-budget: ${what}; clamped the target to ${target}`);
      split = splitBudget(target, all, cap, options.forceLast);
    }
    const span = all[index]!;
    const first = span.firstStep;
    const end = span.lastStep + 1;
    const forceLast = options.forceLast && end === T;
    const lo = minComputesTable(end - first, cap, forceLast);
    return { T, first, end, forceLast, target: split.targets[index]!, cap, lo, decided: new Int8Array(T).fill(-1) };
  };

  const tablesFor = (p: Plan, profile: SensitivityProfile, ctx: DecideContext): NonNullable<Plan["tables"]> => {
    const ts = ctx.timesteps;
    if (p.tables === undefined || p.tables.profile !== profile || p.tables.timesteps !== ts) {
      const ax = new Float64Array(p.T);
      const at = new Float64Array(p.T);
      for (let c = 0; c < p.T; c++) {
        const a = lookup(profile, ts[c] ?? 0);
        ax[c] = Number.isFinite(a.alphaX) ? a.alphaX : 0;
        at[c] = Number.isFinite(a.alphaT) ? a.alphaT : 0;
      }
      if (options.placement === "propagation" && profile.propagation === undefined) diag.note(
        "no-propagation",
        -1,
        "sencache-budget: the profile has no propagation measurement, so every step weighs the same; recalibrate it with sencache calibrate (propagation " +
          "samples > 0) for the measured placement",
      );
      p.tables = { profile, timesteps: ts, ax, at, w: options.placement === "propagation" ? budgetWeights(profile, ts, ctx.sigmas) : earlyWeights(p.T) };
    }
    return p.tables;
  };

  const decideWith = (ctx: DecideContext, p: Plan, profile: SensitivityProfile): Decision => {
    const k = ctx.step;
    const T = p.end; // this plan's steps end here (one expert's span)
    if (k === p.first || ctx.last === undefined) return compute(k === 0 ? "first step" : "first step of the expert");
    let used = 0;
    for (let i = p.first; i < k; i++) if (p.decided[i] === 1) used++;
    const R = p.target - used;
    const r = T - k;
    const m = Math.min(ctx.reuseStreak, p.cap);
    const reuseOk = m < p.cap && !(p.forceLast && k === T - 1) && R >= p.lo[r - 1]![m + 1]! && R <= r - 1;
    const computeOk = R >= 1 && R - 1 >= p.lo[r - 1]![0]! && R - 1 <= r - 1;
    const s = sencacheScore(profile, ctx);
    if (!reuseOk && !computeOk) {
      // Only reachable if the loop overrode our decisions; keep going, loudly.
      diag.note("off-budget", k, "sencache-budget: the budget became unreachable (the loop overrode decisions?), computing");
      return compute("budget unreachable", s.score);
    }
    if (!reuseOk) return compute(R >= r ? "budget: remaining steps must all compute" : "budget: must compute (streak limit / feasibility)", s.score, -Infinity);
    if (!computeOk) return reuse("budget: exhausted", s.score, Infinity);
    if (!Number.isFinite(s.score)) {
      noteBadScore(diag, "sencache-budget", k, s);
      return compute("score not finite", s.score);
    }

    const c0 = ctx.last;
    const gap = k - c0.step;
    if (gap > 0 && Number.isFinite(s.drift)) {
      uIdx = s.drift / gap;
      tauIdx = Math.abs(ctx.t - c0.t) / gap;
    }
    const u = Number.isFinite(uIdx) ? uIdx : 0;
    const tau = Number.isFinite(tauIdx) ? tauIdx : 0;
    const { ax, at, w } = tablesFor(p, profile, ctx);
    const wk = w[k]!;
    // Reusing now keeps the open segment going: reference c0, the drift growing from this step's measured one.
    const a0 = lookup(profile, c0.t);
    const ax0 = Number.isFinite(a0.alphaX) ? a0.alphaX : 0;
    const at0 = Number.isFinite(a0.alphaT) ? a0.alphaT : 0;
    // The smallest ε whose predicted computes fit R (planThreshold: the rule simulated on predicted scores, bisected).
    const plan = { k, end: T, cap: p.cap, streak: m, forceLast: p.forceLast, remaining: R, weight: wk };
    const thr = planThreshold({ ...plan, score: s.score, drift: s.drift, refStep: c0.step, refAlphaX: ax0, refAlphaT: at0, u, tau, ax, at, w });
    if (thr === "tight") return reuse("budget rule: reuse (budget tight)", s.score, Infinity);
    if (thr === "ample") return compute("budget rule: compute (budget ample)", s.score, -Infinity);
    return s.score <= thr ? reuse("budget plan: reuse", s.score, thr) : compute("budget plan: compute", s.score, thr);
  };

  return {
    id: "sencache-budget",
    apiVersion: POLICY_API_VERSION,
    options,
    async prepare(run: RunInfo) {
      diag.clear();
      uIdx = tauIdx = NaN;
      await slot.prepare(run);
      plan = makePlan(run.totalSteps, run.experts, run.expert);
    },
    reset() {
      diag.clear();
      uIdx = tauIdx = NaN;
      if (plan !== undefined) {
        plan.decided.fill(-1);
        plan.tables = undefined;
      }
    },
    decide(ctx: DecideContext): Decision {
      if (plan === undefined || plan.T !== ctx.totalSteps) {
        if (plan !== undefined) diag.note(
          "steps-changed",
          ctx.step,
          `sencache-budget: the step count changed from ${plan.T} to ${ctx.totalSteps} without prepare(); re-planned`,
        );
        plan = makePlan(ctx.totalSteps);
      }
      if (ctx.step < plan.first || ctx.step >= plan.end) {
        const planned = `${plan.first}–${plan.end - 1}`;
        const why = `sencache-budget: step ${ctx.step} lies outside the planned steps ${planned} without prepare()`;
        diag.note("span-changed", ctx.step, `${why}; re-planned over the whole schedule`);
        plan = makePlan(ctx.totalSteps);
      }
      if (ctx.step === plan.first) {
        plan.decided.fill(-1);
        uIdx = tauIdx = NaN;
      }
      const decision = decideWith(ctx, plan, slot.get());
      plan.decided[ctx.step] = decision.action === "compute" ? 1 : 0;
      return decision;
    },
    diagnostics: () => [...slot.notes(), ...diag.list()],
  };
}

export const sencacheBudgetFactory = definePolicyFactory<SencacheBudgetOptions>({
  id: "sencache-budget",
  description: "SenCache budget mode under its own id (the same policy and options as sencache:nfe=… / speedup=…).",
  optionSchema: budgetSchema,
  create: (o) => createSencacheBudgetPolicy(o),
});
