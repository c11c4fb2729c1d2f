/**
 * The pure maths of SenCache calibration (Haghighi & Alahi, SenCache, CVPR 2026, §3).
 * The lead's orchestration runs the model through the worker and calls these:
 *
 *   for each sample and scheduled timestep t_k:  x = noised x0;  y = f(x, t_k)
 *     latent:   x' = step(y, t_k, x);  y' = f(x', t_k)        J_x = ‖y' − y‖ / ‖x' − x‖
 *     timestep: y_next = f(x, t_{k+1}) (t after the last = 0) J_t = ‖y_next − y‖ / |t_{k+1} − t_k|
 *   average over samples per timestep; keep counts and spread.
 */

import { l2Distance } from "../math.js";
import { makeProfile } from "./profile-validate.js";
import type { ProfileValidity, SensitivityProfile } from "./profile.js";

/** One calibration measurement (norms only; the tensors stay with the caller). */
export interface SensitivityMeasurement {
  /** ‖y' − y‖ */
  readonly dyLatent: number;
  /** ‖x' − x‖ */
  readonly dx: number;
  /** ‖f(x, t_{k+1}) − y‖ */
  readonly dyTime: number;
  /** |t_{k+1} − t_k| */
  readonly dt: number;
}

function l2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(
    `Tensors of different sizes (${a.length} vs ${b.length}) cannot be compared; pass outputs of the same sample.`,
  );
  return l2Distance(a, b);
}

/** Build a measurement from the tensors of one (sample, timestep). */
export function measure(
  y: ArrayLike<number>,
  yPrime: ArrayLike<number>,
  x: ArrayLike<number>,
  xPrime: ArrayLike<number>,
  yNext: ArrayLike<number>,
  t: number,
  tNext: number,
): SensitivityMeasurement {
  return { dyLatent: l2(yPrime, y), dx: l2(xPrime, x), dyTime: l2(yNext, y), dt: Math.abs(tNext - t) };
}

export const latentSensitivity = (m: SensitivityMeasurement): number => m.dyLatent / m.dx;
export const timestepSensitivity = (m: SensitivityMeasurement): number => m.dyTime / m.dt;

/** Flow-matching noising: x = (1 − σ)·x0 + σ·ε. */
export function flowNoise(x0: ArrayLike<number>, noise: ArrayLike<number>, sigma: number): Float32Array {
  const out = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) out[i] = (1 - sigma) * x0[i]! + sigma * noise[i]!;
  return out;
}

/** First-order (Euler) flow step: x' = x + (σ_next − σ)·y. */
export function eulerStep(y: ArrayLike<number>, x: ArrayLike<number>, sigma: number, sigmaNext: number): Float32Array {
  const out = new Float32Array(x.length);
  const h = sigmaNext - sigma;
  for (let i = 0; i < x.length; i++) out[i] = x[i]! + h * y[i]!;
  return out;
}

/** The timestep after step k (0 after the last), as the calibration uses it. */
export function nextTimestep(timesteps: ArrayLike<number>, k: number): number {
  return k + 1 < timesteps.length ? timesteps[k + 1]! : 0;
}

export interface MeanStd {
  readonly mean: number;
  readonly std: number;
  readonly count: number;
}

/** Mean and sample standard deviation (n − 1; 0 for one value) of the finite values. */
export function meanStd(values: readonly number[]): MeanStd {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return { mean: NaN, std: NaN, count: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, count: v.length };
}

export interface AggregateResult {
  readonly profile: SensitivityProfile;
  /** Measurements dropped because J was NaN/∞ (e.g. ‖x' − x‖ = 0), per timestep index. */
  readonly dropped: readonly number[];
}

/**
 * Average per-sample measurements into a profile. `measurements[s][k]` is sample s at timestep k
 * (`timesteps[k]`); a missing or non-finite entry is dropped (and counted). Throws if a timestep has
 * no usable measurement at all.
 */
export function aggregateProfile(
  timesteps: ArrayLike<number>,
  measurements: readonly (readonly (SensitivityMeasurement | undefined)[])[],
  validFor: ProfileValidity,
  origin = "calibrated",
): AggregateResult {
  const T = timesteps.length;
  const jx: number[] = [];
  const jt: number[] = [];
  const jxStd: number[] = [];
  const jtStd: number[] = [];
  const counts: number[] = [];
  const dropped: number[] = [];
  const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const perSample = (f: (m: SensitivityMeasurement) => number): (number | null)[][] =>
    measurements.map((sample) => Array.from({ length: T }, (_, k) => {
      const m = sample[k];
      return m === undefined || !Number.isFinite(latentSensitivity(m)) || !Number.isFinite(timestepSensitivity(m)) ? null : finiteOrNull(f(m));
    }));
  for (let k = 0; k < T; k++) {
    const xs: number[] = [];
    const tsv: number[] = [];
    let bad = 0;
    for (const sample of measurements) {
      const m = sample[k];
      if (m === undefined) continue;
      const a = latentSensitivity(m);
      const b = timestepSensitivity(m);
      if (!Number.isFinite(a) || !Number.isFinite(b)) {
        bad++;
        continue;
      }
      xs.push(a);
      tsv.push(b);
    }
    if (xs.length === 0) {
      throw new RangeError(
        `No usable calibration measurement at timestep ${timesteps[k]} (index ${k}); check that the solver step moves the latent and the timesteps differ.`,
      );
    }
    const sx = meanStd(xs);
    const st = meanStd(tsv);
    jx.push(sx.mean);
    jt.push(st.mean);
    jxStd.push(sx.std);
    jtStd.push(st.std);
    counts.push(sx.count);
    dropped.push(bad);
  }
  const profile = makeProfile({
    timesteps: Array.from(timesteps),
    J_x_norm: jx,
    J_t_norm: jt,
    J_x_std: jxStd,
    J_t_std: jtStd,
    sampleCounts: counts,
    J_x_samples: perSample(latentSensitivity),
    J_t_samples: perSample(timestepSensitivity),
    validFor: { ...validFor, steps: validFor.steps ?? T },
    origin,
    createdAt: new Date().toISOString(),
  });
  return { profile, dropped };
}
