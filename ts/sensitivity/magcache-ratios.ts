/**
 * Measured MagCache magnitude ratios as a JSON file (written by `calibrateMagcache`, read by the
 * magcache policy's `ratiosFile` option):
 *
 *   { "format": "sencache-magcache-ratios", "version": 1, "validFor": {…}, "steps": T,
 *     "ratios": [γ_0 = 1, γ_1, …], "uncondRatios": […]?, "std": […], "uncondStd": […]?, "samples": N }
 *
 * γ_k = mean over samples of ‖out_k‖ / ‖out_{k−1}‖ per CFG branch (index 0 is padding, as MagCache's
 * published arrays are laid out per branch).
 *
 * Version 2 (a model with several experts, Wan 2.2 A14B) adds "experts": one section per expert
 * {name, tMin, tMax, ratios, uncondRatios?, std, uncondStd?} over that expert's steps, its first
 * ratio padding (1) like index 0 (the ratio across a switch compares two models and is never used:
 * the loop computes the first step of every expert); the top-level arrays are the sections joined.
 */
import { writeFile } from "node:fs/promises";
import { l2Norm } from "../math.js";
import { ProfileError } from "./errors.js";
import { readJsonFileSync, type JsonFileWords } from "./json-file.js";
import type { ProfileValidity } from "./profile.js";

const RATIOS_FILE: JsonFileWords = {
  what: "The MagCache ratios file",
  create: "create it with sencache calibrate --kind magcache",
  redo: "recalibrate it with sencache calibrate --kind magcache",
};

export const MAGCACHE_RATIOS_FORMAT = "sencache-magcache-ratios" as const;

/** One expert's ratios (version 2). */
export interface MagcacheExpertRatios extends MagcacheRatioSeries {
  readonly name: string;
  readonly tMin: number;
  readonly tMax: number;
}

/** The measured series: per-step ratio and its spread, of the conditional (and unconditional) branch. */
export interface MagcacheRatioSeries {
  readonly ratios: readonly number[];
  readonly uncondRatios?: readonly number[];
  readonly std: readonly number[];
  readonly uncondStd?: readonly number[];
}

export interface MagcacheRatiosFile extends MagcacheRatioSeries {
  readonly format: typeof MAGCACHE_RATIOS_FORMAT;
  readonly version: 1 | 2;
  readonly validFor: ProfileValidity;
  readonly steps: number;
  readonly samples: number;
  readonly createdAt?: string;
  /** Version 2 only: per-expert sections. */
  readonly experts?: readonly MagcacheExpertRatios[];
}

function invalid(source: string, what: string): never {
  throw new ProfileError("invalid_profile", `The MagCache ratios file ${source} ${what}; recalibrate it with sencache calibrate --kind magcache.`);
}

function list(value: unknown, key: string, source: string, length?: number): number[] {
  if (!Array.isArray(value)) invalid(source, `has no array "${key}"`);
  if (length !== undefined && value.length !== length) invalid(source, `has ${value.length} values in "${key}" but ${length} in "ratios"`);
  value.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) invalid(
      source,
      `has a value in "${key}" at index ${i} that is not a finite non-negative number`,
    );
  });
  return value as number[];
}

