/**
 * Experts: the transformers of one pipeline and the timesteps each serves (the load result's
 * `experts`). Wan 2.2 A14B has two, joined at boundary_ratio·num_train_timesteps: t ≥ boundary runs
 * `transformer`, t below runs `transformer_2`; every other model has one covering the whole range.
 *
 * For every cache policy two experts are two models: the loop (loop.ts) splits a schedule into
 * expert spans with `expertSpans`, and at the first step of every span after the first it forgets
 * the cached outputs, resets the policy, prepares it again for the new expert and computes the step.
 * So no output computed by one expert is ever reused on another expert's step, whatever the policy.
 */
import { InvalidInputError } from "../errors.js";
import type { Expert, ExpertSpan } from "../policies/types.js";
import type { RunSummary } from "./types.js";

export type { Expert, ExpertSpan } from "../policies/types.js";

/** The one expert of a single-transformer model, covering [0, max(1000, largest timestep)]. */
export function singleExpert(timesteps: ArrayLike<number> = []): Expert[] {
  let tMax = 1000;
  for (let i = 0; i < timesteps.length; i++) tMax = Math.max(tMax, timesteps[i] as number);
  return [{ name: "transformer", tMin: 0, tMax }];
}

/** Check a list of experts (names unique and non-empty, finite ranges with tMin ≤ tMax). */
export function validateExperts(experts: readonly Expert[], source = "the model"): Expert[] {
  if (!Array.isArray(experts) || experts.length === 0) throw new InvalidInputError(`${source} declares no experts; a model has at least one transformer.`);
  const names = new Set<string>();
  return experts.map((e, i) => {
    if (typeof e?.name !== "string" || e.name === "") throw new InvalidInputError(`Expert ${i} of ${source} has no name.`);
    if (names.has(e.name)) throw new InvalidInputError(`${source} declares the expert "${e.name}" twice.`);
    names.add(e.name);
    if (!Number.isFinite(e.tMin) || !Number.isFinite(e.tMax) || e.tMin > e.tMax) {
      throw new InvalidInputError(`Expert "${e.name}" of ${source} has the range [${e.tMin}, ${e.tMax}]; it needs finite tMin ≤ tMax.`);
    }
    return { name: e.name, tMin: e.tMin, tMax: e.tMax };
  });
}

/**
 * Which expert serves timestep t: the one with the largest tMin ≤ t (so a boundary timestep goes to
 * the high-noise expert, as Wan 2.2 routes `t >= boundary`); below every tMin, the lowest one.
 */
export function expertOf(experts: readonly Expert[], t: number): number {
  let best = -1;
  let lowest = 0;
  for (let i = 0; i < experts.length; i++) {
    const e = experts[i] as Expert;
    if (e.tMin < (experts[lowest] as Expert).tMin) lowest = i;
    if (t >= e.tMin && (best < 0 || e.tMin > (experts[best] as Expert).tMin)) best = i;
  }
  return best < 0 ? lowest : best;
}

/**
 * Split a schedule into maximal runs of consecutive steps served by one expert. A schedule that
 * leaves an expert and comes back (not a monotone one) gets one span per visit.
 */
export function expertSpans(experts: readonly Expert[], timesteps: ArrayLike<number>): ExpertSpan[] {
  const list = validateExperts(experts);
  const spans: ExpertSpan[] = [];
  for (let k = 0; k < timesteps.length; k++) {
    const e = list[expertOf(list, timesteps[k] as number)] as Expert;
    const open = spans[spans.length - 1];
    if (open !== undefined && open.name === e.name) {
      spans[spans.length - 1] = { ...open, lastStep: k };
    } else {
      spans.push({ ...e, index: spans.length, firstStep: k, lastStep: k });
    }
  }
  return spans;
}

/** A model's experts (Model.experts; a stand-in model object may declare none: one expert then). */
export function expertsOfModel(model: { readonly experts?: readonly Expert[]; readonly info: { readonly experts?: readonly Expert[] } }): readonly Expert[] {
  return model.experts ?? model.info.experts ?? singleExpert();
}

/** The span of every step (index = step). */
export function spanOfStep(spans: readonly ExpertSpan[], totalSteps: number): ExpertSpan[] {
  const out = new Array<ExpertSpan>(totalSteps);
  for (const s of spans) for (let k = s.firstStep; k <= s.lastStep; k++) out[k] = s;
  return out;
}

/** "transformer steps 0–11 (NFE 6) → transformer_2 steps 12–19 (NFE 5, switch at t = 875)", or "" with one expert. */
export function describeExperts(summary: RunSummary): string {
  const uses = summary.experts ?? [];
  if (uses.length < 2) return "";
  const switches = summary.expertSwitches ?? [];
  return uses
    .map((u, i) => {
      const at = i === 0 ? "" : `, switch at t = ${+(switches[i - 1]?.t ?? NaN).toFixed(3)}`;
      return `${u.name} steps ${u.firstStep}–${u.lastStep} (NFE ${u.nfe}${at})`;
    })
    .join(" → ");
}
