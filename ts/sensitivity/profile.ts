/**
 * Sensitivity profiles: per-timestep estimates of ‖J_x‖ and ‖J_t‖ of a denoiser (SenCache, Haghighi &
 * Alahi, CVPR 2026, §3), with what they are valid for. This file is what a profile is: its format,
 * versions and types. Checking untrusted data is `profile-validate.ts`, files `profile-files.ts`,
 * lookup `profile-lookup.ts`, other schedules `profile-carry.ts`, run checks `profile-compatibility.ts`,
 * expert sections `profile-experts.ts`.
 */

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
 * Measured by `measurePropagation` (ts/sensitivity/propagation.ts); budget mode's
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

/** The per-timestep arrays of a profile and of each expert section, in the order they are written. */
export const SECTION_ARRAYS = ["timesteps", "J_x_norm", "J_t_norm", "sampleCounts", "J_x_std", "J_t_std"] as const;
