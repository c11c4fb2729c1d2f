/**
 * Sensitivity profiles: per-timestep estimates of ‖J_x‖ and ‖J_t‖ of a denoiser (SenCache, Haghighi &
 * Alahi, CVPR 2026, §3 of ../shared/design/METHOD.md), with what they are valid for. JSON load/save
 * with validation, import of the official release's `.npz` files, compatibility checks against a run,
 * nearest-timestep lookup and (on request only) nearest-timestep resampling.
 */

import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { ProfileError } from "./errors.js";
import { parseNpz } from "./npz.js";

export const PROFILE_FORMAT = "sencache-profile" as const;
export const PROFILE_VERSION = 1 as const;

/** What a profile was calibrated for. Absent fields are not checked (a warning says so). */
export interface ProfileValidity {
  readonly model?: { readonly family: string; readonly source: string };
  readonly scheduler?: { readonly className: string; readonly configHash: string };
  /** Number of inference steps T of the calibrated schedule. */
  readonly steps?: number;
  /** Latent shape of one sample (e.g. [16, 21, 60, 104] for Wan 480p). */
  readonly latentShape?: readonly number[];
}

export interface SensitivityProfile {
  readonly format: typeof PROFILE_FORMAT;
  readonly version: typeof PROFILE_VERSION;
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
}

// ---- construction and validation ---------------------------------------------------------------

function invalid(source: string, what: string): never {
  throw new ProfileError("invalid-profile", `The sensitivity profile ${source} ${what}; recalibrate it or fix the file.`);
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
  if (o.version !== PROFILE_VERSION) invalid(source, `has version ${JSON.stringify(o.version)}, this sencache reads version ${PROFILE_VERSION}`);
  const timesteps = numberArray(o.timesteps, "timesteps", source);
  if (timesteps.length === 0) invalid(source, "has no timesteps");
  const n = timesteps.length;
  const out: {
    -readonly [K in keyof SensitivityProfile]: SensitivityProfile[K];
  } = {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
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
    if (out.J_x_samples.length !== out.J_t_samples.length) invalid(source, `has ${out.J_x_samples.length} rows in "J_x_samples" but ${out.J_t_samples.length} in "J_t_samples"`);
  }
  if (typeof o.origin === "string") out.origin = o.origin;
  if (typeof o.createdAt === "string") out.createdAt = o.createdAt;
  return out;
}

/** A [samples][timesteps] matrix of non-negative numbers or null (dropped measurements). */
function sampleMatrix(value: unknown, key: string, source: string, timesteps: number): (number | null)[][] {
  if (!Array.isArray(value)) invalid(source, `has no array of per-sample rows "${key}" (it must come with its J_x / J_t partner)`);
  return value.map((row: unknown, s) => {
    if (!Array.isArray(row) || row.length !== timesteps) invalid(source, `has a row ${s} in "${key}" that is not a list of ${timesteps} values`);
    return row.map((v: unknown, k) => {
      if (v === null) return null;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) invalid(source, `has an invalid value in "${key}" at sample ${s}, index ${k} (a non-negative number or null)`);
      return v;
    });
  });
}

function validateValidity(value: unknown, source: string): ProfileValidity {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null) invalid(source, 'has a "validFor" that is not an object');
  const v = value as Record<string, unknown>;
  const out: { -readonly [K in keyof ProfileValidity]: ProfileValidity[K] } = {};
  if (v.model !== undefined) {
    const m = v.model as Record<string, unknown>;
    if (typeof m !== "object" || m === null || typeof m.family !== "string" || typeof m.source !== "string") invalid(source, 'has a "validFor.model" without string family and source');
    out.model = { family: m.family as string, source: m.source as string };
  }
  if (v.scheduler !== undefined) {
    const s = v.scheduler as Record<string, unknown>;
    if (typeof s !== "object" || s === null || typeof s.className !== "string" || typeof s.configHash !== "string") invalid(source, 'has a "validFor.scheduler" without string className and configHash');
    out.scheduler = { className: s.className as string, configHash: s.configHash as string };
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
  return validateProfile({ ...input, format: PROFILE_FORMAT, version: PROFILE_VERSION }, "(constructed)");
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
    throw new ProfileError("invalid-profile", `The sensitivity profile ${source} is not valid JSON; recalibrate it or fix the file.`, { cause });
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
      throw new ProfileError("invalid-profile", `The .npz file ${source} has no array "${key}" (it has ${[...arrays.keys()].join(", ")}); import a SenCache sensitivity file with timesteps, J_x_norm and J_t_norm.`);
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
    throw new ProfileError("profile-io", `The sensitivity profile "${path}" cannot be read; check the path or run calibration to create it.`, { cause });
  }
  if (path.toLowerCase().endsWith(".npz")) return profileFromNpz(bytes, options.validFor ?? {}, path);
  return profileFromJson(new TextDecoder().decode(bytes), `"${path}"`);
}

