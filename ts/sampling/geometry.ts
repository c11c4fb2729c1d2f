/**
 * Latent geometry: which video sizes a model accepts, and the check that refuses a wrong size in one
 * sentence naming the valid ones.
 *
 * The worker states the geometry in its load result (`geometry`). For a local pipeline folder the TS
 * side can know it before any worker starts, from model_index.json and the transformer's and VAE's
 * config.json, with the rules the diffusers pipelines apply:
 *
 *   Wan (WanPipeline, WanImageToVideoPipeline, …)   VAE scale_factor_spatial / _temporal (older configs:
 *       2^len / 2^sum of temperal_downsample); height, width multiples of lcm(16, vae·patch); frames 4k+1
 *       (temporal factor k); latent at most rope_max_seq_len patches per axis.
 *   CogVideoX                                        VAE 2^(len(block_out_channels)−1) spatial,
 *       temporal_compression_ratio; multiples of lcm(8, vae·patch); frames (ratio)k+1.
 *   LTX-Video                                        VAE spatial / temporal_compression_ratio (else
 *       patch·2^sum(spatio_temporal_scaling)); multiples of lcm(32, vae·patch); frames 8k+1.
 *
 * `checkSize` is what generate, calibrate and the CLI call, so the SDK, the CLI and the worker say
 * the same thing; the worker's own check stays as the last word.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { InvalidInputError } from "../errors.js";
import type { LoadExpert, LoadGeometry, LoadResult } from "../worker/ops.js";

export type { LoadGeometry } from "../worker/ops.js";

export interface VideoSize {
  readonly height: number;
  readonly width: number;
  readonly numFrames: number;
}

/** What the TS side reads from a local pipeline folder before a worker runs. */
export interface FolderGeometry {
  readonly pipelineClass: string;
  readonly family: "wan" | "cogvideox" | "ltx";
  readonly geometry: LoadGeometry;
  /** VAE compression: pixels per latent cell, frames per latent frame. */
  readonly vae: { readonly spatial: number; readonly temporal: number };
  readonly channels: number;
  /** The transformers and the timesteps each serves (two for Wan 2.2 A14B). */
  readonly experts: readonly LoadExpert[];
  /** The folder's sencache.json defaults, when it has them. */
  readonly defaults?: Partial<{
    height: number; width: number; numFrames: number; guidanceScale: number; numInferenceSteps: number; maxSequenceLength: number; fps: number,
  }>;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function lcm(...xs: number[]): number {
  return xs.reduce((a, b) => (a * b) / gcd(a, b), 1);
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(path, "utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const int = (v: unknown, fallback: number): number => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fallback);
const bools = (v: unknown): boolean[] => (Array.isArray(v) ? v.map(Boolean) : []);

function familyOf(pipelineClass: string): FolderGeometry["family"] | undefined {
  if (pipelineClass.startsWith("Wan")) return "wan";
  if (pipelineClass.startsWith("CogVideoX")) return "cogvideox";
  if (pipelineClass.startsWith("LTX")) return "ltx";
  return undefined;
}

/** The numeric defaults read from a folder's sencache.json: its key, and the name it has here. */
const FOLDER_DEFAULT_KEYS = [
  ["height", "height"],
  ["width", "width"],
  ["num_frames", "numFrames"],
  ["guidance_scale", "guidanceScale"],
  ["num_inference_steps", "numInferenceSteps"],
  ["max_sequence_length", "maxSequenceLength"],
  ["fps", "fps"],
] as const;

/**
 * The geometry of a local diffusers pipeline folder, or undefined when `source` is not a folder with
 * model_index.json, the pipeline class is not one of the families above, or a config is missing (the
 * worker then decides alone).
 */
export function readFolderGeometry(source: string): FolderGeometry | undefined {
  try {
    if (!existsSync(source) || !statSync(source).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  const index = readJson(join(source, "model_index.json"));
  const pipelineClass = index?.["_class_name"];
  if (index === undefined || typeof pipelineClass !== "string") return undefined;
  const family = familyOf(pipelineClass);
  if (family === undefined) return undefined;
  const present = (key: string): boolean => Array.isArray(index[key]) && (index[key] as unknown[])[0] !== null && (index[key] as unknown[])[0] !== undefined;
  const hasTransformer = present("transformer") || !present("transformer_2");
  const tr = readJson(join(source, hasTransformer ? "transformer" : "transformer_2", "config.json"));
  const vae = readJson(join(source, "vae", "config.json"));
  if (tr === undefined || vae === undefined) return undefined;
  const scheduler = readJson(join(source, "scheduler", "scheduler_config.json"));
  const numTrain = int(scheduler?.["num_train_timesteps"], 1000);

  let spatial: number;
  let temporal: number;
  let patch: [number, number, number];
  let base: number;
  let maxLatent: [number, number, number] | undefined;
  if (family === "wan") {
    const down = bools(vae["temperal_downsample"]);
    spatial = int(vae["scale_factor_spatial"], 2 ** down.length);
    temporal = int(vae["scale_factor_temporal"], 2 ** down.filter(Boolean).length);
    const p = Array.isArray(tr["patch_size"]) ? (tr["patch_size"] as unknown[]) : [1, 2, 2];
    patch = [int(p[0], 1), int(p[1], 2), int(p[2], 2)];
    base = 16;
    const rope = tr["rope_max_seq_len"];
    if (typeof rope === "number") maxLatent = [rope * patch[0], rope * patch[1], rope * patch[2]];
  } else if (family === "cogvideox") {
    const blocks = Array.isArray(vae["block_out_channels"]) ? (vae["block_out_channels"] as unknown[]).length : 4;
    spatial = 2 ** (blocks - 1);
    temporal = int(vae["temporal_compression_ratio"], 4);
    const ps = int(tr["patch_size"], 2);
    patch = [int(tr["patch_size_t"], 1), ps, ps];
    base = 8;
  } else {
    const scaling = bools(vae["spatio_temporal_scaling"]).filter(Boolean).length;
    spatial = int(vae["spatial_compression_ratio"], int(vae["patch_size"], 4) * 2 ** scaling);
    temporal = int(vae["temporal_compression_ratio"], int(vae["patch_size_t"], 1) * 2 ** scaling);
    const ps = int(tr["patch_size"], 1);
    patch = [int(tr["patch_size_t"], 1), ps, ps];
    base = 32;
  }
  const geometry: LoadGeometry = {
    patch,
    spatialMultiple: lcm(base, spatial * patch[1], spatial * patch[2]),
    frameRule: { multiple: temporal, plus: 1 },
    ...(maxLatent ? { maxLatent } : {}),
  };
  const ratio = index["boundary_ratio"];
  const two = family === "wan" && typeof ratio === "number" && present("transformer_2") && present("transformer");
  const experts: LoadExpert[] = two
    ? [
        { name: "transformer", tMin: ratio * numTrain, tMax: numTrain },
        { name: "transformer_2", tMin: 0, tMax: ratio * numTrain },
      ]
    : [{ name: hasTransformer ? "transformer" : "transformer_2", tMin: 0, tMax: numTrain }];
  const sc = readJson(join(source, "sencache.json"));
  const d = (sc?.["defaults"] ?? sc) as Record<string, unknown> | undefined;
  const defaults: Record<string, number> = {};
  if (d) {
    for (const [from, to] of FOLDER_DEFAULT_KEYS) {
      if (typeof d[from] === "number") defaults[to] = d[from] as number;
    }
  }
  return {
    pipelineClass,
    family,
    geometry,
    vae: { spatial, temporal },
    channels: int(tr["in_channels"], 16),
    experts,
    ...(Object.keys(defaults).length ? { defaults } : {}),
  };
}

function nearestMultiples(value: number, m: number): number[] {
  const below = Math.floor(value / m) * m;
  return [...new Set([below, below + m].filter((v) => v >= m))];
}

function nearestFrames(value: number, rule: LoadGeometry["frameRule"]): number[] {
  const k = Math.max(0, Math.floor((value - rule.plus) / rule.multiple));
  return [...new Set([k, k + 1].map((j) => j * rule.multiple + rule.plus).filter((v) => v >= 1))];
}

/** "4k+1" */
export function frameRuleText(rule: LoadGeometry["frameRule"]): string {
  return `${rule.multiple}k+${rule.plus}`;
}

/**
 * Throw InvalidInputError with one sentence naming the valid sizes when `size` does not fit the
 * geometry (checks only the fields given). `vaeSpatial` / `vaeTemporal` turn `maxLatent` into pixels.
 */
export function checkSize(
  geometry: LoadGeometry,
  size: Partial<VideoSize>,
  options: { readonly model?: string; readonly vaeSpatial?: number; readonly vaeTemporal?: number } = {},
): void {
  const m = geometry.spatialMultiple;
  const rule = geometry.frameRule;
  const problems: string[] = [];
  const fixes: string[] = [];
  for (const [name, value] of [["height", size.height], ["width", size.width]] as const) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value <= 0 || value % m !== 0) {
      problems.push(`${name} ${value}`);
      fixes.push(`${name} ${Number.isFinite(value) && value > 0 ? nearestMultiples(value, m).join(" or ") : m}`);
    }
  }
  const f = size.numFrames;
  if (f !== undefined && (!Number.isInteger(f) || f < rule.plus || (f - rule.plus) % rule.multiple !== 0)) {
    problems.push(`${f} frames`);
    fixes.push(`${Number.isFinite(f) && f > 0 ? nearestFrames(f, rule).join(" or ") : rule.multiple + rule.plus} frames`);
  }
  const what = options.model ?? "this model";
  if (problems.length > 0) {
    throw new InvalidInputError(
      `The size ${problems.join(", ")} does not fit ${what}, whose height and width must be multiples of ${m} and frame count ${frameRuleText(rule)}: ` +
        `use ${fixes.join(", ")}.`,
    );
  }
  const max = geometry.maxLatent;
  if (max !== undefined && options.vaeSpatial !== undefined) {
    const limits: [string, number | undefined, number][] = [
      ["height", size.height, max[1] * options.vaeSpatial],
      ["width", size.width, max[2] * options.vaeSpatial],
    ];
    if (options.vaeTemporal !== undefined) limits.push(["frames", f, (max[0] - 1) * options.vaeTemporal + 1]);
    const over = limits.filter(([, v, limit]) => v !== undefined && v > limit);
    if (over.length > 0) {
      const sizes = over.map(([n, v]) => `${n} ${v}`).join(", ");
      const most = over.map(([n, , l]) => `${n} ${l}`).join(", ");
      throw new InvalidInputError(`The size ${sizes} is beyond the positional range of ${what}: use at most ${most}.`);
    }
  }
}

/** The latent shape [1, C, F', H', W'] of a video size for a loaded model (refused by `checkSize` when the model cannot take it). */
export function latentShapeOf(info: LoadResult, geometry: LoadGeometry, size: VideoSize): number[] {
  const { channels, spatialScale, temporalScale } = info.latent;
  checkSize(geometry, size, { model: `this model (${info.pipelineClass})`, vaeSpatial: spatialScale, vaeTemporal: temporalScale });
  let frames = Math.floor((size.numFrames - 1) / temporalScale) + 1;
  // CogVideoX 1.5 pads the latent frames to a multiple of its temporal patch (the worker's prepare_latents does the same).
  const pt = geometry.patch[0];
  if (info.family === "cogvideox" && frames % pt !== 0) frames += pt - (frames % pt);
  return [1, channels, frames, size.height / spatialScale, size.width / spatialScale];
}
