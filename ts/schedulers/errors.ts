/** Typed errors of the scheduler layer, with a stable `code` that survives copies of the package. */
import { SencacheError } from "../errors.js";

export type SchedulerErrorCode =
  | "unsupported_scheduler_class"
  | "unsupported_scheduler_option"
  | "invalid_scheduler_config"
  | "invalid_scheduler_call";

/**
 * Thrown when a diffusers scheduler config names a class or an option value that sencache does not
 * implement, or is malformed. The message is one sentence that names what IS supported.
 */
export class UnsupportedSchedulerError extends SencacheError {
  declare readonly code: SchedulerErrorCode;
  static override readonly brand = Symbol.for("sencache.UnsupportedSchedulerError");

  constructor(code: SchedulerErrorCode, message: string) {
    super(code, message);
    this.name = "UnsupportedSchedulerError";
  }
}
