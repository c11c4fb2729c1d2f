/**
 * Typed errors of the policy layer. Each carries a stable `code` and a message that is one sentence
 * saying what to do instead. `isInstance` works across copies of the package (a brand symbol, not
 * `instanceof`).
 */
import { SencacheError } from "../errors.js";

export type PolicyOptionsErrorCode =
  | "invalid_option" // a value of the wrong type or out of range
  | "unknown_option" // a key the policy does not define
  | "missing_option" // a required key is absent
  | "invalid_spec" // a "policy:key=value" string that does not parse
  | "budget_infeasible" // a budget that no placement can meet
  | "missing_profile" // SenCache without a sensitivity profile
  | "unsupported_model"; // a policy whose published indicator this model family cannot provide

export class PolicyOptionsError extends SencacheError {
  declare readonly code: PolicyOptionsErrorCode;
  readonly policy: string;
  readonly option: string | undefined;
  static override readonly brand = Symbol.for("sencache.PolicyOptionsError");

  constructor(code: PolicyOptionsErrorCode, policy: string, message: string, option?: string) {
    super(code, message);
    this.name = "PolicyOptionsError";
    this.policy = policy;
    this.option = option;
  }
}

export type PolicyRegistryErrorCode =
  | "unknown_policy"
  | "api_version_mismatch"
  | "duplicate_policy"
  | "invalid_factory";

export class PolicyRegistryError extends SencacheError {
  declare readonly code: PolicyRegistryErrorCode;
  readonly policy: string;
  /** The ids registered when the error was raised (for "unknown_policy"). */
  readonly known: readonly string[];
  static override readonly brand = Symbol.for("sencache.PolicyRegistryError");

  constructor(code: PolicyRegistryErrorCode, policy: string, message: string, known: readonly string[] = []) {
    super(code, message);
    this.name = "PolicyRegistryError";
    this.policy = policy;
    this.known = known;
  }
}
