/**
 * `searchStaticMasks`: the offline-optimal static schedule for given NFEs (LeMiCa, NeurIPS 2025;
 * BudCache, ICML 2026; DPCache, CVPR 2026). From the runs of the propagation measurement
 * (`propagation.ts`) the first-order cost of reusing step r's output at step j is
 * c(r, j) = mean_s gain(t_j)·|σ_{j+1} − σ_j|·‖y_r − y_j‖ ; an exact dynamic programme
 * (`static-mask-math.ts`) finds, for each NFE K, the K-step mask (step 0 computed, ≤ n consecutive
 * reuses) with the smallest Σ c. Then a greedy local search on *measured* errors: moves of one computed
 * step by ±1 are tried in order of predicted cost, each candidate run cached on the P samples and scored
 * by mean log10 ‖x̂_final − x_final‖/‖x_final‖; the first improvement is kept, until a round finds none
 * or `maxCandidates` cached runs per NFE are spent. Cost: the propagation measurement plus Σ over
 * candidates of P·K steps.
 */
import { InvalidInputError } from "../errors.js";
import { l2Distance, l2Norm } from "../math.js";
import { createMaskPolicy } from "../policies/static-optimal.js";
import type { Model } from "../sampling/model.js";
import { validityOf } from "./calibrate-inputs.js";
import { interpolate } from "./profile-lookup.js";
import type { PropagationProfile } from "./profile.js";
import { runMeasurement, type PropagationOptions } from "./propagation.js";
import { dpMask, maskMoves } from "./static-mask-math.js";
import { STATIC_MASKS_FORMAT, type StaticMask, type StaticMasksFile } from "./static-masks.js";

export interface StaticSearchOptions extends PropagationOptions {
  /** NFEs to search masks for. */
  readonly nfe: readonly number[];
  /** Maximum consecutive reuses of the masks (default 3, as budget-mode SenCache). */
  readonly n?: number;
  /** Cached candidate runs per NFE in the measured local search (default 24; 0 = DP only). */
  readonly maxCandidates?: number;
  /**
   * A propagation measurement to use instead of measuring one (e.g. a profile's, `profile.propagation`).
   * Its gain must be per unit |Δσ|·‖Δy‖ of the guided output for the first-order costs to be exact; a
   * profile's gain is per unit |Δσ|·score, which only rescales step by step — the measured local search
   * corrects what that changes.
   */
  readonly propagation?: PropagationProfile;
}

export async function searchStaticMasks(model: Model, options: StaticSearchOptions): Promise<StaticMasksFile> {
  const started = performance.now();
  const T = options.steps ?? model.info.defaults.numInferenceSteps;
  const P = options.samples ?? 4;
  const n = options.n ?? 3;
  const maxCandidates = options.maxCandidates ?? 24;
  if (options.nfe.length === 0) throw new InvalidInputError("The static search needs at least one NFE (--nfe 15,18,21).");
  const m = await runMeasurement(model, options, T, P, options.probes ?? Math.min(16, T - 1), undefined, options.propagation);
  const { runs, refs, propagation } = m;
  try {
    const gain = runs.timesteps.map((t) => interpolate(propagation.timesteps, propagation.gain, t));
    const h = runs.timesteps.map((_, k) => Math.abs((runs.sigmas[k + 1] ?? 0) - runs.sigmas[k]!));
    // c(r, j) for j − r ≤ n + 1, mean over samples, relative to the sample's final-latent norm
    const finals = refs.map((r) => l2Norm(r.latent));
    const span = Math.min(n, T) + 2;
    const C = new Float64Array(T * span).fill(NaN);
    const cost = (r: number, j: number): number => {
      const d = j - r;
      if (d <= 0 || d >= span) return Infinity;
      const at = r * span + d;
      if (Number.isNaN(C[at]!)) {
        let acc = 0;
        refs.forEach((ref, s) => (acc += (gain[j]! * h[j]! * l2Distance(ref.outputs[r]!, ref.outputs[j]!)) / finals[s]!));
        C[at] = acc / refs.length;
      }
      return C[at]!;
    };
    const predictedCost = (mask: readonly number[]): number => {
      let acc = 0;
      for (let i = 0; i < mask.length; i++) {
        const end = i + 1 < mask.length ? mask[i + 1]! : T;
        for (let j = mask[i]! + 1; j < end; j++) acc += cost(mask[i]!, j);
      }
      return acc;
    };
    let refineSteps = 0;
    let candidates = 0;
    const measured = async (mask: readonly number[]): Promise<number> => {
      const before = runs.steps;
      const errs = await runs.pool(runs.samples.map((_, s) => async () => {
        const r = await runs.run(s, createMaskPolicy(mask));
        return Math.log10(Math.max(1e-30, l2Distance(r.latent, refs[s]!.latent) / finals[s]!));
      }));
      refineSteps += runs.steps - before;
      candidates++;
      return errs.reduce((a, b) => a + b, 0) / errs.length;
    };
    const masks: StaticMask[] = [];
    for (const K of [...new Set(options.nfe)].sort((a, b) => a - b)) {
      const dp = dpMask(T, K, n, cost);
      if (dp === undefined) throw new InvalidInputError(
        `No mask of ${K} evaluations exists for ${T} steps with at most ${n} consecutive reuses; pick an NFE of at least ${Math.ceil(T / (n + 1))}.`,
      );
      let best = dp.compute;
      let bestErr = maxCandidates > 0 ? await measured(best) : NaN;
      let spent = maxCandidates > 0 ? 1 : 0;
      let improved = true;
      while (improved && spent < maxCandidates) {
        improved = false;
        const moves = maskMoves(T, best, n).map((mv) => ({ mv, p: predictedCost(mv) })).sort((a, b) => a.p - b.p);
        for (const { mv } of moves) {
          if (spent >= maxCandidates) break;
          const e = await measured(mv);
          spent++;
          if (e < bestErr) {
            best = mv;
            bestErr = e;
            improved = true;
            break;
          }
        }
      }
      masks.push({ nfe: K, compute: best, predicted: predictedCost(best), ...(Number.isFinite(bestErr) ? { measured: bestErr } : {}) });
      options.onProgress?.(masks.length, options.nfe.length);
    }
    const gainSource = options.propagation !== undefined ? "gain given" : `${m.probes.length} propagation probes`;
    return {
      format: STATIC_MASKS_FORMAT,
      version: 1,
      validFor: validityOf(model, T, runs.latentShape),
      steps: T,
      n,
      guidanceScale: runs.guidance,
      samples: P,
      masks,
      search: {
        method:
          `exact DP over first-order costs gain(t_j)·|Δσ_j|·‖y_r − y_j‖ measured on ${P} uncached runs (${gainSource}), ` +
          `then greedy ±1 moves scored by cached runs (≤ ${maxCandidates} per NFE)`,
        cost: { referenceSteps: m.referenceSteps, propagationSteps: m.propagationSteps, refineSteps, candidates },
        wallMs: performance.now() - started,
      },
      createdAt: new Date().toISOString(),
    };
  } finally {
    await runs.release();
  }
}
