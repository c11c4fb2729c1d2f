/**
 * What the final output makes of a reuse, measured on uncached runs of a worker-backed model:
 *
 * - `measurePropagation`: the propagation gain of the profile (PropagationProfile in ./profile.ts).
 *   On P uncached runs (prompt s, seed + s, the model's guidance) and M probe steps k spread over the
 *   schedule, the run is repeated with step k's output replaced by step k−1's (one reuse) and the
 *   final latents compared:  gain_k = ‖x̂_final − x_final‖ / (|σ_{k+1} − σ_k|·‖y_{k−1} − y_k‖)
 *   (y = guided outputs of the uncached run; with a profile, the SenCache score S_k of that reuse in
 *   place of ‖y_{k−1} − y_k‖), as a ratio of sums over the samples (Σ_s E / Σ_s injected: a sample
 *   whose injected error is tiny does not blow the mean up). Cost: P·(T + M·(T − 1)) denoiser steps.
 * - `searchStaticMasks`: the offline-optimal static schedule for given NFEs (LeMiCa, NeurIPS 2025;
 *   BudCache, ICML 2026; DPCache, CVPR 2026). From the same runs the first-order cost of reusing
 *   step r's output at step j is  c(r, j) = mean_s gain(t_j)·|σ_{j+1} − σ_j|·‖y_r − y_j‖ ; an exact
 *   dynamic programme finds, for each NFE K, the K-step mask (step 0 computed, ≤ n consecutive
 *   reuses) with the smallest Σ c. Then a greedy local search on *measured* errors: moves of one
 *   computed step by ±1 are tried in order of predicted cost, each candidate run cached on the P
 *   samples and scored by mean log10 ‖x̂_final − x_final‖/‖x_final‖; the first improvement is kept,
 *   until a round finds none or `maxCandidates` cached runs per NFE are spent. Cost: the propagation
 *   measurement plus Σ over candidates of P·K steps.
 */
import { AbortError, InvalidInputError } from "../errors.js";
import { l2Distance, l2Norm } from "../math.js";
import { createMaskPolicy } from "../policies/static-optimal.js";
import { guide, sample } from "../sampling/loop.js";
import type { LatentSize, Model } from "../sampling/model.js";
import type { Denoiser, DenoiseItem } from "../sampling/types.js";
import { schedulerIdentity } from "../schedulers/identity.js";
import { SeededNoiseSource } from "../schedulers/noise.js";
import type { SetTimestepsOptions } from "../schedulers/types.js";
import { DEFAULT_CALIBRATION_PROMPTS, calibrationImages, validityOf } from "./calibrate-inputs.js";
import { pipelineTimestepOptions } from "../sampling/family.js";
import type { Tensor } from "../worker/tensors.js";
import { meanStd } from "./calibrate-math.js";
import { interpolate, lookup } from "./profile-lookup.js";
import { PROPAGATION_VERSION, type PropagationProfile, type SensitivityProfile } from "./profile.js";
import { STATIC_MASKS_FORMAT, type StaticMask, type StaticMasksFile } from "./static-masks.js";
import type { CachePolicy } from "../policies/types.js";

export interface PropagationOptions {
  /** Uncached runs P (default 2). */
  readonly samples?: number;
  /** Probe steps M (default min(16, T − 1)); spread evenly over steps 1..T−1. */
  readonly probes?: number;
  readonly steps?: number;
  readonly height?: number;
  readonly width?: number;
  readonly numFrames?: number;
  /** Prompts of the runs (cycled; default DEFAULT_CALIBRATION_PROMPTS). */
  readonly prompts?: readonly string[];
  readonly negativePrompt?: string;
  /** Image-to-video models: conditioning images [H, W, 3] uint8, one per run (cycled); required there (calibrationImages). */
  readonly images?: readonly Tensor<Uint8Array>[];
  /** Seed of run s: seed + s (default 0). */
  readonly seed?: number;
  readonly guidanceScale?: number;
  readonly schedulerOptions?: SetTimestepsOptions;
  /** Runs in flight at once (the worker merges their forwards; default 4). */
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** Guided outputs of every step of an uncached run (recorded by wrapping the denoiser). */
class OutputRecorder implements Denoiser {
  readonly outputs: Float32Array[] = [];
  readonly inputs: Float32Array[] = [];
  constructor(private readonly inner: Denoiser, private readonly scale: number) {}
  async denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    const outs = await this.inner.denoise(items, signal);
    this.inputs.push(items[0]!.x);
    this.outputs.push(outs.length > 1 && this.scale > 1 ? guide(outs[0]!, outs[1]!, this.scale) : outs[0]!);
    return outs;
  }
}

