/**
 * The SenCache score shared by the threshold rule (sencache.ts) and budget mode (sencache-budget.ts),
 * and the handling of the profile option (object or path, checked against the run in `prepare`).
 *
 *   S = α_x·‖x − x_ref‖₂ + α_t·|t − t_ref|,  α's looked up at the reference timestep t_ref
 *
 * Source: Haghighi & Alahi, "SenCache", CVPR 2026 (arXiv 2602.24208), Eq. for the first-order error
 * bound, and the rule of its official code (vita-epfl/SenCache). The α's depend only on t_ref = last computed step, so they
 * are "frozen while reusing" by construction.
 */

import { assertProfileCompatible } from "../sensitivity/profile-compatibility.js";
import { expertProfile } from "../sensitivity/profile-experts.js";
import { loadProfile } from "../sensitivity/profile-files.js";
import { lookup } from "../sensitivity/profile-lookup.js";
import { validateProfile } from "../sensitivity/profile-validate.js";
import type { SensitivityProfile } from "../sensitivity/profile.js";
import { ProfileError } from "../sensitivity/errors.js";
import { DiagnosticLog, l2Distance } from "./common.js";
import { PolicyOptionsError } from "./errors.js";
import { option } from "./options.js";
import type { DecideContext, RunInfo } from "./types.js";

export interface SenCacheScore {
  readonly score: number;
  readonly alphaX: number;
  readonly alphaT: number;
  /** ‖x − x_ref‖₂ */
  readonly drift: number;
  /** |t − t_ref| */
  readonly dt: number;
}

export function sencacheScore(profile: SensitivityProfile, ctx: DecideContext): SenCacheScore {
  const last = ctx.last;
  if (last === undefined) return { score: NaN, alphaX: NaN, alphaT: NaN, drift: NaN, dt: NaN };
  const { alphaX, alphaT } = lookup(profile, last.t);
  const drift = l2Distance(ctx.latent, last.latent);
  const dt = Math.abs(ctx.t - last.t);
  return { score: alphaX * drift + alphaT * dt, alphaX, alphaT, drift, dt };
}

/** The profile options of SenCache's two modes (the ε rule's resampleProfile says "nearest timestep" instead). */
export const profileOptions = {
  /** A profile object, or a path to a profile `.json` / official `.npz` (loaded in prepare). */
  profile: option.objectOrPath<SensitivityProfile>("a sensitivity profile object or a path to a profile .json / official .npz"),
  /** Accept a profile from another schedule, carried over by timestep (transferProfile; logged). */
  resampleProfile: option.boolean(
    "accept a profile from another schedule: J_x interpolated by timestep, J_t averaged over each step's interval (logged)",
    { aliases: ["resample"], default: false },
  ),
  forceProfile: option.boolean("accept a profile for another model or latent shape (logged)", { default: false }),
};

export interface ProfileOptionSettings {
  readonly profile: SensitivityProfile | string;
  /** Accept a profile calibrated on another schedule by nearest-timestep resampling (logged). */
  readonly resampleProfile: boolean;
  /** Accept a profile for another model / latent shape (logged). */
  readonly forceProfile: boolean;
}

export interface ProfileSlotOptions {
  /** How a profile from another schedule is carried over when resampleProfile is on (default "nearest", the paper's lookup). */
  readonly resampleMethod?: "nearest" | "interpolate";
}

/** Resolves and checks the profile once per run; exposes the profile in use. */
/** The error of a SenCache mode built without a profile (and without a model folder that has one). */
export function missingProfileError(policy: string, who = `The policy "${policy}"`): PolicyOptionsError {
  const how = "pass profile=<file.json|file.npz> in the spec, a profile object in the options, or create one with sencache calibrate";
  return new PolicyOptionsError("missing_profile", policy, `${who} needs a sensitivity profile; ${how}.`, "profile");
}

export class ProfileSlot {
  readonly #policy: string;
  readonly #settings: ProfileOptionSettings;
  #loaded: SensitivityProfile | undefined;
  #active: SensitivityProfile | undefined;
  #notes: string[] = [];

  readonly #method: "nearest" | "interpolate";

  constructor(policy: string, settings: ProfileOptionSettings, options: ProfileSlotOptions = {}) {
    this.#policy = policy;
    this.#settings = settings;
    this.#method = options.resampleMethod ?? "nearest";
    if (typeof settings.profile !== "string") {
      try {
        this.#loaded = validateProfile(settings.profile, "(option profile)");
      } catch (err) {
        if (ProfileError.isInstance(err)) throw new PolicyOptionsError("invalid_option", policy, err.message, "profile");
        throw err;
      }
      this.#active = this.#loaded;
    }
  }

  async prepare(run: RunInfo): Promise<void> {
    this.#notes = [];
    if (this.#loaded === undefined) this.#loaded = await loadProfile(this.#settings.profile as string);
    const log = (m: string): void => {
      this.#notes.push(m);
      run.log?.(m);
    };
    // Two experts are two models: the expert of this span gets its own section of the profile, checked
    // against its own steps of the schedule (see ExpertSpan in types.ts).
    const expert = run.experts !== undefined && run.experts.length > 1 ? run.expert : undefined;
    let profile = this.#loaded;
    let checkAgainst: RunInfo = run;
    if (expert !== undefined) {
      if (profile.experts === undefined) log(
        `the sensitivity profile has no expert sections; expert "${expert.name}" uses its timesteps in [${expert.tMin}, ${expert.tMax}]`,
      );
      profile = expertProfile(profile, expert);
      const steps = run.experts!.filter((s) => s.name === expert.name).flatMap((s) => Array.from(run.timesteps.subarray(s.firstStep, s.lastStep + 1)));
      checkAgainst = { ...run, timesteps: Float64Array.from(steps) };
    }
    const result = assertProfileCompatible(
      profile,
      checkAgainst,
      { resample: this.#settings.resampleProfile, force: this.#settings.forceProfile, log, resampleMethod: this.#method },
    );
    if (result.unchecked.length > 0 && result.unchecked.includes("model")) {
      this.#notes.push(`the sensitivity profile does not record ${result.unchecked.join(", ")}, so it could not be checked against this run`);
    }
    this.#active = result.profile;
  }

  /** The profile in use; throws if a path-given profile was never loaded (prepare not called). */
  get(): SensitivityProfile {
    if (this.#active === undefined) {
      throw new PolicyOptionsError(
        "missing_profile",
        this.#policy,
        `The policy "${this.#policy}" was given a profile path but prepare() was not called to load it; call prepare(run) before decide(), or pass a ` +
          `profile object.`,
        "profile",
      );
    }
    return this.#active;
  }

  notes(): string[] {
    return [...this.#notes];
  }
}

/** Record a NaN/∞ score or α loudly; the caller computes. */
export function noteBadScore(diag: DiagnosticLog, policy: string, step: number, s: SenCacheScore): void {
  if (!Number.isFinite(s.alphaX) || !Number.isFinite(s.alphaT)) {
    diag.note(
      "nan-alpha",
      step,
      `${policy}: the sensitivity profile gave a non-finite α at the reference timestep, so those steps were computed; check the profile`,
    );
  } else {
    diag.note("nan-score", step, `${policy}: the score was not finite (NaN/∞ latent drift), so those steps were computed; check the latents`);
  }
}
