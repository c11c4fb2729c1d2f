/**
 * Carrying a profile over to another schedule (another step count or shift): by the continuous
 * timestep (`transferProfile`) or by nearest timestep (`resampleProfile`); a profile with expert
 * sections is carried section by section.
 */

import { expertOf } from "../sampling/experts.js";
import { PROFILE_FORMAT, PROFILE_VERSION, PROFILE_VERSION_EXPERTS, SECTION_ARRAYS, type ProfileExpertSection, type SensitivityProfile } from "./profile.js";
import { expertProfile } from "./profile-experts.js";
import { interpolate, nearestIndex } from "./profile-lookup.js";
import { validateProfile } from "./profile-validate.js";

/**
 * Carry a profile over to another schedule (another step count or shift) by the continuous timestep:
 *
 * - J_x is a local derivative at t: linearly interpolated in t (exact at calibrated timesteps).
 * - J_t_k = ‖f(x, t_{k+1}) − f(x, t_k)‖ / |t_{k+1} − t_k| is a finite difference over the calibrated
 *   schedule's own interval [t_{k+1}, t_k] (t after the last = 0), i.e. the mean of ‖∂f/∂t‖ over that
 *   interval. The run's α_t at its step c must be the mean over the run's interval [t'_{c+1}, t'_c],
 *   which is what the score's α_t·|t − t_ref| integrates. So J_t is treated as a piecewise-constant
 *   density on the calibrated intervals and averaged over each run interval (weighted by overlap;
 *   outside the calibrated range the nearest interval's value). On the calibrated schedule itself
 *   this returns J_t unchanged.
 * - the propagation measurement is kept as it is (it is looked up by timestep).
 */
export function transferProfile(profile: SensitivityProfile, timesteps: ArrayLike<number>): SensitivityProfile {
  if (profile.experts !== undefined) return carryPerExpert(profile, timesteps, transferProfile, "transferred");
  const ts = Array.from(timesteps);
  const jx = ts.map((t) => interpolate(profile.timesteps, profile.J_x_norm, t));
  // calibrated intervals, sorted by their upper end
  const order = profile.timesteps.map((_, i) => i).sort((a, b) => profile.timesteps[b]! - profile.timesteps[a]!);
  const cal = order.map((i, q) => ({ hi: profile.timesteps[i]!, lo: q + 1 < order.length ? profile.timesteps[order[q + 1]!]! : 0, j: profile.J_t_norm[i]! }));
  const meanOver = (a: number, b: number): number => {
    const hi = Math.max(a, b);
    const lo = Math.min(a, b);
    if (hi - lo <= 1e-9) return interpolate(profile.timesteps, profile.J_t_norm, hi);
    let acc = 0;
    let covered = 0;
    for (const c of cal) {
      const o = Math.min(hi, c.hi) - Math.max(lo, c.lo);
      if (o > 0) {
        acc += o * c.j;
        covered += o;
      }
    }
    const top = cal[0]!;
    const bottom = cal[cal.length - 1]!;
    if (hi > top.hi) {
      acc += (hi - Math.max(lo, top.hi)) * top.j;
      covered += hi - Math.max(lo, top.hi);
    }
    if (lo < bottom.lo) {
      acc += (Math.min(hi, bottom.lo) - lo) * bottom.j;
      covered += Math.min(hi, bottom.lo) - lo;
    }
    return covered > 0 ? acc / covered : top.j;
  };
  const sorted = ts.map((t, i) => ({ t, i })).sort((a, b) => b.t - a.t);
  const jt = new Array<number>(ts.length);
  sorted.forEach((e, q) => {
    const next = q + 1 < sorted.length ? sorted[q + 1]!.t : 0;
    jt[e.i] = meanOver(e.t, next);
  });
  const out: Record<string, unknown> = {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    timesteps: ts,
    J_x_norm: jx,
    J_t_norm: jt,
    validFor: { ...profile.validFor, steps: ts.length },
    origin: `transferred (J_x interpolated, J_t interval-averaged) from ${profile.origin ?? "a profile"} with ${profile.timesteps.length} timesteps`,
    ...(profile.propagation !== undefined ? { propagation: profile.propagation } : {}),
  };
  return validateProfile(out, "(transferred)");
}

