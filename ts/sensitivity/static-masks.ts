/**
 * Offline-searched static compute masks (the `static-optimal` policy's file), written by
 * `sencache calibrate --kind static-optimal` (`searchStaticMasks` in ./static-search.ts):
 *
 *   { "format": "sencache-static-masks", "version": 1, "validFor": {…}, "steps": T, "n": 3,
 *     "guidanceScale": 5, "samples": 4,
 *     "masks": [{ "nfe": 18, "compute": [0, 1, 2, 4, …], "predicted": …, "measured": … }, …],
 *     "search": { "method": "…", "evaluations": {…} } }
 *
 * One mask per NFE: the steps to compute (sorted, step 0 first). The same mask is applied to every
 * prompt. Source of the idea: LeMiCa (NeurIPS 2025), BudCache (ICML 2026), DPCache (CVPR 2026).
 */
import { writeFile } from "node:fs/promises";
import { ProfileError } from "./errors.js";
import { readJsonFileSync, type JsonFileWords } from "./json-file.js";
import type { ProfileValidity } from "./profile.js";

const MASKS_FILE: JsonFileWords = {
  what: "The static-mask file",
  create: "create it with sencache calibrate --kind static-optimal",
  redo: "search it again with sencache calibrate --kind static-optimal",
};

export const STATIC_MASKS_FORMAT = "sencache-static-masks" as const;

export interface StaticMask {
  /** Number of computed steps (= compute.length). */
  readonly nfe: number;
  /** Steps to compute, ascending, starting at 0. */
  readonly compute: readonly number[];
  /** The search's predicted final-latent error of the mask (first-order model; relative units). */
  readonly predicted?: number;
  /** Mean over the search's samples of log10 ‖x̂_final − x_final‖ / ‖x_final‖, measured by cached runs. */
  readonly measured?: number;
}

export interface StaticSearchCost {
  /** Full denoiser steps (one step = both CFG branches) spent per phase. */
  readonly referenceSteps: number;
  readonly propagationSteps: number;
  readonly refineSteps: number;
  /** Candidate masks evaluated by cached runs. */
  readonly candidates: number;
}

export interface StaticMasksFile {
  readonly format: typeof STATIC_MASKS_FORMAT;
  readonly version: 1;
  readonly validFor: ProfileValidity;
  readonly steps: number;
  /** Maximum consecutive reuses the search allowed. */
  readonly n: number;
  readonly guidanceScale: number;
  readonly samples: number;
  readonly masks: readonly StaticMask[];
  readonly search?: { readonly method: string; readonly cost: StaticSearchCost; readonly wallMs?: number };
  readonly createdAt?: string;
}

function invalid(source: string, what: string): never {
  throw new ProfileError("invalid_profile", `The static-mask file ${source} ${what}; search it again with sencache calibrate --kind static-optimal.`);
}

const posInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;

/** Validate parsed JSON as a static-mask file (returns it typed; masks checked for order, range and size). */
export function validateStaticMasks(value: unknown, source = "(object)"): StaticMasksFile {
  if (typeof value !== "object" || value === null) invalid(source, "is not an object");
  const o = value as Record<string, unknown>;
  if (o.format !== STATIC_MASKS_FORMAT) invalid(source, `has format ${JSON.stringify(o.format)} instead of "${STATIC_MASKS_FORMAT}"`);
  if (o.version !== 1) invalid(source, `has version ${JSON.stringify(o.version)}, this sencache reads version 1`);
  if (!posInt(o.steps)) invalid(source, 'has a "steps" that is not a positive integer');
  const T = o.steps;
  const n = o.n === Infinity || o.n === null ? Infinity : o.n;
  if (!(n === Infinity || (typeof n === "number" && Number.isInteger(n) && n >= 0))) invalid(source, 'has an "n" that is not a non-negative integer');
  if (!Array.isArray(o.masks) || o.masks.length === 0) invalid(source, 'has no "masks"');
  const masks = o.masks.map((m: unknown, i: number): StaticMask => {
    const r = m as Record<string, unknown>;
    if (typeof r !== "object" || r === null || !posInt(r.nfe) || !Array.isArray(r.compute)) invalid(source, `has a mask ${i} without nfe and compute`);
    const c = r.compute as unknown[];
    if (c.length !== r.nfe) invalid(source, `has a mask ${i} with ${c.length} steps for nfe ${String(r.nfe)}`);
    c.forEach((s, q) => {
      if (typeof s !== "number" || !Number.isInteger(s) || s < 0 || s >= T || (q > 0 && s <= (c[q - 1] as number))) invalid(
        source,
        `has a mask ${i} whose steps are not ascending integers in [0, ${T})`,
      );
    });
    if (c[0] !== 0) invalid(source, `has a mask ${i} that does not compute step 0`);
    return {
      nfe: r.nfe,
      compute: c as number[],
      ...(typeof r.predicted === "number" ? { predicted: r.predicted } : {}),
      ...(typeof r.measured === "number" ? { measured: r.measured } : {}),
    };
  });
  return {
    format: STATIC_MASKS_FORMAT,
    version: 1,
    validFor: (typeof o.validFor === "object" && o.validFor !== null ? o.validFor : {}) as ProfileValidity,
    steps: T,
    n: n as number,
    guidanceScale: typeof o.guidanceScale === "number" ? o.guidanceScale : NaN,
    samples: posInt(o.samples) ? o.samples : 0,
    masks,
    ...(typeof o.search === "object" && o.search !== null ? { search: o.search as StaticMasksFile["search"] & object } : {}),
    ...(typeof o.createdAt === "string" ? { createdAt: o.createdAt } : {}),
  };
}

export function loadStaticMasksSync(path: string): StaticMasksFile {
  const parsed = readJsonFileSync(path, MASKS_FILE);
  return validateStaticMasks(parsed, `"${path}"`);
}

export async function saveStaticMasks(path: string, file: StaticMasksFile): Promise<void> {
  const clean = validateStaticMasks(JSON.parse(JSON.stringify({ ...file, n: Number.isFinite(file.n) ? file.n : null })), "(to save)");
  try {
    await writeFile(path, `${JSON.stringify({ ...clean, n: Number.isFinite(clean.n) ? clean.n : null }, null, 1)}\n`);
  } catch (cause) {
    throw new ProfileError("profile_io", `The static-mask file cannot be written to "${path}"; check that the folder exists and is writable.`, { cause });
  }
}
