/**
 * Reading a profile at a timestep: the nearest calibrated timestep's sensitivities (the paper's
 * lookup) and the propagation gain, interpolated between its probes.
 */

import type { SensitivityProfile } from "./profile.js";

/** Index of the calibrated timestep nearest to t (argmin |t_cal − t|; the first on ties). */
export function nearestIndex(timesteps: readonly number[], t: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < timesteps.length; i++) {
    const d = Math.abs(timesteps[i]! - t);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

export interface Sensitivity {
  readonly index: number;
  /** The calibrated timestep used. */
  readonly t: number;
  /** α_x ≈ ‖J_x‖. */
  readonly alphaX: number;
  /** α_t ≈ ‖J_t‖. */
  readonly alphaT: number;
}

/** The sensitivities at the calibrated timestep nearest to t. */
export function lookup(profile: SensitivityProfile, t: number): Sensitivity {
  const index = nearestIndex(profile.timesteps, t);
  return { index, t: profile.timesteps[index]!, alphaX: profile.J_x_norm[index]!, alphaT: profile.J_t_norm[index]! };
}

/** Piecewise-linear interpolation of (xs, ys) at x, clamped to the end values outside [min xs, max xs]. */
export function interpolate(xs: readonly number[], ys: readonly number[], x: number): number {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const first = order[0]!;
  const last = order[order.length - 1]!;
  if (x <= xs[first]!) return ys[first]!;
  if (x >= xs[last]!) return ys[last]!;
  for (let q = 1; q < order.length; q++) {
    const i = order[q - 1]!;
    const j = order[q]!;
    if (x <= xs[j]!) {
      const span = xs[j]! - xs[i]!;
      const w = span > 0 ? (x - xs[i]!) / span : 0;
      return (1 - w) * ys[i]! + w * ys[j]!;
    }
  }
  return ys[last]!;
}

/** The propagation gain at timestep t (linear interpolation between probes), or undefined without a measurement. */
export function propagationGain(profile: SensitivityProfile, t: number): number | undefined {
  const p = profile.propagation;
  return p === undefined ? undefined : interpolate(p.timesteps, p.gain, t);
}
