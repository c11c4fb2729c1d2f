/** Sensitivity profiles, the calibration maths and the official .npz import. */

export { ProfileError } from "./errors.js";
export type { ProfileErrorCode } from "./errors.js";
export { resampleProfile, transferProfile } from "./profile-carry.js";
export { assertProfileCompatible } from "./profile-compatibility.js";
export { profileToJson, profileFromJson, profileFromNpz, loadProfile, saveProfile } from "./profile-files.js";
export { nearestIndex, lookup, interpolate, propagationGain } from "./profile-lookup.js";
export { validateProfile, makeProfile } from "./profile-validate.js";
export { PROFILE_FORMAT, PROFILE_VERSION, PROPAGATION_VERSION } from "./profile.js";
export type { ProfileRunInfo, CompatibilityOptions, CompatibilityResult } from "./profile-compatibility.js";
export type { Sensitivity } from "./profile-lookup.js";
export type { PropagationProfile, SensitivityProfile, ProfileValidity } from "./profile.js";
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
export { loadMediaVideo } from "../media/read.js";
export { validityOf, DEFAULT_CALIBRATION_PROMPTS } from "./calibrate-inputs.js";
export { calibrateMagcache, RecordingDenoiser } from "./calibrate-magcache.js";
export { calibrate } from "./calibrate.js";
export type { CalibrateOptions, CalibrationProgress } from "./calibrate-inputs.js";
export type { MagcacheCalibrateOptions, MagcacheCalibrationResult } from "./calibrate-magcache.js";
export type { CalibrationReport, CalibrationResult } from "./calibrate.js";
export { compareProfiles, comparisonMarkdown } from "./compare.js";
export type { ProfileComparison, TimestepComparison } from "./compare.js";
export { modelIdentity } from "./identity.js";
export { MAGCACHE_RATIOS_FORMAT, magnitudeRatios, validateMagcacheRatios, loadMagcacheRatiosSync, saveMagcacheRatios } from "./magcache-ratios.js";
export type { MagcacheRatiosFile } from "./magcache-ratios.js";
export { STATIC_MASKS_FORMAT, validateStaticMasks, loadStaticMasksSync, saveStaticMasks } from "./static-masks.js";
export type { StaticMask, StaticMasksFile, StaticSearchCost } from "./static-masks.js";
export { measurePropagation, probeSteps } from "./propagation.js";
export { dpMask, maskFeasible, maskMoves } from "./static-mask-math.js";
export { searchStaticMasks } from "./static-search.js";
export type { PropagationOptions, PropagationResult } from "./propagation.js";
export type { StaticSearchOptions } from "./static-search.js";
