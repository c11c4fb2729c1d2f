/**
 * Checking untrusted data (parsed JSON, an imported archive, a constructed object) as a sensitivity
 * profile: every array, its length and values, the validity fields, the expert sections and the
 * propagation measurement. Returns a clean copy or throws a ProfileError naming what is wrong.
 */

import { ProfileError } from "./errors.js";
import {
  PROFILE_FORMAT,
  PROFILE_VERSION,
  PROFILE_VERSION_EXPERTS,
  PROPAGATION_VERSION,
  SECTION_ARRAYS,
  type ProfileExpertSection,
  type ProfileValidity,
  type PropagationProfile,
  type SensitivityProfile,
} from "./profile.js";

function invalid(source: string, what: string): never {
  throw new ProfileError("invalid_profile", `The sensitivity profile ${source} ${what}; recalibrate it or fix the file.`);
}

function numberArray(value: unknown, key: string, source: string, length?: number, nonNegative = false): number[] {
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) invalid(source, `has no array "${key}"`);
  const arr = Array.from(value as ArrayLike<unknown>);
  if (length !== undefined && arr.length !== length) invalid(source, `has ${arr.length} values in "${key}" but ${length} timesteps`);
  arr.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) invalid(source, `has a non-finite value in "${key}" at index ${i}`);
    if (nonNegative && v < 0) invalid(source, `has a negative value in "${key}" at index ${i}`);
  });
  return arr as number[];
}

/** Validate an untrusted object (parsed JSON) as a profile; returns a clean copy. */
export function validateProfile(value: unknown, source = "(object)"): SensitivityProfile {
  if (typeof value !== "object" || value === null) invalid(source, "is not an object");
  const o = value as Record<string, unknown>;
  if (o.format !== PROFILE_FORMAT) invalid(source, `has format ${JSON.stringify(o.format)} instead of "${PROFILE_FORMAT}"`);
  if (o.version !== PROFILE_VERSION && o.version !== PROFILE_VERSION_EXPERTS) {
    invalid(source, `has version ${JSON.stringify(o.version)}, this sencache reads versions ${PROFILE_VERSION} and ${PROFILE_VERSION_EXPERTS}`);
  }
  if (o.version === PROFILE_VERSION && o.experts !== undefined) invalid(source, 'has expert sections but version 1 (expert sections need version 2)');
  if (o.version === PROFILE_VERSION_EXPERTS && !Array.isArray(o.experts)) invalid(source, 'is version 2 but has no list "experts"');
  const timesteps = numberArray(o.timesteps, "timesteps", source);
  if (timesteps.length === 0) invalid(source, "has no timesteps");
  const n = timesteps.length;
  const out: {
    -readonly [K in keyof SensitivityProfile]: SensitivityProfile[K];
  } = {
    format: PROFILE_FORMAT,
    version: o.version === PROFILE_VERSION_EXPERTS ? PROFILE_VERSION_EXPERTS : PROFILE_VERSION,
    timesteps,
    J_x_norm: numberArray(o.J_x_norm, "J_x_norm", source, n, true),
    J_t_norm: numberArray(o.J_t_norm, "J_t_norm", source, n, true),
    validFor: validateValidity(o.validFor, source),
  };
  if (o.sampleCounts !== undefined) out.sampleCounts = numberArray(o.sampleCounts, "sampleCounts", source, n, true);
  if (o.J_x_std !== undefined) out.J_x_std = numberArray(o.J_x_std, "J_x_std", source, n, true);
  if (o.J_t_std !== undefined) out.J_t_std = numberArray(o.J_t_std, "J_t_std", source, n, true);
  if (o.J_x_samples !== undefined || o.J_t_samples !== undefined) {
    out.J_x_samples = sampleMatrix(o.J_x_samples, "J_x_samples", source, n);
    out.J_t_samples = sampleMatrix(o.J_t_samples, "J_t_samples", source, n);
    if (out.J_x_samples.length !== out.J_t_samples.length) invalid(
      source,
      `has ${out.J_x_samples.length} rows in "J_x_samples" but ${out.J_t_samples.length} in "J_t_samples"`,
    );
  }
  if (typeof o.origin === "string") out.origin = o.origin;
  if (typeof o.createdAt === "string") out.createdAt = o.createdAt;
  if (o.version === PROFILE_VERSION_EXPERTS) out.experts = validateSections(o.experts as unknown[], out, source);
  if (o.propagation !== undefined) out.propagation = validatePropagation(o.propagation, source);
  return out;
}

function validatePropagation(value: unknown, source: string): PropagationProfile {
  if (typeof value !== "object" || value === null) invalid(source, 'has a "propagation" that is not an object');
  const p = value as Record<string, unknown>;
  if (p.version !== PROPAGATION_VERSION) invalid(
    source,
    `has "propagation.version" ${JSON.stringify(p.version)}, this sencache reads version ${PROPAGATION_VERSION}`,
  );
  const timesteps = numberArray(p.timesteps, "propagation.timesteps", source);
  if (timesteps.length === 0) invalid(source, 'has no "propagation.timesteps"');
  const gain = numberArray(p.gain, "propagation.gain", source, timesteps.length, true);
  const positiveInteger = (key: string): number => {
    const v = p[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) invalid(source, `has a "propagation.${key}" that is not a positive integer`);
    return v;
  };
  if (typeof p.guidanceScale !== "number" || !Number.isFinite(p.guidanceScale) || p.guidanceScale < 0) invalid(
    source,
    'has a "propagation.guidanceScale" that is not a finite number ≥ 0',
  );
  const out: { -readonly [K in keyof PropagationProfile]: PropagationProfile[K] } = {
    version: PROPAGATION_VERSION,
    timesteps,
    gain,
    samples: positiveInteger("samples"),
    steps: positiveInteger("steps"),
    guidanceScale: p.guidanceScale,
  };
  if (p.gainStd !== undefined) out.gainStd = numberArray(p.gainStd, "propagation.gainStd", source, timesteps.length, true);
  return out;
}