/** Validate parsed JSON as a ratios file (returns a clean copy). */
export function validateMagcacheRatios(value: unknown, source = "(object)"): MagcacheRatiosFile {
  if (typeof value !== "object" || value === null) invalid(source, "is not an object");
  const o = value as Record<string, unknown>;
  if (o.format !== MAGCACHE_RATIOS_FORMAT) invalid(source, `has format ${JSON.stringify(o.format)} instead of "${MAGCACHE_RATIOS_FORMAT}"`);
  if (o.version !== undefined && o.version !== 1 && o.version !== 2) invalid(
    source,
    `has version ${JSON.stringify(o.version)}, this sencache reads versions 1 and 2`,
  );
  if ((o.version === 2) !== (o.experts !== undefined)) invalid(source, "has expert sections without version 2, or version 2 without expert sections");
  const ratios = list(o.ratios, "ratios", source);
  if (ratios.length < 2) invalid(source, "has fewer than 2 ratios");
  const n = ratios.length;
  const validFor = typeof o.validFor === "object" && o.validFor !== null ? (o.validFor as ProfileValidity) : {};
  const experts = o.experts !== undefined ? validateExpertRatios(o.experts, o, source) : undefined;
  return {
    format: MAGCACHE_RATIOS_FORMAT,
    version: experts !== undefined ? 2 : 1,
    ...(experts !== undefined ? { experts } : {}),
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

function validateExpertRatios(value: unknown, top: Record<string, unknown>, source: string): MagcacheExpertRatios[] {
  if (!Array.isArray(value) || value.length === 0) invalid(source, 'has an "experts" that is not a non-empty list');
  const names = new Set<string>();
  const sections = value.map((v: unknown, i) => {
    const e = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
    if (typeof e.name !== "string" || e.name === "" || names.has(e.name)) invalid(source, `has expert section ${i} without a unique name`);
    names.add(e.name);
    if (typeof e.tMin !== "number" || typeof e.tMax !== "number" || !(e.tMin <= e.tMax)) {
      invalid(source, `has expert "${e.name}" without a range tMin ≤ tMax`);
    }
    const r = list(e.ratios, `experts[${i}].ratios`, source);
    if (r.length < 1) invalid(source, `has no ratios for expert "${e.name}"`);
    return {
      name: e.name,
      tMin: e.tMin,
      tMax: e.tMax,
      ratios: r,
      ...(e.uncondRatios !== undefined ? { uncondRatios: list(e.uncondRatios, `experts[${i}].uncondRatios`, source, r.length) } : {}),
      std: e.std !== undefined ? list(e.std, `experts[${i}].std`, source, r.length) : new Array<number>(r.length).fill(0),
      ...(e.uncondStd !== undefined ? { uncondStd: list(e.uncondStd, `experts[${i}].uncondStd`, source, r.length) } : {}),
    } satisfies MagcacheExpertRatios;
  });
  const joined = sections.flatMap((s) => s.ratios);
  const whole = top.ratios as number[];
  if (joined.length !== whole.length || joined.some(
    (v, j) => v !== whole[j],
  )) invalid(source, 'has top-level "ratios" that are not its expert sections\' ratios joined');
  return sections;
}

/**
 * Split ratios measured over a whole schedule into per-expert sections (version 2): `spans` are the
 * schedule's expert spans; each section's first ratio becomes padding (1, std 0). One span: unchanged.
 */
export function withExpertRatios(
  file: MagcacheRatiosFile,
  spans: readonly { name: string; tMin: number; tMax: number; firstStep: number; lastStep: number }[],
): MagcacheRatiosFile {
  if (spans.length < 2) return file;
  if (new Set(spans.map((s) => s.name)).size !== spans.length) return file; // an expert visited twice: keep the whole-schedule array
  const cut = (a: readonly number[] | undefined, s: (typeof spans)[number], pad: number): number[] | undefined =>
    a === undefined ? undefined : a.slice(s.firstStep, s.lastStep + 1).map((v, j) => (j === 0 ? pad : v));
  const experts: MagcacheExpertRatios[] = spans.map((s) => ({
    name: s.name,
    tMin: s.tMin,
    tMax: s.tMax,
    ratios: cut(file.ratios, s, 1)!,
    ...(file.uncondRatios ? { uncondRatios: cut(file.uncondRatios, s, 1)! } : {}),
    std: cut(file.std, s, 0)!,
    ...(file.uncondStd ? { uncondStd: cut(file.uncondStd, s, 0)! } : {}),
  }));
  const join = (key: "ratios" | "uncondRatios" | "std" | "uncondStd"): number[] | undefined => (experts.every(
    (e) => e[key] !== undefined,
  ) ? experts.flatMap((e) => [...e[key]!]) : undefined);
  return validateMagcacheRatios(
    { ...file, version: 2, experts, ratios: join("ratios"), uncondRatios: join("uncondRatios"), std: join("std"), uncondStd: join("uncondStd") },
    "(per-expert)",
  );
}

/** Read a ratios file synchronously (the policy reads it when it is built, so a bad path fails early). */
export function loadMagcacheRatiosSync(path: string): MagcacheRatiosFile {
  const parsed = readJsonFileSync(path, RATIOS_FILE);
  return validateMagcacheRatios(parsed, `"${path}"`);
}

export async function saveMagcacheRatios(path: string, file: MagcacheRatiosFile): Promise<void> {
  const clean = validateMagcacheRatios(file);
  try {
    await writeFile(path, `${JSON.stringify(clean, null, 1)}\n`);
  } catch (cause) {
    throw new ProfileError("profile_io", `The MagCache ratios cannot be written to "${path}"; check that the folder exists and is writable.`, { cause });
  }
}

/**
 * Magnitude ratios from a calibration: `outputs[s][k]` is the full model output of sample s at step k
 * (one branch). γ_k = mean over samples of ‖out_k‖/‖out_{k−1}‖; γ_0 = 1 (padding). Also the spread.
 */
export function magnitudeRatios(outputs: readonly (readonly Float32Array[])[]): { ratios: number[]; std: number[] } {
  if (outputs.length === 0) return { ratios: [], std: [] };
  const T = Math.min(...outputs.map((o) => o.length));
  const ratios = [1];
  const std = [0];
  for (let k = 1; k < T; k++) {
    const vals = outputs.map((o) => l2Norm(o[k]!) / l2Norm(o[k - 1]!)).filter(Number.isFinite);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const variance = vals.length > 1 ? vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1) : 0;
    ratios.push(mean);
    std.push(Math.sqrt(variance));
  }
  return { ratios, std };
}
