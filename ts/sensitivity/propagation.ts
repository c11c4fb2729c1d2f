/**
 * What the final output makes of one reuse, measured on uncached runs of a worker-backed model:
 * `measurePropagation` gives the propagation gain of the profile (PropagationProfile in ./profile.ts).
 * On P uncached runs (prompt s, seed + s, the model's guidance) and M probe steps k spread over the
 * schedule, the run is repeated with step k's output replaced by step k−1's (one reuse) and the final
 * latents compared:  gain_k = ‖x̂_final − x_final‖ / (|σ_{k+1} − σ_k|·‖y_{k−1} − y_k‖)
 * (y = guided outputs of the uncached run; with a profile, the SenCache score S_k of that reuse in
 * place of ‖y_{k−1} − y_k‖), as a ratio of sums over the samples (Σ_s E / Σ_s injected: a sample whose
 * injected error is tiny does not blow the mean up). Cost: P·(T + M·(T − 1)) denoiser steps. The static
 * search (`static-search.ts`) starts from the same runs.
 */
import { InvalidInputError } from "../errors.js";
import { l2Distance } from "../math.js";
import { createMaskPolicy } from "../policies/static-optimal.js";
import type { Model } from "../sampling/model.js";
import type { SetTimestepsOptions } from "../schedulers/types.js";
import type { Tensor } from "../worker/tensors.js";
import { meanStd } from "./calibrate-math.js";
import { Runs } from "./measure-runs.js";
import { lookup } from "./profile-lookup.js";
import { PROPAGATION_VERSION, type PropagationProfile, type SensitivityProfile } from "./profile.js";

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

/** Probe steps: M indices spread evenly over 1..T−1 (distinct, ascending). */
export function probeSteps(T: number, M: number): number[] {
  if (T < 2 || M < 1) return [];
  const m = Math.min(M, T - 1);
  if (m === 1) return [T - 1];
  const out = new Set<number>();
  for (let i = 0; i < m; i++) out.add(Math.round(1 + (i * (T - 2)) / (m - 1)));
  return [...out].sort((a, b) => a - b);
}

/** All steps except k computed. */
const singleReuseMask = (T: number, k: number): number[] => Array.from({ length: T }, (_, i) => i).filter((i) => i !== k);

export interface Measured {
  readonly runs: Runs;
  readonly probes: number[];
  readonly propagation: PropagationProfile;
  /** Per sample: the uncached guided outputs and final latent. */
  readonly refs: { outputs: Float32Array[]; inputs: Float32Array[]; latent: Float32Array }[];
  readonly referenceSteps: number;
  readonly propagationSteps: number;
}

/**
 * The reference runs of P samples and, unless a measurement is `given`, the single-reuse runs at the
 * probe steps and the gains they give. The static search goes on from the returned runs.
 */
export async function runMeasurement(
  model: Model,
  o: PropagationOptions,
  T: number,
  P: number,
  M: number,
  profile?: SensitivityProfile,
  given?: PropagationProfile,
): Promise<Measured> {
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
  const m = await runMeasurement(model, options, T, P, options.probes ?? Math.min(16, T - 1), profile);
  await m.runs.release();
  return { propagation: m.propagation, cost: { referenceSteps: m.referenceSteps, propagationSteps: m.propagationSteps }, wallMs: performance.now() - started };
}
