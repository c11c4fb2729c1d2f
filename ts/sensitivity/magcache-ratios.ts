/**
 * Measured MagCache magnitude ratios as a JSON file (written by `calibrateMagcache`, read by the
 * magcache policy's `ratiosFile` option):
 *
 *   { "format": "sencache-magcache-ratios", "version": 1, "validFor": {…}, "steps": T,
 *     "ratios": [γ_0 = 1, γ_1, …], "uncondRatios": […]?, "std": […], "uncondStd": […]?, "samples": N }
 *
 * γ_k = mean over samples of ‖out_k‖ / ‖out_{k−1}‖ per CFG branch (index 0 is padding, as MagCache's
 * published arrays are laid out per branch).
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { ProfileError } from "./errors.js";
import type { ProfileValidity } from "./profile.js";

export const MAGCACHE_RATIOS_FORMAT = "sencache-magcache-ratios" as const;

export interface MagcacheRatiosFile {
  readonly format: typeof MAGCACHE_RATIOS_FORMAT;
  readonly version: 1;
  readonly validFor: ProfileValidity;
  readonly steps: number;
  readonly ratios: readonly number[];
  readonly uncondRatios?: readonly number[];
  readonly std: readonly number[];
  readonly uncondStd?: readonly number[];
  readonly samples: number;
  readonly createdAt?: string;
}

function invalid(source: string, what: string): never {
  throw new ProfileError("invalid-profile", `The MagCache ratios file ${source} ${what}; recalibrate it with sencache calibrate --kind magcache.`);
}

function list(value: unknown, key: string, source: string, length?: number): number[] {
  if (!Array.isArray(value)) invalid(source, `has no array "${key}"`);
  if (length !== undefined && value.length !== length) invalid(source, `has ${value.length} values in "${key}" but ${length} in "ratios"`);
  value.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) invalid(source, `has a value in "${key}" at index ${i} that is not a finite non-negative number`);
  });
  return value as number[];
}

/** Validate parsed JSON as a ratios file (returns a clean copy). */
export function validateMagcacheRatios(value: unknown, source = "(object)"): MagcacheRatiosFile {
  if (typeof value !== "object" || value === null) invalid(source, "is not an object");
  const o = value as Record<string, unknown>;
  if (o.format !== MAGCACHE_RATIOS_FORMAT) invalid(source, `has format ${JSON.stringify(o.format)} instead of "${MAGCACHE_RATIOS_FORMAT}"`);
  const ratios = list(o.ratios, "ratios", source);
  if (ratios.length < 2) invalid(source, "has fewer than 2 ratios");
  const n = ratios.length;
  const validFor = typeof o.validFor === "object" && o.validFor !== null ? (o.validFor as ProfileValidity) : {};
  return {
    format: MAGCACHE_RATIOS_FORMAT,
    version: 1,
    validFor,
    steps: typeof o.steps === "number" ? o.steps : n,
    ratios,
    ...(o.uncondRatios !== undefined ? { uncondRatios: list(o.uncondRatios, "uncondRatios", source, n) } : {}),
    std: o.std !== undefined ? list(o.std, "std", source, n) : new Array<number>(n).fill(0),
    ...(o.uncondStd !== undefined ? { uncondStd: list(o.uncondStd, "uncondStd", source, n) } : {}),
    samples: typeof o.samples === "number" ? o.samples : 0,
    ...(typeof o.createdAt === "string" ? { createdAt: o.createdAt } : {}),
  };
}

/** Read a ratios file synchronously (the policy reads it when it is built, so a bad path fails early). */
export function loadMagcacheRatiosSync(path: string): MagcacheRatiosFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ProfileError("profile-io", `The MagCache ratios file "${path}" cannot be read; check the path or create it with sencache calibrate --kind magcache.`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ProfileError("invalid-profile", `The MagCache ratios file "${path}" is not valid JSON; recalibrate it with sencache calibrate --kind magcache.`, { cause });
  }
  return validateMagcacheRatios(parsed, `"${path}"`);
}

export async function saveMagcacheRatios(path: string, file: MagcacheRatiosFile): Promise<void> {
  const clean = validateMagcacheRatios(file);
  try {
    await writeFile(path, `${JSON.stringify(clean, null, 1)}\n`);
  } catch (cause) {
    throw new ProfileError("profile-io", `The MagCache ratios cannot be written to "${path}"; check that the folder exists and is writable.`, { cause });
  }
}
