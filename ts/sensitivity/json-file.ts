/**
 * Reading a calibration file (MagCache ratios, static masks) synchronously, with the two typed errors a
 * user can act on: the file cannot be read (`profile_io`) or is not JSON (`invalid_profile`). Each
 * message names the file and says how to make a new one.
 */
import { readFileSync } from "node:fs";
import { ProfileError } from "./errors.js";

export interface JsonFileWords {
  /** What the file is, e.g. `The MagCache ratios file`. */
  readonly what: string;
  /** How to create one, e.g. `create it with sencache calibrate --kind magcache`. */
  readonly create: string;
  /** How to replace a broken one, e.g. `recalibrate it with sencache calibrate --kind magcache`. */
  readonly redo: string;
}

export function readJsonFileSync(path: string, words: JsonFileWords): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ProfileError("profile_io", `${words.what} "${path}" cannot be read; check the path or ${words.create}.`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ProfileError("invalid_profile", `${words.what} "${path}" is not valid JSON; ${words.redo}.`, { cause });
  }
}
