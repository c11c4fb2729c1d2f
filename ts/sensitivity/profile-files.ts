/**
 * A sensitivity profile as bytes: this package's JSON format (read and written) and the official
 * SenCache release's `.npz` files (read only).
 */

import { readFile, writeFile } from "node:fs/promises";
import { ProfileError } from "./errors.js";
import { parseNpz } from "./npz.js";
import { PROFILE_FORMAT, PROFILE_VERSION, type ProfileValidity, type SensitivityProfile } from "./profile.js";
import { validateProfile } from "./profile-validate.js";

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