export async function saveProfile(path: string, profile: SensitivityProfile): Promise<void> {
  try {
    await writeFile(path, profileToJson(profile));
  } catch (cause) {
    throw new ProfileError("profile-io", `The sensitivity profile cannot be written to "${path}"; check that the folder exists and is writable.`, { cause });
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

/** Nearest-timestep resampling onto another schedule (values copied from the nearest calibrated timestep). */
export function resampleProfile(profile: SensitivityProfile, timesteps: ArrayLike<number>): SensitivityProfile {
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
  };
  return validateProfile(out, "(resampled)");
}

// ---- compatibility ----------------------------------------------------------------------------

/** Stable hash of a scheduler (class + config with sorted keys), used in ProfileValidity.scheduler. */
export function schedulerConfigHash(className: string, config: Readonly<Record<string, unknown>>): string {
  const stable = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(stable);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v as object)
          .filter((k) => !k.startsWith("_")) // diffusers' private bookkeeping (_class_name, _diffusers_version)
          .sort()
          .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash("sha256").update(JSON.stringify([className, stable(config)])).digest("hex").slice(0, 16);
}

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
  const mismatch = (code: "profile-model-mismatch" | "profile-shape-mismatch", message: string, fix: string): void => {
    if (options.force === true) log(`${message}; using it anyway because force was requested.`);
    else throw new ProfileError(code, `${message}; ${fix}.`);
  };
  if (v.model === undefined || run.model === undefined) unchecked.push("model");
  else if (v.model.family !== run.model.family || v.model.source !== run.model.source) {
    mismatch("profile-model-mismatch", `The sensitivity profile is for ${v.model.source} (${v.model.family}) but the run uses ${run.model.source} (${run.model.family})`, "calibrate a profile for this model (sencache calibrate) or pass force to use it anyway");
  }
  if (v.latentShape === undefined || run.latentShape === undefined) unchecked.push("latentShape");
  else if (v.latentShape.length !== run.latentShape.length || v.latentShape.some((d, i) => d !== run.latentShape![i])) {
    mismatch("profile-shape-mismatch", `The sensitivity profile was calibrated for latents of shape [${v.latentShape.join(", ")}] but the run's latent is [${run.latentShape.join(", ")}]`, "calibrate at this resolution or pass force to use it anyway");
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
      problem.startsWith("The sensitivity profile was calibrated with scheduler") ? "profile-scheduler-mismatch" : "profile-timesteps-mismatch",
      `${problem}; calibrate for this schedule or allow nearest-timestep resampling (resampleProfile).`,
    );
  }
  const resampled = resampleProfile(profile, runTs);
  const worst = runTs.reduce((m, t) => Math.max(m, Math.abs(profile.timesteps[nearestIndex(profile.timesteps, t)]! - t)), 0);
  log(`${problem}; resampled it by nearest timestep as requested (largest timestep distance ${worst.toFixed(3)}).`);
  return { profile: resampled, unchecked, resampled: true };
}

function fmtRange(sorted: readonly number[]): string {
  return sorted.length === 0 ? "none" : `${+sorted[0]!.toFixed(3)}…${+sorted[sorted.length - 1]!.toFixed(3)}`;
}
