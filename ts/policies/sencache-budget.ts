/**
 * "sencache-budget": SenCache with a target number of full evaluations (NFE) instead of a tolerance ε.
 *
 * Guarantee. The run makes exactly `nfe` full evaluations whenever the target is feasible, i.e.
 * lo ≤ nfe ≤ T with lo = the fewest computes the rules allow (step 0 computed, at most n consecutive
 * reuses, the last step computed with `forceLast`; lo = ceil(T/(n+1)) without forceLast). This is a
 * hard invariant, not a controller that converges: before every decision we know, from a small table
 * lo(r, m) (fewest computes that can finish r remaining steps from a streak of m reuses), whether
 * computing or reusing still leaves the remaining budget R reachable, and only feasible actions are
 * taken. An infeasible target is a PolicyOptionsError ("budget-infeasible") in `prepare` (where T is
 * known), or — with `onInfeasible: "clamp"` — is clamped into [lo, T] with a diagnostic.
 *
 * Placement (default, `objective: "rule"`). When both actions are feasible the policy is the plain
 * SenCache rule — reuse step k while w_k·S_k ≤ ε and the streak is short enough — with ε chosen at every
 * step so that the rule, simulated over the rest of the sample on predicted scores, makes exactly the
 * remaining computes: the smallest such ε, found by bisection. The future score of reusing step j
 * against a reference c is predicted as
 *
 *     Ŝ(c, j) = α_x(t_c)·D_x(c, j) + α_t(t_c)·D_t(c, j)
 *
 * (α's from the profile at t_c). The current step uses its measured score S_k; the decision is a
 * threshold on S_k, reported as DecisionInfo.threshold. Re-planned at every step, so prediction errors
 * are corrected as soon as they show. This minimises the largest weighted score over the sample, which
 * is what the paper's fixed-ε rule does for a given ε; budget mode picks ε for the NFE you ask for.
 * Early steps k < round(warmupFraction·T) weigh `earlyWeight` times more (ε_start = ε / earlyWeight,
 * the paper's ε_start / ε_main split); defaults 10 and 0.1.
 *
 * The other objectives plan by dynamic programming the placement of exactly R computes that minimises a
 * predicted cost under the streak limit: "streak-sq" minimises Σ over reuse streaks of (Σ_streak w_j·Ŝ_j)²
 * (errors within a streak are systematic and add up), "sum" minimises Σ_reused w_j·Ŝ_j.
 *
 * `weighting` sets the drift model D and the per-step weight w_j:
 *  - "index" (default): D_x = u·|j − c|, D_t = τ·|j − c| with u, τ the measured latent drift and
 *    timestep distance per step since the last compute; w_j = 1. Every step counts the same, as the
 *    timestep shift of flow models is chosen to make steps about equally hard.
 *  - "step": D_x = ρ·|σ_j − σ_c| (ρ = measured ‖x_k − x_ref‖/|σ_k − σ_ref|, a flow ODE's drift is
 *    linear in σ), D_t = |t_j − t_c|, and w_j = |σ_{j+1} − σ_j| (the latent error a reused output
 *    injects in a first-order step).
 *  - "uniform": as "step" without the |Δσ| factor.
 * All multiply w_j by `earlyWeight` for k < round(warmupFraction·T) (`earlyShape: "ramp"`: fading
 * linearly to 1 over twice that). Defaults: earlyWeight 10 and warmupFraction 0.1 with "rule"; 4 and
 * 0.2 with index-weighted "streak-sq"/"sum"; 10 and 0.2 otherwise.
 *
 * Measured on the first bundled model (small-shape data set, docs/model.md "Larger shapes"), on a tuning set
 * with no clip in common with the benchmark (docs/bench/tune-8.txt: 8 held-out prompts × seeds 10, 11;
 * the benchmark uses seeds 0, 1), T = 50, decoded-video PSNR vs uncached:
 * "rule" (earlyWeight 10, warmupFraction 0.1) at NFE 18/21/25/30 → 39.7/43.8/47.2/50.0 dB against
 * 38.7/40.8/42.7/44.2 for "streak-sq" (earlyWeight 4, warmupFraction 0.2); warmupFraction 0.2 → 38.4/41.3/45.8/50.2,
 * 0.06 → 38.9/43.7/46.9/49.1; earlyWeight 3 → 39.2/42.9/47.2/50.0, 30 → same as 10. "streak-sq" spends
 * its computes evenly and accepts long late streaks the rule refuses; on the fake denoiser (ts/testing),
 * whose error has no "early steps fix the layout" effect, "step"/"sum" is the better choice.
 *
 * NFE counts steps on which the denoiser ran (one NFE covers both CFG branches, as the papers count).
 * Source of the score: Haghighi & Alahi, SenCache (CVPR 2026); the planner is this package's own.
 */

