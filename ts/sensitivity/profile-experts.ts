/**
 * Profiles of a model with several experts (Wan 2.2 A14B): splitting a profile into per-expert
 * sections (version 2) and taking one expert's part as a version-1 profile.
 */

import { expertOf, type Expert } from "../sampling/experts.js";
import { ProfileError } from "./errors.js";
import { PROFILE_FORMAT, PROFILE_VERSION, PROFILE_VERSION_EXPERTS, SECTION_ARRAYS, type ProfileExpertSection, type SensitivityProfile } from "./profile.js";
import { validateProfile } from "./profile-validate.js";

/**
 * Split a profile calibrated on a model with several experts into per-expert sections (version 2).
 * Each timestep goes to the expert that serves it. J_t of an expert's last timestep was measured
 * against f at the next scheduled timestep, which the other expert serves: a difference of two
 * models, not a time derivative, so it is replaced by the J_t of that expert's previous timestep.
 * With one expert the profile is returned as it is (version 1).
 */
export function withExpertSections(
  profile: SensitivityProfile,
  experts: readonly Expert[] | undefined,
  schedule: readonly number[] = profile.timesteps,
): SensitivityProfile {
  if (experts === undefined || experts.length < 2) return profile; // a fake model may declare none
  const groups = experts.map(() => [] as number[]);
  profile.timesteps.forEach((t, i) => groups[expertOf(experts, t)]!.push(i));
  const crossing = new Set<number>();
  schedule.forEach((t, k) => {
    const next = schedule[k + 1];
    if (next !== undefined && expertOf(experts, next) !== expertOf(experts, t)) crossing.add(t);
  });
  const patched: string[] = [];
  const sections: ProfileExpertSection[] = [];
  experts.forEach((e, g) => {
    const idx = groups[g]!;
    if (idx.length === 0) return;
    const pick = (a: readonly number[] | undefined): number[] | undefined => (a === undefined ? undefined : idx.map((i) => a[i]!));
    const jt = pick(profile.J_t_norm)!;
    const jtStd = pick(profile.J_t_std);
    idx.forEach((i, j) => {
      if (!crossing.has(profile.timesteps[i]!)) return;
      const neighbour = j > 0 ? j - 1 : j + 1 < idx.length ? j + 1 : -1;
      if (neighbour < 0) return;
      jt[j] = jt[neighbour]!;
      if (jtStd) jtStd[j] = jtStd[neighbour]!;
      patched.push(`${e.name} t=${+profile.timesteps[i]!.toFixed(3)}`);
    });
    const section: Record<string, unknown> = {
      name: e.name,
      tMin: e.tMin,
      tMax: e.tMax,
      timesteps: pick(profile.timesteps),
      J_x_norm: pick(profile.J_x_norm),
      J_t_norm: jt,
    };
    if (profile.sampleCounts) section.sampleCounts = pick(profile.sampleCounts);
    if (profile.J_x_std) section.J_x_std = pick(profile.J_x_std);
    if (jtStd) section.J_t_std = jtStd;
    sections.push(section as unknown as ProfileExpertSection);
  });
  const join = (key: (typeof SECTION_ARRAYS)[number]): number[] | undefined =>
    sections.every((x) => x[key] !== undefined) ? sections.flatMap((x) => [...(x[key] as readonly number[])]) : undefined;
  const perExpert = sections.map((x) => `${x.name} ${x.timesteps.length} timesteps`).join(", ");
  const patchNote = patched.length ? `; J_t at the last step before a switch taken from the same expert's neighbour (${patched.join(", ")})` : "";
  const out: Record<string, unknown> = {
    ...profile,
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION_EXPERTS,
    experts: sections,
    origin: `${profile.origin ?? "profile"}; per expert (${perExpert})${patchNote}`,
  };
  for (const key of SECTION_ARRAYS) {
    const v = join(key);
    if (v === undefined) delete out[key];
    else out[key] = v;
  }
  // Per-sample matrices follow the same column order; J_t across a switch takes the neighbour's column too.
  const order = groups.flat();
  const swap = new Map<number, number>();
  groups.forEach((idx) => idx.forEach((i, j) => {
    if (crossing.has(profile.timesteps[i]!) && idx.length > 1) swap.set(i, j > 0 ? idx[j - 1]! : idx[j + 1]!);
  }));
  if (profile.J_x_samples) out.J_x_samples = profile.J_x_samples.map((row) => order.map((i) => row[i] ?? null));
  if (profile.J_t_samples) out.J_t_samples = profile.J_t_samples.map((row) => order.map((i) => row[swap.get(i) ?? i] ?? null));
  return validateProfile(out, "(per-expert)");
}

/**
 * The part of a profile for one expert, as a version-1 profile: the expert's section of a version-2
 * profile, or for a version-1 profile its timesteps inside the expert's range [tMin, tMax] (so a
 * lookup never takes an α measured on the other expert).
 */
export function expertProfile(profile: SensitivityProfile, expert: Expert): SensitivityProfile {
  let section: Omit<ProfileExpertSection, "name" | "tMin" | "tMax"> | undefined;
  let columns: number[] = [];
  if (profile.experts !== undefined) {
    const at = profile.experts.findIndex((e) => e.name === expert.name);
    section = profile.experts[at];
    const offset = profile.experts.slice(0, Math.max(0, at)).reduce((a, e) => a + e.timesteps.length, 0);
    columns = section ? section.timesteps.map((_, j) => offset + j) : [];
    if (section === undefined) {
      const names = profile.experts.map((e) => `"${e.name}"`).join(", ");
      throw new ProfileError(
        "profile_model_mismatch",
        `The sensitivity profile has sections for the experts ${names} but not for "${expert.name}", which serves t in ` +
          `[${expert.tMin}, ${expert.tMax}] here; calibrate a profile for this model (sencache calibrate).`,
      );
    }
  } else {
    const idx = profile.timesteps.map((t, i) => (t >= expert.tMin && t <= expert.tMax ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) {
      throw new ProfileError(
        "profile_timesteps_mismatch",
        `The sensitivity profile has no timestep in [${expert.tMin}, ${expert.tMax}], the range of expert "${expert.name}"; calibrate a profile for this ` +
          `model (sencache calibrate).`,
      );
    }
    const pick = (a: readonly number[] | undefined): number[] | undefined => (a === undefined ? undefined : idx.map((i) => a[i]!));
    columns = idx;
    section = {
      timesteps: pick(profile.timesteps)!,
      J_x_norm: pick(profile.J_x_norm)!,
      J_t_norm: pick(profile.J_t_norm)!,
      ...optional("sampleCounts", pick(profile.sampleCounts)),
      ...optional("J_x_std", pick(profile.J_x_std)),
      ...optional("J_t_std", pick(profile.J_t_std)),
    };
  }
  const out: Record<string, unknown> = {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    validFor: profile.validFor,
    origin: `${profile.origin ?? "profile"} [expert ${expert.name}]`,
    ...(profile.createdAt !== undefined ? { createdAt: profile.createdAt } : {}),
  };
  for (const key of SECTION_ARRAYS) if (section[key] !== undefined) out[key] = [...(section[key] as readonly number[])];
  if (profile.J_x_samples) out.J_x_samples = profile.J_x_samples.map((row) => columns.map((i) => row[i] ?? null));
  if (profile.J_t_samples) out.J_t_samples = profile.J_t_samples.map((row) => columns.map((i) => row[i] ?? null));
  return validateProfile(out, `(expert ${expert.name})`);
}

function optional<K extends string>(key: K, value: number[] | undefined): { [P in K]?: number[] } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number[] };
}
