/** Typed errors of the sensitivity layer (profiles, .npz import). Stable `code`, one-sentence message. */
import { SencacheError } from "../errors.js";

export type ProfileErrorCode =
  | "invalid_profile" // JSON/npz content that is not a valid profile
  | "profile_io" // the file could not be read or written
  | "profile_model_mismatch"
  | "profile_scheduler_mismatch"
  | "profile_timesteps_mismatch"
  | "profile_shape_mismatch"
  | "invalid_npz"; // not a zip of .npy arrays we can read

export class ProfileError extends SencacheError {
  declare readonly code: ProfileErrorCode;
  static override readonly brand = Symbol.for("sencache.ProfileError");

  constructor(code: ProfileErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "ProfileError";
  }
}