/** Probe steps: M indices spread evenly over 1..T−1 (distinct, ascending). */
export function probeSteps(T: number, M: number): number[] {
  if (T < 2 || M < 1) return [];
  const m = Math.min(M, T - 1);
  if (m === 1) return [T - 1];
  const out = new Set<number>();
  for (let i = 0; i < m; i++) out.add(Math.round(1 + (i * (T - 2)) / (m - 1)));
  return [...out].sort((a, b) => a - b);
}

interface SampleRun {
  readonly cond: string;
  readonly uncond?: string;
  readonly latent: Float32Array;
  readonly seed: number;
  readonly image?: string;
}

/** The set-up both measurements share: conditions, initial latents, a cached-run helper. */
class Runs {
  readonly T: number;
  readonly guidance: number;
  readonly latentShape: number[];
  readonly timesteps: number[];
  readonly sigmas: number[];
  readonly samples: SampleRun[] = [];
  steps = 0;
  readonly #handles: string[] = [];
  readonly #model: Model;
  readonly #o: PropagationOptions;

  constructor(model: Model, o: PropagationOptions, T: number) {
    this.#model = model;
    this.#o = o;
    this.T = T;
    this.guidance = o.guidanceScale ?? model.info.defaults.guidanceScale;
    const d = model.info.defaults;
    const size: LatentSize = { height: o.height ?? d.height, width: o.width ?? d.width, numFrames: o.numFrames ?? d.numFrames };
    this.size = size;
    this.latentShape = model.latentShape(size);
    // The pipeline's own set_timesteps arguments (LTX-Video's linspace sigmas and mu), as generate uses.
    this.schedulerOptions = { ...pipelineTimestepOptions(model.info, T, this.latentShape), ...(o.schedulerOptions ?? {}) };
    const sch = model.scheduler(T, this.schedulerOptions);
    this.timesteps = Array.from(sch.timesteps);
    this.sigmas = Array.from(sch.sigmas);
  }
  readonly size: LatentSize;
  readonly schedulerOptions: SetTimestepsOptions;

