/**
 * Sensitivity profiles: per-timestep estimates of ‖J_x‖ and ‖J_t‖ of a denoiser (SenCache, Haghighi &
 * Alahi, CVPR 2026, §3), with what they are valid for. JSON load/save
 * with validation, import of the official release's `.npz` files, compatibility checks against a run,
 * nearest-timestep lookup and (on request only) nearest-timestep resampling.
 */

import { readFile, writeFile } from "node:fs/promises";
import { ProfileError } from "./errors.js";
import { parseNpz } from "./npz.js";
import { expertOf, type Expert } from "../sampling/experts.js";

export const PROFILE_FORMAT = "sencache-profile" as const;
export const PROFILE_VERSION = 1 as const;
/**
 * Version 2: a profile of a model with several experts (Wan 2.2 A14B). It carries `experts`, one
 * section per expert with that expert's own timesteps and sensitivities; the top-level arrays are the
 * sections concatenated in order (so tools that show a profile keep working). A policy looks up only
 * in the section of the expert that serves the step. A version-1 reader refuses it.
 */
export const PROFILE_VERSION_EXPERTS = 2 as const;

/** The measured sensitivities over a schedule: what a profile and each of its expert sections hold. */
export interface ProfileSeries {
  /** Calibrated timesteps, model units (any order; lookup is nearest). */
  readonly timesteps: readonly number[];
  /** Mean ‖J_x‖ estimate per timestep (α_x). */
  readonly J_x_norm: readonly number[];
  /** Mean ‖J_t‖ estimate per timestep (α_t). */
  readonly J_t_norm: readonly number[];
  /** Calibration samples that contributed per timestep. */
  readonly sampleCounts?: readonly number[];
  /** Sample standard deviation of J_x / J_t per timestep (0 with one sample). */
  readonly J_x_std?: readonly number[];
  readonly J_t_std?: readonly number[];
}

/** One expert's part of a version-2 profile. */
export interface ProfileExpertSection extends ProfileSeries {
  readonly name: string;
  readonly tMin: number;
  readonly tMax: number;
}

/** What a profile was calibrated for. Absent fields are not checked (a warning says so). */
export interface ProfileValidity {
  readonly model?: { readonly family: string; readonly source: string };
  readonly scheduler?: { readonly className: string; readonly configHash: string };
  /** Number of inference steps T of the calibrated schedule. */
  readonly steps?: number;
  /** Latent shape of one sample (e.g. [16, 21, 60, 104] for Wan 480p). */
  readonly latentShape?: readonly number[];
}

export interface SensitivityProfile extends ProfileSeries {
  readonly format: typeof PROFILE_FORMAT;
  readonly version: typeof PROFILE_VERSION | typeof PROFILE_VERSION_EXPERTS;
  /**
   * Per-sample values (optional, written by calibration since this field was added): `J_x_samples[s][k]`
   * is sample s at `timesteps[k]`, `null` where that measurement was dropped as non-finite. For plots
   * of the spread (`sencache profile plot`); lookups use the means only.
   */
  readonly J_x_samples?: readonly (readonly (number | null)[])[];
  readonly J_t_samples?: readonly (readonly (number | null)[])[];
  readonly validFor: ProfileValidity;
  /** Free text: "calibrated", "npz:sensitivity_wan21.npz", "resampled from …". */
  readonly origin?: string;
  readonly createdAt?: string;
  /** Version 2 only: one section per expert (see PROFILE_VERSION_EXPERTS). */
  readonly experts?: readonly ProfileExpertSection[];
  /**
   * How much an error injected at a step survives to the final latent (measured by `calibrate` with
   * `propagationSamples` > 0). Budget mode weighs each step's score by it; absent in older profiles.
   */
  readonly propagation?: PropagationProfile;
}

export const PROPAGATION_VERSION = 1 as const;

