/** Sensitivity profiles, the calibration maths and the official .npz import. */

export { ProfileError } from "./errors.js";
export type { ProfileErrorCode } from "./errors.js";
export {
  PROFILE_FORMAT,
  PROFILE_VERSION,
  validateProfile,
  makeProfile,
  profileToJson,
  profileFromJson,
  profileFromNpz,
  loadProfile,
  saveProfile,
  nearestIndex,
  lookup,
  resampleProfile,
  schedulerConfigHash,
  assertProfileCompatible,
} from "./profile.js";
export type { SensitivityProfile, ProfileValidity, Sensitivity, ProfileRunInfo, CompatibilityOptions, CompatibilityResult } from "./profile.js";
export { parseNpy, parseNpz } from "./npz.js";
export type { NpyArray, NpyDtype } from "./npz.js";
export {
  measure,
  latentSensitivity,
  timestepSensitivity,
  flowNoise,
  eulerStep,
  nextTimestep,
  meanStd,
  aggregateProfile,
} from "./calibrate-math.js";
export type { SensitivityMeasurement, MeanStd, AggregateResult } from "./calibrate-math.js";