import { DiagnosticLog, compute, reuse, roundHalfEven } from "./common.js";
import { definePolicyFactory } from "./define.js";
import { PolicyOptionsError } from "./errors.js";
import { validateOptions, type OptionSchema } from "./options.js";
import { ProfileSlot, noteBadScore, sencacheScore } from "./sencache-score.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision, type RunInfo } from "./types.js";
import { lookup, type SensitivityProfile } from "../sensitivity/profile.js";

export interface SencacheBudgetOptions {
  readonly profile: SensitivityProfile | string;
  /** Target NFE (set this or speedup). */
  readonly nfe?: number;
  /** Target speed-up T/NFE; NFE = round(T / speedup). */
  readonly speedup?: number;
  /** Maximum consecutive reuses (Infinity = no limit). */
  readonly n: number;
  readonly forceLast: boolean;
  readonly weighting: "uniform" | "step" | "index";
  readonly earlyWeight: number;
  readonly warmupFraction: number;
  /** How earlyWeight fades: "step" = earlyWeight for k < warm, then 1; "ramp" = linear from earlyWeight at k = 0 to 1 at k = 2·warm. */
  readonly earlyShape: "step" | "ramp";
  readonly onInfeasible: "error" | "clamp";
  /**
   * Planner objective: "sum" = Σ w_j·Ŝ_j over reused steps; "streak-sq" = Σ over reuse streaks of (Σ_streak w_j·Ŝ_j)²;
   * "rule" = the plain SenCache rule (reuse while w_j·S_j ≤ ε) with ε searched at every step so the predicted
   * number of computes matches the remaining budget (minimises the largest weighted score).
   */
  readonly objective: "sum" | "streak-sq" | "rule";
  readonly resampleProfile: boolean;
  readonly forceProfile: boolean;
}

export type SencacheBudgetInput = Partial<SencacheBudgetOptions>;

export const sencacheBudgetSchema: OptionSchema = {
  profile: { kind: "object", acceptsString: true, description: "a sensitivity profile object or a path to a profile .json / official .npz" },
  resampleProfile: { kind: "boolean", description: "accept a profile from another schedule by nearest-timestep resampling (logged)", aliases: ["resample"] },
  forceProfile: { kind: "boolean", description: "accept a profile for another model or latent shape (logged)" },
  nfe: { kind: "integer", min: 1, description: "target number of full evaluations", aliases: ["budget"] },
  speedup: { kind: "number", min: 1, description: "target speed-up T/NFE" },
  n: { kind: "integer", min: 0, allowInfinity: true, description: "maximum consecutive reuses", aliases: ["maxReuse", "K"] },
  forceLast: { kind: "boolean", description: "also compute the last step" },
  weighting: { kind: "enum", values: ["uniform", "step", "index"], description: "cost weight of a reused step: uniform, × |Δσ| of the step, or index (predicted drift grows per step index, not per σ; every step weighs the same)" },
  earlyWeight: { kind: "number", min: 0, exclusiveMin: true, description: "cost multiplier for steps in the first warmupFraction of the schedule (with objective rule: ε_start = ε / earlyWeight); default 10 (4 with index-weighted streak-sq / sum)" },
  warmupFraction: { kind: "number", min: 0, max: 1, description: "fraction of steps weighted by earlyWeight; default 0.1 with objective rule, else 0.2" },
  earlyShape: { kind: "enum", values: ["step", "ramp"], description: "earlyWeight for the first warmupFraction of steps (step), or fading linearly to 1 over twice that (ramp)" },
  onInfeasible: { kind: "enum", values: ["error", "clamp"], description: "what an unreachable target does: throw, or clamp into the feasible range" },
  objective: { kind: "enum", values: ["sum", "streak-sq", "rule"], description: "planner cost: sum of weighted predicted scores; per reuse streak the square of that sum (systematic errors within a streak); or rule (default) = plain SenCache with ε searched per step to meet the budget" },
};