/**
 * The measured propagation gain: at probe step k of uncached runs, the step's output is replaced by
 * the previous step's (one reuse) and the run continues uncached;
 *
 *     gain_k = Σ_s ‖x̂_final − x_final‖ / Σ_s |σ_{k+1} − σ_k|·S_k
 *
 * with S_k this profile's SenCache score of that reuse: the final-latent error per unit of the
 * first-order latent error the reuse injects. A reuse at step k with score S then costs
 * ≈ gain(t_k)·|Δσ_k|·S at the end, on any schedule (gain looked up by timestep, Δσ the run's own step).
 * Measured by `measurePropagation` (ts/sensitivity/static-search.ts); budget mode's
 * `placement=propagation` weighs steps by it.
 */
export interface PropagationProfile {
  readonly version: typeof PROPAGATION_VERSION;
  /** Probe timesteps, model units (any order; lookup interpolates linearly, clamped at the ends). */
  readonly timesteps: readonly number[];
  /** Gain per probe timestep: Σ over samples of the final error / Σ of the injected error. */
  readonly gain: readonly number[];
  /** Sample standard deviation of the per-sample gains per probe timestep. */
  readonly gainStd?: readonly number[];
  /** Samples (uncached runs) measured. */
  readonly samples: number;
  /** Step count T of the measured runs. */
  readonly steps: number;
  /** Guidance scale of the measured runs. */
  readonly guidanceScale: number;
}

// ---- construction and validation ---------------------------------------------------------------

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

const SECTION_ARRAYS = ["timesteps", "J_x_norm", "J_t_norm", "sampleCounts", "J_x_std", "J_t_std"] as const;

function validateSections(list: readonly unknown[], top: SensitivityProfile, source: string): ProfileExpertSection[] {
  if (list.length === 0) invalid(source, "has an empty expert list");
  const names = new Set<string>();
  const sections = list.map((value, i) => {
    if (typeof value !== "object" || value === null) invalid(source, `has expert section ${i} that is not an object`);
    const e = value as Record<string, unknown>;
    if (typeof e.name !== "string" || e.name === "" || names.has(e.name)) invalid(source, `has expert section ${i} without a unique name`);
    names.add(e.name);
    if (typeof e.tMin !== "number" || typeof e.tMax !== "number" || !(e.tMin <= e.tMax)) invalid(source, `has expert "${e.name}" without a range tMin ≤ tMax`);
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

// ---- serialisation ----------------------------------------------------------------------------

export function profileToJson(profile: SensitivityProfile): string {
  return `${JSON.stringify(validateProfile(profile), null, 1)}\n`;
}

export function profileFromJson(text: string, source = "(json)"): SensitivityProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ProfileError("invalid_profile", `The sensitivity profile ${source} is not valid JSON; recalibrate it or fix the file.`, { cause });
  }
  return validateProfile(parsed, source);
}

/**
 * Import an official SenCache `.npz` (arrays `timesteps`, `J_x_norm`, `J_t_norm`). The file does not
 * say what it is valid for: pass `validFor` (at least the model) so compatibility can be checked.
 */
export function profileFromNpz(bytes: Uint8Array, validFor: ProfileValidity = {}, source = "archive.npz"): SensitivityProfile {
  const arrays = parseNpz(bytes, source);
  const get = (key: string): number[] => {
    const a = arrays.get(key);
    if (a === undefined) {
      throw new ProfileError(
        "invalid_profile",
        `The .npz file ${source} has no array "${key}" (it has ${[...arrays.keys()].join(", ")}); import a SenCache sensitivity file with timesteps, ` +
          `J_x_norm and J_t_norm.`,
      );
    }
    return Array.from(a.data);
  };
  const profile: Record<string, unknown> = {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    timesteps: get("timesteps"),
    J_x_norm: get("J_x_norm"),
    J_t_norm: get("J_t_norm"),
    validFor,
    origin: `npz:${source}`,
  };
  return validateProfile(profile, source);
}

/** Load a profile from `.json` (this package's format) or `.npz` (the official release's). */
export async function loadProfile(path: string, options: { validFor?: ProfileValidity } = {}): Promise<SensitivityProfile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new ProfileError("profile_io", `The sensitivity profile "${path}" cannot be read; check the path or run calibration to create it.`, { cause });
  }
  if (path.toLowerCase().endsWith(".npz")) return profileFromNpz(bytes, options.validFor ?? {}, path);
  return profileFromJson(new TextDecoder().decode(bytes), `"${path}"`);
}