/** A [samples][timesteps] matrix of non-negative numbers or null (dropped measurements). */
function sampleMatrix(value: unknown, key: string, source: string, timesteps: number): (number | null)[][] {
  if (!Array.isArray(value)) invalid(source, `has no array of per-sample rows "${key}" (it must come with its J_x / J_t partner)`);
  return value.map((row: unknown, s) => {
    if (!Array.isArray(row) || row.length !== timesteps) invalid(source, `has a row ${s} in "${key}" that is not a list of ${timesteps} values`);
    return row.map((v: unknown, k) => {
      if (v === null) return null;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) invalid(
        source,
        `has an invalid value in "${key}" at sample ${s}, index ${k} (a non-negative number or null)`,
      );
      return v;
    });
  });
}

function validateSections(list: readonly unknown[], top: SensitivityProfile, source: string): ProfileExpertSection[] {
  if (list.length === 0) invalid(source, "has an empty expert list");
  const names = new Set<string>();
  const sections = list.map((value, i) => {
    if (typeof value !== "object" || value === null) invalid(source, `has expert section ${i} that is not an object`);
    const e = value as Record<string, unknown>;
    if (typeof e.name !== "string" || e.name === "" || names.has(e.name)) invalid(source, `has expert section ${i} without a unique name`);
    names.add(e.name);
    if (typeof e.tMin !== "number" || typeof e.tMax !== "number" || !(e.tMin <= e.tMax)) {
      invalid(source, `has expert "${e.name}" without a range tMin ≤ tMax`);
    }
    const ts = numberArray(e.timesteps, `experts[${i}].timesteps`, source);
    if (ts.length === 0) invalid(source, `has no timesteps for expert "${e.name}"`);
    if (ts.some(
      (t) => t < (e.tMin as number) || t > (e.tMax as number),
    )) invalid(source, `has a timestep of expert "${e.name}" outside its range [${e.tMin}, ${e.tMax}]`);
    const section: Record<string, unknown> = { name: e.name, tMin: e.tMin, tMax: e.tMax, timesteps: ts };
    for (const key of SECTION_ARRAYS.slice(1)) {
      if (e[key] !== undefined) section[key] = numberArray(e[key], `experts[${i}].${key}`, source, ts.length, true);
      else if (key === "J_x_norm" || key === "J_t_norm") invalid(source, `has no "${key}" for expert "${e.name}"`);
    }
    return section as unknown as ProfileExpertSection;
  });
  // The top-level arrays are the sections concatenated, in order.
  for (const key of SECTION_ARRAYS) {
    const whole = top[key];
    const parts = sections.map((s) => s[key]);
    if (whole === undefined && parts.every((p) => p === undefined)) continue;
    const joined = parts.every((p) => p !== undefined) ? parts.flatMap((p) => [...(p as readonly number[])]) : undefined;
    if (whole === undefined || joined === undefined || joined.length !== whole.length || joined.some((v, j) => v !== whole[j])) {
      invalid(source, `has a top-level "${key}" that is not its expert sections' "${key}" concatenated`);
    }
  }
  return sections;
}


/** The named string fields of an object of a profile's validFor, or a typed error naming what is missing. */
function stringFields(value: unknown, keys: readonly [string, string], source: string, where: string): [string, string] {
  const o = value as Record<string, unknown>;
  const ok = typeof o === "object" && o !== null && keys.every((k) => typeof o[k] === "string");
  if (!ok) invalid(source, `has a "${where}" without string ${keys.join(" and ")}`);
  return [o[keys[0]] as string, o[keys[1]] as string];
}
function validateValidity(value: unknown, source: string): ProfileValidity {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null) invalid(source, 'has a "validFor" that is not an object');
  const v = value as Record<string, unknown>;
  const out: { -readonly [K in keyof ProfileValidity]: ProfileValidity[K] } = {};
  if (v.model !== undefined) {
    const [family, src] = stringFields(v.model, ["family", "source"], source, "validFor.model");
    out.model = { family, source: src };
  }
  if (v.scheduler !== undefined) {
    const [className, configHash] = stringFields(v.scheduler, ["className", "configHash"], source, "validFor.scheduler");
    out.scheduler = { className, configHash };
  }
  if (v.steps !== undefined) {
    if (typeof v.steps !== "number" || !Number.isInteger(v.steps) || v.steps < 1) invalid(source, 'has a "validFor.steps" that is not a positive integer');
    out.steps = v.steps;
  }
  if (v.latentShape !== undefined) {
    const shape = numberArray(v.latentShape, "validFor.latentShape", source);
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) invalid(source, 'has a "validFor.latentShape" that is not a list of positive integers');
    out.latentShape = shape;
  }
  return out;
}

/** Build a profile from plain arrays (validated). */
export function makeProfile(input: Omit<SensitivityProfile, "format" | "version">): SensitivityProfile {
  const version = input.experts !== undefined ? PROFILE_VERSION_EXPERTS : PROFILE_VERSION;
  return validateProfile({ ...input, format: PROFILE_FORMAT, version }, "(constructed)");
}