/**
 * lo[r][m]: the fewest computes that can finish r remaining steps when the last m steps were reuses
 * (a compute exists before them). `forceLast`: the final step cannot be a reuse.
 */
export function minComputesTable(totalSteps: number, n: number, forceLast: boolean): number[][] {
  const cap = Math.min(n, totalSteps);
  const lo: number[][] = [];
  for (let r = 0; r <= totalSteps; r++) {
    const row: number[] = [];
    for (let m = 0; m <= cap; m++) {
      if (r === 0) {
        row.push(0);
        continue;
      }
      const viaCompute = 1 + lo[r - 1]![0]!;
      const canReuse = m < cap && !(forceLast && r === 1);
      const viaReuse = canReuse ? lo[r - 1]![m + 1]! : Infinity;
      row.push(Math.min(viaCompute, viaReuse));
    }
    lo.push(row);
  }
  return lo;
}

/** The feasible NFE range for T steps: [min, T]. */
export function feasibleNfeRange(totalSteps: number, n: number, forceLast: boolean): { min: number; max: number } {
  if (totalSteps < 1) return { min: 0, max: 0 };
  const lo = minComputesTable(totalSteps, n, forceLast);
  return { min: 1 + lo[totalSteps - 1]![0]!, max: totalSteps };
}

interface Plan {
  readonly T: number;
  readonly target: number;
  readonly cap: number;
  readonly lo: number[][];
  readonly decided: Int8Array; // -1 unknown, 0 reuse, 1 compute
  /** α_x, α_t of the profile at each step's timestep (filled on first use for this profile and schedule). */
  alphas?: { profile: SensitivityProfile; timesteps: ArrayLike<number>; x: Float64Array; t: Float64Array };
}