export async function saveProfile(path: string, profile: SensitivityProfile): Promise<void> {
  try {
    await writeFile(path, profileToJson(profile));
  } catch (cause) {
    throw new ProfileError("profile_io", `The sensitivity profile cannot be written to "${path}"; check that the folder exists and is writable.`, { cause });
  }
}

// ---- lookup and resampling --------------------------------------------------------------------

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

// ---- compatibility ----------------------------------------------------------------------------

/** What of a run a profile is checked against (RunInfo satisfies it). */
export interface ProfileRunInfo {
  readonly timesteps: ArrayLike<number>;
  readonly latentShape?: readonly number[];
  readonly model?: { readonly family: string; readonly source: string };
  readonly scheduler?: { readonly className: string; readonly configHash: string };
}

export interface CompatibilityOptions {
  /** Accept another schedule / step count by nearest-timestep resampling (logged). */
  readonly resample?: boolean;
  /** Accept a profile for another model or latent shape (logged; the scores will be off). */
  readonly force?: boolean;
  /** Where resampling and forced acceptance are reported. */
  readonly log?: (message: string) => void;
  /** Timestep tolerance (model units) under which schedules count as equal. */
  readonly tolerance?: number;
  /**
   * How a profile is carried over to another schedule when `resample` is on: "nearest" (default; the
   * paper's nearest-timestep lookup) or "interpolate" (transferProfile: J_x interpolated, J_t averaged
   * over the run's step interval).
   */
  readonly resampleMethod?: "nearest" | "interpolate";
}

export interface CompatibilityResult {
  /** The profile to use (resampled onto the run's timesteps if that was needed and allowed). */
  readonly profile: SensitivityProfile;
  /** Fields the profile does not record (not checked). */
  readonly unchecked: readonly string[];
  readonly resampled: boolean;
}

/**
 * Check a profile against a run. Model or latent-shape differences throw ProfileError unless `force`;
 * scheduler or timestep differences throw unless `resample` (then the profile is resampled onto the
 * run's timesteps by nearest timestep and the fact is logged).
 */
