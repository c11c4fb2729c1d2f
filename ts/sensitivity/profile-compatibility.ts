/**
 * Whether a profile fits a run (model, latent shape, scheduler, timesteps), and with `resample` or
 * `force` what is done instead of refusing it.
 */

import { ProfileError } from "./errors.js";
import type { SensitivityProfile } from "./profile.js";
import { resampleProfile, transferProfile } from "./profile-carry.js";
import { nearestIndex } from "./profile-lookup.js";

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
  const [vs, rs] = [v.scheduler, run.scheduler];
  if (vs !== undefined && rs !== undefined && (vs.className !== rs.className || vs.configHash !== rs.configHash)) {
    problem =
      `The sensitivity profile was calibrated with scheduler ${vs.className} (config ${vs.configHash}) ` +
      `but the run uses ${rs.className} (config ${rs.configHash})`;
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