export function createSencacheBudgetPolicy(input: SencacheBudgetInput): CachePolicy<SencacheBudgetOptions> {
  const v = validateOptions("sencache-budget", sencacheBudgetSchema, input as Record<string, unknown>);
  if (v.profile === undefined) {
    throw new PolicyOptionsError("missing-profile", "sencache-budget", 'The policy "sencache-budget" needs a sensitivity profile; pass profile=<file.json|file.npz> in the spec, a profile object in the options, or create one with sencache calibrate.', "profile");
  }
  if ((v.nfe === undefined) === (v.speedup === undefined)) {
    throw new PolicyOptionsError("missing-option", "sencache-budget", 'The policy "sencache-budget" needs exactly one of nfe (target evaluations) or speedup (T/NFE); write e.g. "sencache-budget:nfe=21".', "nfe");
  }
  const base = {
    profile: v.profile as SensitivityProfile | string,
    n: (v.n as number | undefined) ?? 3,
    forceLast: (v.forceLast as boolean | undefined) ?? false,
    weighting: (v.weighting as "uniform" | "step" | "index" | undefined) ?? "index",
    earlyWeight: (v.earlyWeight as number | undefined) ?? (((v.objective ?? "rule") === "rule" || (v.weighting ?? "index") !== "index") ? 10 : 4),
    warmupFraction: (v.warmupFraction as number | undefined) ?? ((v.objective ?? "rule") === "rule" ? 0.1 : 0.2),
    earlyShape: (v.earlyShape as "step" | "ramp" | undefined) ?? "step",
    onInfeasible: (v.onInfeasible as "error" | "clamp" | undefined) ?? "error",
    objective: (v.objective as "sum" | "streak-sq" | "rule" | undefined) ?? "rule",
    resampleProfile: (v.resampleProfile as boolean | undefined) ?? false,
    forceProfile: (v.forceProfile as boolean | undefined) ?? false,
  };
  const options: SencacheBudgetOptions =
    v.nfe !== undefined ? { ...base, nfe: v.nfe as number } : { ...base, speedup: v.speedup as number };
  const slot = new ProfileSlot("sencache-budget", options);
  const diag = new DiagnosticLog();
  let plan: Plan | undefined;
  let rho = NaN; // latent speed ‖Δx‖/|Δσ|, last good measurement
  let uIdx = NaN; // latent drift per step index (weighting "index")
  let tauIdx = NaN; // timestep distance per step index (weighting "index")

  const makePlan = (T: number): Plan => {
    const cap = Math.min(options.n, T);
    const wanted = options.nfe ?? Math.max(1, Math.round(T / options.speedup!));
    const range = feasibleNfeRange(T, cap, options.forceLast);
    let target = wanted;
    if (wanted < range.min || wanted > range.max) {
      const what = `a budget of ${wanted} evaluations for ${T} steps is not reachable with at most ${Number.isFinite(options.n) ? options.n : "unlimited"} consecutive reuses${options.forceLast ? " and a forced last step" : ""} (feasible: ${range.min}–${range.max})`;
      if (options.onInfeasible === "error") {
        throw new PolicyOptionsError("budget-infeasible", "sencache-budget", `In "sencache-budget", ${what}; pick a target in that range, raise n, or pass onInfeasible=clamp.`, options.nfe !== undefined ? "nfe" : "speedup");
      }
      target = Math.min(range.max, Math.max(range.min, wanted));
      diag.note("clamped", -1, `sencache-budget: ${what}; clamped the target to ${target}`);
    }
    return { T, target, cap, lo: minComputesTable(T, cap, options.forceLast), decided: new Int8Array(T).fill(-1) };
  };

  const decideWith = (ctx: DecideContext, p: Plan, profile: SensitivityProfile): Decision => {
    const k = ctx.step;
    const T = p.T;
    if (k === 0 || ctx.last === undefined) return compute("first step");
    let used = 0;
    for (let i = 0; i < k; i++) if (p.decided[i] === 1) used++;
    const R = p.target - used;
    const r = T - k;
    const m = Math.min(ctx.reuseStreak, p.cap);
    const reuseOk = m < p.cap && !(options.forceLast && k === T - 1) && R >= p.lo[r - 1]![m + 1]! && R <= r - 1;
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

    // ---- plan the rest: costs of reusing step j against reference c ----
    const sig = ctx.sigmas;
    const ts = ctx.timesteps;
    const c0 = ctx.last;
    const dSigmaNow = Math.abs(ctx.sigma - c0.sigma);
    if (dSigmaNow > 0 && Number.isFinite(s.drift)) rho = s.drift / dSigmaNow;
    const speed = Number.isFinite(rho) ? rho : 0;
    const byIndex = options.weighting === "index";
    const gap = k - c0.step;
    if (byIndex && gap > 0 && Number.isFinite(s.drift)) {
      uIdx = s.drift / gap;
      tauIdx = Math.abs(ctx.t - c0.t) / gap;
    }
    const uI = Number.isFinite(uIdx) ? uIdx : 0;
    const tI = Number.isFinite(tauIdx) ? tauIdx : 0;
    // predicted latent drift and timestep distance between steps c and j
    const dX = (c: number, j: number): number => (byIndex ? uI * Math.abs(j - c) : speed * Math.abs((sig[j] ?? 0) - (sig[c] ?? 0)));
    const dT = (c: number, j: number): number => (byIndex ? tI * Math.abs(j - c) : Math.abs((ts[j] ?? 0) - (ts[c] ?? 0)));
    const warm = roundHalfEven(options.warmupFraction * T);
    const w = new Float64Array(T);
    for (let j = 0; j < T; j++) {
      const stepW = options.weighting === "step" ? Math.abs((sig[j + 1] ?? 0) - (sig[j] ?? 0)) : 1;
      const early =
        options.earlyShape === "ramp"
          ? 1 + (options.earlyWeight - 1) * Math.max(0, 1 - j / Math.max(1, 2 * warm))
          : j < warm
            ? options.earlyWeight
            : 1;
      w[j] = stepW * early;
    }
    if (p.alphas === undefined || p.alphas.profile !== profile || p.alphas.timesteps !== ts) {
      const x = new Float64Array(T);
      const t = new Float64Array(T);
      for (let c = 0; c < T; c++) {
        const a = lookup(profile, ts[c] ?? 0);
        x[c] = Number.isFinite(a.alphaX) ? a.alphaX : 0;
        t[c] = Number.isFinite(a.alphaT) ? a.alphaT : 0;
      }
      p.alphas = { profile, timesteps: ts, x, t };
    }
    const alphaX = p.alphas.x;
    const alphaT = p.alphas.t;
    const alpha = (c: number): { ax: number; at: number } => ({ ax: alphaX[c]!, at: alphaT[c]! });
    const predicted = (c: number, j: number): number => {
      const a = alpha(c);
      return a.ax * dX(c, j) + a.at * dT(c, j);
    };
    const wk = w[k]!;
    // Reusing now keeps the open segment going: reference c0, the drift growing from this step's measured one.
    const a0 = lookup(profile, c0.t);
    const ax0 = Number.isFinite(a0.alphaX) ? a0.alphaX : 0;
    const at0 = Number.isFinite(a0.alphaT) ? a0.alphaT : 0;
    const openScore = (j: number): number => ax0 * (s.drift + (byIndex ? uI * (j - k) : speed * Math.abs((sig[j] ?? 0) - ctx.sigma))) + at0 * (byIndex ? tI * (j - c0.step) : Math.abs((ts[j] ?? 0) - c0.t));
    if (options.objective === "rule") {
      // Plain SenCache with one ε for the rest of the sample (early steps: ε / w_j): simulate the rule on
      // predicted scores and take the smallest ε whose predicted computes fit the remaining budget R.
      // Predicted scores are fixed for this decision: tabulate them once (the bisection reads them many times).
      const cap = p.cap;
      const span = Math.min(cap, T - 1 - k) + 1; // a reference serves at most `cap` reuses after it
      const open = new Float64Array(T);
      for (let j = k + 1; j < T; j++) open[j] = w[j]! * openScore(j);
      const pred = new Float64Array(T * span); // pred[ref·span + (j − ref)] = w_j·Ŝ(ref, j)
      for (let ref = k; ref < T; ref++) for (let d = 1; d < span && ref + d < T; d++) pred[ref * span + d] = w[ref + d]! * predicted(ref, ref + d);
      const lastForced = options.forceLast;
      const computesAt = (eps: number): number => {
        let reusing = m < cap && !(lastForced && k === T - 1) && wk * s.score <= eps;
        let ref = k;
        let streak = reusing ? m + 1 : 0;
        let n = reusing ? 0 : 1;
        for (let j = k + 1; j < T; j++) {
          const score = reusing ? open[j]! : pred[ref * span + (j - ref)]!;
          if (streak < cap && !(lastForced && j === T - 1) && score <= eps) {
            streak++;
          } else {
            reusing = false;
            ref = j;
            streak = 0;
            n++;
          }
        }
        return n;
      };
      let hi = Math.max(wk * s.score, 1e-12);
      for (let j = k + 1; j < T; j++) hi = Math.max(hi, open[j]!);
      for (let i = 0; i < pred.length; i++) hi = Math.max(hi, pred[i]!);
      hi *= 4;
      let lo = 0;
      if (computesAt(hi) > R) return reuse("budget rule: reuse (budget tight)", s.score, Infinity);
      if (computesAt(0) <= R) return compute("budget rule: compute (budget ample)", s.score, -Infinity);
      for (let it = 0; it < 40; it++) {
        const mid = 0.5 * (lo + hi);
        if (computesAt(mid) <= R) hi = mid;
        else lo = mid;
      }
      const thr = hi / (wk > 0 ? wk : 1);
      return s.score <= thr ? reuse("budget rule: reuse", s.score, thr) : compute("budget rule: compute", s.score, thr);
    }
    const sq = options.objective === "streak-sq";
    // F[p][b]: min cost of steps p+1..T-1 given p computed and exactly b more computes after p.
    const maxB = R;
    const F: Float64Array[] = [];
    for (let q = 0; q < T; q++) F.push(new Float64Array(maxB + 1).fill(Infinity));
    for (let q = T - 1; q >= k; q--) {
      const row = F[q]!;
      if (q === T - 1) {
        row[0] = 0;
        continue;
      }
      const a = alpha(q);
      let seg = 0; // cost of reusing q+1..nxt-1 against reference q
      for (let nxt = q + 1; nxt <= Math.min(T - 1, q + p.cap + 1); nxt++) {
        const next = F[nxt]!;
        const segCost = sq ? seg * seg : seg;
        for (let b = 1; b <= maxB; b++) {
          const c = segCost + next[b - 1]!;
          if (c < row[b]!) row[b] = c;
        }
        // extend the reuse run by step nxt (for the next candidate)
        seg += w[nxt]! * (a.ax * dX(q, nxt) + a.at * dT(q, nxt));
      }
      // end: reuse all of q+1..T-1 (allowed if short enough and the last step is not forced)
      if (T - 1 - q <= p.cap && !options.forceLast) {
        let tail = 0;
        for (let j = q + 1; j < T; j++) tail += w[j]! * predicted(q, j);
        const tailCost = sq ? tail * tail : tail;
        if (tailCost < row[0]!) row[0] = tailCost;
      }
    }
    const costCompute = F[k]![R - 1]!;
    // reuse now: the open segment continues with reference c0; next compute at q, or never.
    const openCost = (j: number): number => w[j]! * openScore(j);
    const room = p.cap - m - 1; // reuses still allowed after this one
    if (sq) {
      // Streak cost is (P + w_k·S_k + later)²: P = predicted injections of the streak so far.
      let P = 0;
      for (let j = c0.step + 1; j < k; j++) P += w[j]! * (ax0 * dX(c0.step, j) + at0 * dT(c0.step, j));
      const costC = P * P + costCompute;
      // candidates: (segment after k, cost after the segment)
      const cands: Array<[number, number]> = [];
      let seg2 = 0;
      for (let q = k + 1; q <= Math.min(T - 1, k + room + 1); q++) {
        if (R >= 1 && Number.isFinite(F[q]![R - 1]!)) cands.push([seg2, F[q]![R - 1]!]);
        seg2 += openCost(q);
      }
      if (R === 0 && T - 1 - k <= room && !options.forceLast) {
        let tail = 0;
        for (let j = k + 1; j < T; j++) tail += openCost(j);
        cands.push([tail, 0]);
      }
      if (cands.length === 0) return compute("budget: reuse leads nowhere", s.score, -Infinity);
      let thr = -Infinity;
      for (const [segAfter, rest] of cands) {
        const slack = costC - rest;
        if (slack < 0) continue;
        const lim = wk > 0 ? (Math.sqrt(slack) - P - segAfter) / wk : Math.sqrt(slack) >= P + segAfter ? Infinity : -Infinity;
        if (lim > thr) thr = lim;
      }
      return s.score <= thr ? reuse("budget plan: reuse", s.score, thr) : compute("budget plan: compute", s.score, thr);
    }
    let after = Infinity;
    let seg = 0;
    for (let q = k + 1; q <= Math.min(T - 1, k + room + 1); q++) {
      if (R >= 1) after = Math.min(after, seg + F[q]![R - 1]!);
      seg += openCost(q);
    }
    if (R === 0 && T - 1 - k <= room && !options.forceLast) {
      let tail = 0;
      for (let j = k + 1; j < T; j++) tail += openCost(j);
      after = Math.min(after, tail);
    }
    const threshold = wk > 0 ? (costCompute - after) / wk : costCompute >= after ? Infinity : -Infinity;
    if (!Number.isFinite(after)) return compute("budget: reuse leads nowhere", s.score, -Infinity);
    return s.score <= threshold ? reuse("budget plan: reuse", s.score, threshold) : compute("budget plan: compute", s.score, threshold);
  };

  return {
    id: "sencache-budget",
    apiVersion: POLICY_API_VERSION,
    options,
    async prepare(run: RunInfo) {
      diag.clear();
      rho = NaN;
      uIdx = tauIdx = NaN;
      await slot.prepare(run);
      plan = makePlan(run.totalSteps);
    },
    reset() {
      diag.clear();
      rho = NaN;
      uIdx = tauIdx = NaN;
      if (plan !== undefined) plan.decided.fill(-1);
    },
    decide(ctx: DecideContext): Decision {
      if (plan === undefined || plan.T !== ctx.totalSteps) {
        if (plan !== undefined) diag.note("steps-changed", ctx.step, `sencache-budget: the step count changed from ${plan.T} to ${ctx.totalSteps} without prepare(); re-planned`);
        plan = makePlan(ctx.totalSteps);
      }
      if (ctx.step === 0) {
        plan.decided.fill(-1);
        rho = NaN;
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
  description: "SenCache with a target NFE (or speed-up): exact budget, computes placed by a per-step plan over predicted scores.",
  optionSchema: sencacheBudgetSchema,
  create: (o) => createSencacheBudgetPolicy(o as SencacheBudgetInput),
});