export function assertProfileCompatible(profile: SensitivityProfile, run: ProfileRunInfo, options: CompatibilityOptions = {}): CompatibilityResult {
  const log = options.log ?? ((m: string) => console.warn(`[sencache] ${m}`));
  const v = profile.validFor;
  const unchecked: string[] = [];
  const mismatch = (code: "profile_model_mismatch" | "profile_shape_mismatch", message: string, fix: string): void => {
    if (options.force === true) log(`${message}; using it anyway because force was requested.`);
    else throw new ProfileError(code, `${message}; ${fix}.`);
  };
  if (v.model === undefined || run.model === undefined) unchecked.push("model");
  else if (v.model.family !== run.model.family || v.model.source !== run.model.source) {
    mismatch(
      "profile_model_mismatch",
      `The sensitivity profile is for ${v.model.source} (${v.model.family}) but the run uses ${run.model.source} (${run.model.family})`,
      "calibrate a profile for this model (sencache calibrate) or pass force to use it anyway",
    );
  }
  if (v.latentShape === undefined || run.latentShape === undefined) unchecked.push("latentShape");
  else if (v.latentShape.length !== run.latentShape.length || v.latentShape.some((d, i) => d !== run.latentShape![i])) {
    mismatch(
      "profile_shape_mismatch",
      `The sensitivity profile was calibrated for latents of shape [${v.latentShape.join(", ")}] but the run's latent is [${run.latentShape.join(", ")}]`,
      "calibrate at this resolution or pass force to use it anyway",
    );
  }

  const runTs = Array.from(run.timesteps);
  const tol = options.tolerance ?? 1e-3;
  const a = [...profile.timesteps].sort((x, y) => x - y);
  const b = [...runTs].sort((x, y) => x - y);
  const sameTimesteps = a.length === b.length && a.every((t, i) => Math.abs(t - b[i]!) <= tol * Math.max(1, Math.abs(t)));
  let problem: string | undefined;
  if (v.scheduler !== undefined && run.scheduler !== undefined && (v.scheduler.className !== run.scheduler.className || v.scheduler.configHash !== run.scheduler.configHash)) {
    problem = `The sensitivity profile was calibrated with scheduler ${v.scheduler.className} (config ${v.scheduler.configHash}) but the run uses ${run.scheduler.className} (config ${run.scheduler.configHash})`;
  } else if (v.scheduler === undefined || run.scheduler === undefined) unchecked.push("scheduler");
  if (problem === undefined && !sameTimesteps) {
    problem = `The sensitivity profile has ${profile.timesteps.length} calibrated timesteps (${fmtRange(a)}) but the run has ${runTs.length} (${fmtRange(b)})`;
  }
  if (problem === undefined) return { profile, unchecked, resampled: false };
  if (options.resample !== true) {
    throw new ProfileError(
      problem.startsWith("The sensitivity profile was calibrated with scheduler") ? "profile_scheduler_mismatch" : "profile_timesteps_mismatch",
      `${problem}; calibrate for this schedule or allow nearest-timestep resampling (resampleProfile).`,
    );
  }
  if (options.resampleMethod === "interpolate") {
    log(`${problem}; carried it over by timestep (J_x interpolated, J_t averaged over each step's interval).`);
    return { profile: transferProfile(profile, runTs), unchecked, resampled: true };
  }
  const resampled = resampleProfile(profile, runTs);
  const worst = runTs.reduce((m, t) => Math.max(m, Math.abs(profile.timesteps[nearestIndex(profile.timesteps, t)]! - t)), 0);
  log(`${problem}; resampled it by nearest timestep as requested (largest timestep distance ${worst.toFixed(3)}).`);
  return { profile: resampled, unchecked, resampled: true };
}

function fmtRange(sorted: readonly number[]): string {
  return sorted.length === 0 ? "none" : `${+sorted[0]!.toFixed(3)}…${+sorted[sorted.length - 1]!.toFixed(3)}`;
}

// ---- experts ------------------------------------------------------------------------------------

/**
 * Split a profile calibrated on a model with several experts into per-expert sections (version 2).
 * Each timestep goes to the expert that serves it. J_t of an expert's last timestep was measured
 * against f at the next scheduled timestep, which the other expert serves: a difference of two
 * models, not a time derivative, so it is replaced by the J_t of that expert's previous timestep.
 * With one expert the profile is returned as it is (version 1).
 */
export function withExpertSections(profile: SensitivityProfile, experts: readonly Expert[] | undefined, schedule: readonly number[] = profile.timesteps): SensitivityProfile {
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
  const out: Record<string, unknown> = {
    ...profile,
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION_EXPERTS,
    experts: sections,
    origin: `${profile.origin ?? "profile"}; per expert (${sections.map((x) => `${x.name} ${x.timesteps.length} timesteps`).join(", ")})${patched.length ? `; J_t at the last step before a switch taken from the same expert's neighbour (${patched.join(", ")})` : ""}`,
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
      throw new ProfileError("profile_model_mismatch", `The sensitivity profile has sections for the experts ${profile.experts.map((e) => `"${e.name}"`).join(", ")} but not for "${expert.name}", which serves t in [${expert.tMin}, ${expert.tMax}] here; calibrate a profile for this model (sencache calibrate).`);
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