  async init(P: number): Promise<void> {
    const prompts = this.#o.prompts !== undefined && this.#o.prompts.length > 0 ? this.#o.prompts : DEFAULT_CALIBRATION_PROMPTS;
    const seed = this.#o.seed ?? 0;
    const signal = this.#o.signal;
    const uncond = this.guidance > 1 ? await this.#model.encodePrompt(this.#o.negativePrompt ?? "", signal ? { signal } : {}) : undefined;
    if (uncond !== undefined) this.#handles.push(uncond);
    const conds = new Map<string, string>();
    const images = calibrationImages(this.#model, this.#o.images);
    for (let s = 0; s < P; s++) {
      const prompt = prompts[s % prompts.length]!;
      let c = conds.get(prompt);
      if (c === undefined) {
        c = await this.#model.encodePrompt(prompt, signal ? { signal } : {});
        conds.set(prompt, c);
        this.#handles.push(c);
      }
      const image = images.length > 0 ? await this.#model.encodeImage(images[s % images.length]!, seed + s, this.size, signal) : undefined;
      if (image !== undefined) this.#handles.push(image);
      const initial = await this.#model.prepareLatents(seed + s, this.size, signal, image);
      const withImage = image !== undefined ? { image } : {};
      this.samples.push({ cond: c, ...(uncond !== undefined ? { uncond } : {}), latent: initial.data, seed: seed + s, ...withImage });
    }
  }

  async release(): Promise<void> {
    if (this.#handles.length > 0) await this.#model.release(this.#handles).catch(() => undefined);
  }

  /** One run of sample s with a policy (none = uncached); optionally recording the guided outputs. */
  async run(s: number, policy: CachePolicy | undefined, record = false): Promise<{ latent: Float32Array; outputs?: Float32Array[]; inputs?: Float32Array[]; nfe: number }> {
    if (this.#o.signal?.aborted) throw new AbortError("The measurement was aborted.");
    const smp = this.samples[s]!;
    const recorder = record ? new OutputRecorder(this.#model, this.guidance) : undefined;
    const sch = this.#model.info.scheduler;
    const result = await sample({
      denoiser: recorder ?? this.#model,
      scheduler: this.#model.scheduler(this.T, this.schedulerOptions),
      latent: smp.latent,
      latentShape: this.latentShape,
      cond: smp.cond,
      ...(smp.uncond !== undefined ? { uncond: smp.uncond } : {}),
      guidanceScale: this.guidance,
      ...(smp.image !== undefined ? { image: smp.image } : {}),
      ...(policy ? { policy } : {}),
      model: { family: this.#model.family, source: this.#model.identity },
      schedulerIdentity: schedulerIdentity(sch),
      noise: new SeededNoiseSource(smp.seed),
      ...(this.#o.signal ? { signal: this.#o.signal } : {}),
    });
    this.steps += result.summary.nfe;
    return { latent: result.latent, nfe: result.summary.nfe, ...(recorder ? { outputs: recorder.outputs, inputs: recorder.inputs } : {}) };
  }

  /** Run jobs with at most `concurrency` in flight. */
  async pool<R>(jobs: (() => Promise<R>)[]): Promise<R[]> {
    const out = new Array<R>(jobs.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.#o.concurrency ?? 4, jobs.length)) }, lane));
    return out;
  }
}

/** All steps except k computed. */
const singleReuseMask = (T: number, k: number): number[] => Array.from({ length: T }, (_, i) => i).filter((i) => i !== k);

interface Measured {
  readonly runs: Runs;
  readonly probes: number[];
  readonly propagation: PropagationProfile;
  /** Per sample: the uncached guided outputs and final latent. */
  readonly refs: { outputs: Float32Array[]; inputs: Float32Array[]; latent: Float32Array }[];
  readonly referenceSteps: number;
  readonly propagationSteps: number;
}

async function measure(model: Model, o: PropagationOptions, T: number, P: number, M: number, profile?: SensitivityProfile, given?: PropagationProfile): Promise<Measured> {
  if (!Number.isInteger(P) || P < 1) throw new InvalidInputError(`The propagation measurement needs at least one sample, not ${P}.`);
  if (T < 2) throw new InvalidInputError(`The propagation measurement needs at least 2 steps, not ${T}.`);
  const runs = new Runs(model, o, T);
  await runs.init(P);
  const probes = given !== undefined ? [] : probeSteps(T, M);
  const total = P * (1 + probes.length);
  let done = 0;
  const tick = (): void => o.onProgress?.(++done, total);
  try {
    const refs = await runs.pool(
      runs.samples.map((_, s) => async () => {
        const r = await runs.run(s, undefined, true);
        tick();
        return { outputs: r.outputs!, inputs: r.inputs!, latent: r.latent };
      }),
    );
    const referenceSteps = runs.steps;
    const jobs: (() => Promise<{ s: number; k: number; err: number }>)[] = [];
    for (let s = 0; s < P; s++) {
      for (const k of probes) {
        jobs.push(async () => {
          const r = await runs.run(s, createMaskPolicy(singleReuseMask(T, k)));
          tick();
          return { s, k, err: l2Distance(r.latent, refs[s]!.latent) };
        });
      }
    }
    const results = await runs.pool(jobs);
    if (given !== undefined) return { runs, probes, propagation: given, refs, referenceSteps, propagationSteps: 0 };
    // gain_k = Σ_s E_k,s / Σ_s inj_k,s (ratio of means: robust where a sample's injected error is tiny)
    const perProbe = new Map<number, number[]>();
    const sums = new Map<number, { e: number; inj: number }>();
    for (const { s, k, err } of results) {
      const h = Math.abs((runs.sigmas[k + 1] ?? 0) - runs.sigmas[k]!);
      // the local error of the reuse: the SenCache score of reusing step k−1 at step k (with the
      // profile), else the guided output change itself
      let local: number;
      if (profile !== undefined) {
        const a = lookup(profile, runs.timesteps[k - 1]!);
        local = a.alphaX * l2Distance(refs[s]!.inputs[k]!, refs[s]!.inputs[k - 1]!) + a.alphaT * Math.abs(runs.timesteps[k]! - runs.timesteps[k - 1]!);
      } else local = l2Distance(refs[s]!.outputs[k - 1]!, refs[s]!.outputs[k]!);
      const inj = h * local;
      const g = err / inj;
      if (!perProbe.has(k)) perProbe.set(k, []);
      if (Number.isFinite(g)) {
        perProbe.get(k)!.push(g);
        const acc = sums.get(k) ?? { e: 0, inj: 0 };
        acc.e += err;
        acc.inj += inj;
        sums.set(k, acc);
      }
    }
    const ks = probes.filter((k) => (perProbe.get(k) ?? []).length > 0);
    if (ks.length === 0) throw new InvalidInputError(
      "No usable propagation measurement (every injected error was zero); check that the model's outputs change between steps.",
    );
    const stats = ks.map((k) => meanStd(perProbe.get(k)!));
    const propagation: PropagationProfile = {
      version: PROPAGATION_VERSION,
      timesteps: ks.map((k) => runs.timesteps[k]!),
      gain: ks.map((k) => sums.get(k)!.e / sums.get(k)!.inj),
      gainStd: stats.map((m) => m.std),
      samples: P,
      steps: T,
      guidanceScale: runs.guidance,
    };
    return { runs, probes, propagation, refs, referenceSteps, propagationSteps: runs.steps - referenceSteps };
  } catch (err) {
    await runs.release();
    throw err;
  }
}

export interface PropagationResult {
  readonly propagation: PropagationProfile;
  /** Denoiser steps spent (one step = both CFG branches): the P uncached runs and the P·M probe runs. */
  readonly cost: { readonly referenceSteps: number; readonly propagationSteps: number };
  readonly wallMs: number;
}

/**
 * The propagation gain for `profile` (its timesteps' schedule): gain_k = ‖x̂_final − x_final‖ /
 * (|σ_{k+1} − σ_k|·S_k) with S_k the profile's score of the reuse (α's at t_{k−1}, drift ‖x_k − x_{k−1}‖,
 * |t_k − t_{k−1}|), so that gain(t_k)·|Δσ_k|·S_k predicts the final error of a reuse from its score.
 */
export async function measurePropagation(model: Model, profile: SensitivityProfile | undefined, options: PropagationOptions = {}): Promise<PropagationResult> {
  const started = performance.now();
  const T = options.steps ?? model.info.defaults.numInferenceSteps;
  const P = options.samples ?? 2;
  const m = await measure(model, options, T, P, options.probes ?? Math.min(16, T - 1), profile);
  await m.runs.release();
  return { propagation: m.propagation, cost: { referenceSteps: m.referenceSteps, propagationSteps: m.propagationSteps }, wallMs: performance.now() - started };
}

// ---- the static search --------------------------------------------------------------------------

/**
 * Exact DP: the K-compute mask (step 0 computed, at most n consecutive reuses, no forced last step)
 * minimising Σ over reused steps j of cost(ref(j), j), ref(j) = the last computed step before j.
 * `cost(r, j)` is called for r < j ≤ r + n. Returns undefined when K is infeasible.
 */
export function dpMask(T: number, K: number, n: number, cost: (r: number, j: number) => number): { compute: number[]; cost: number } | undefined {
  if (K < 1 || K > T) return undefined;
  const cap = Math.min(n, T);
  // F[q][b]: min cost of steps q+1..T−1 given q computed and exactly b more computes after q.
  const F: Float64Array[] = [];
  const next: Int32Array[] = [];
  for (let q = 0; q < T; q++) {
    F.push(new Float64Array(K).fill(Infinity));
    next.push(new Int32Array(K).fill(-1));
  }
  for (let q = T - 1; q >= 0; q--) {
    // reuse all of q+1..T−1
    if (T - 1 - q <= cap) {
      let tail = 0;
      for (let j = q + 1; j < T; j++) tail += cost(q, j);
      F[q]![0] = tail;
    }
    let seg = 0;
    for (let q2 = q + 1; q2 <= Math.min(T - 1, q + cap + 1); q2++) {
      for (let b = 1; b < K; b++) {
        const c = seg + F[q2]![b - 1]!;
        if (c < F[q]![b]!) {
          F[q]![b] = c;
          next[q]![b] = q2;
        }
      }
      seg += cost(q, q2);
    }
  }
  if (!Number.isFinite(F[0]![K - 1]!)) return undefined;
  const out = [0];
  let q = 0;
  for (let b = K - 1; b > 0; b--) {
    q = next[q]![b]!;
    out.push(q);
  }
  return { compute: out, cost: F[0]![K - 1]! };
}

/** Whether a compute set respects the streak limit (step 0 computed). */
export function maskFeasible(T: number, computeSteps: readonly number[], n: number): boolean {
  if (computeSteps[0] !== 0) return false;
  for (let i = 0; i < computeSteps.length; i++) {
    const gapEnd = i + 1 < computeSteps.length ? computeSteps[i + 1]! : T;
    if (gapEnd - computeSteps[i]! - 1 > n) return false;
  }
  return true;
}

/** The ±1 moves of one computed step (not step 0) that keep the mask feasible. */
export function maskMoves(T: number, computeSteps: readonly number[], n: number): number[][] {
  const set = new Set(computeSteps);
  const out: number[][] = [];
  for (let i = 1; i < computeSteps.length; i++) {
    for (const d of [-1, 1]) {
      const to = computeSteps[i]! + d;
      if (to <= 0 || to >= T || set.has(to)) continue;
      const m = [...computeSteps];
      m[i] = to;
      m.sort((a, b) => a - b);
      if (maskFeasible(T, m, n)) out.push(m);
    }
  }
  return out;
}

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
  const m = await measure(model, options, T, P, options.probes ?? Math.min(16, T - 1), undefined, options.propagation);
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
        method: `exact DP over first-order costs gain(t_j)·|Δσ_j|·‖y_r − y_j‖ measured on ${P} uncached runs (${options.propagation !== undefined ? "gain given" : `${m.probes.length} propagation probes`}), then greedy ±1 moves scored by cached runs (≤ ${maxCandidates} per NFE)`,
        cost: { referenceSteps: m.referenceSteps, propagationSteps: m.propagationSteps, refineSteps, candidates },
        wallMs: performance.now() - started,
      },
      createdAt: new Date().toISOString(),
    };
  } finally {
    await runs.release();
  }
}