/** Nearest-timestep resampling onto another schedule (values copied from the nearest calibrated timestep). */
export function resampleProfile(profile: SensitivityProfile, timesteps: ArrayLike<number>): SensitivityProfile {
  if (profile.experts !== undefined) return carryPerExpert(profile, timesteps, resampleProfile, "resampled (nearest timestep)");
  const ts = Array.from(timesteps);
  const idx = ts.map((t) => nearestIndex(profile.timesteps, t));
  const pick = (a: readonly number[] | undefined): number[] | undefined => (a === undefined ? undefined : idx.map((i) => a[i]!));
  const out: Record<string, unknown> = {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    timesteps: ts,
    J_x_norm: pick(profile.J_x_norm),
    J_t_norm: pick(profile.J_t_norm),
    sampleCounts: pick(profile.sampleCounts),
    J_x_std: pick(profile.J_x_std),
    J_t_std: pick(profile.J_t_std),
    J_x_samples: profile.J_x_samples?.map((row) => idx.map((i) => row[i] ?? null)),
    J_t_samples: profile.J_t_samples?.map((row) => idx.map((i) => row[i] ?? null)),
    validFor: { ...profile.validFor, steps: ts.length },
    origin: `resampled (nearest timestep) from ${profile.origin ?? "a profile"} with ${profile.timesteps.length} timesteps`,
    ...(profile.propagation !== undefined ? { propagation: profile.propagation } : {}),
  };
  return validateProfile(out, "(resampled)");
}

/**
 * A version-2 profile carried onto another schedule section by section: each of the schedule's
 * timesteps goes to the expert serving it, and that expert's section is carried over from its own
 * section only (never from the other expert's values). An expert with none of the schedule's
 * timesteps is left out. The result is version 2 again, its top level the sections concatenated.
 */
function carryPerExpert(
  profile: SensitivityProfile,
  timesteps: ArrayLike<number>,
  carry: (p: SensitivityProfile, ts: readonly number[]) => SensitivityProfile,
  how: string,
): SensitivityProfile {
  const experts = profile.experts!;
  const ts = Array.from(timesteps);
  const groups = experts.map(() => [] as number[]);
  for (const t of ts) groups[expertOf(experts, t)]!.push(t);
  const parts = experts.flatMap((e, g) => (groups[g]!.length === 0 ? [] : [{ e, c: carry(expertProfile(profile, e), groups[g]!) }]));
  const sections = parts.map(({ e, c }) => {
    const section: Record<string, unknown> = { name: e.name, tMin: e.tMin, tMax: e.tMax };
    for (const key of SECTION_ARRAYS) if (c[key] !== undefined) section[key] = [...(c[key] as readonly number[])];
    return section as unknown as ProfileExpertSection;
  });
  const counts = sections.map((x) => `${x.name} ${x.timesteps.length}`).join(", ");
  const out: Record<string, unknown> = {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION_EXPERTS,
    experts: sections,
    validFor: { ...profile.validFor, steps: ts.length },
    origin: `${how} per expert (${counts} timesteps) from ${profile.origin ?? "a profile"} with ${profile.timesteps.length} timesteps`,
    ...(profile.createdAt !== undefined ? { createdAt: profile.createdAt } : {}),
    ...(profile.propagation !== undefined ? { propagation: profile.propagation } : {}),
  };
  for (const key of SECTION_ARRAYS) {
    if (parts.every(({ c }) => c[key] !== undefined)) out[key] = parts.flatMap(({ c }) => [...(c[key] as readonly number[])]);
  }
  for (const key of ["J_x_samples", "J_t_samples"] as const) {
    const rows = parts.map(({ c }) => c[key]);
    if (rows.every((r) => r !== undefined)) out[key] = rows[0]!.map((_, si) => rows.flatMap((r) => [...(r![si] ?? [])]));
  }
  return validateProfile(out, `(${how.split(" ")[0]})`);
}
