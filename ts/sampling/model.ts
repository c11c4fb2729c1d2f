/**
 * A model loaded in a worker: the denoiser the loop drives (one `denoise` message per computed step,
 * carrying every branch), prompt encoding, initial latents, decoding, and the scheduler built from the
 * pipeline's own diffusers scheduler config.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { InvalidInputError } from "../errors.js";
import type { ModelProbes } from "../policies/types.js";
import { createScheduler } from "../schedulers/index.js";
import type { Scheduler, SetTimestepsOptions } from "../schedulers/types.js";
import type { WorkerClient } from "../worker/client.js";
import { float32Tensor, type LoadResult, type Tensor } from "../worker/codec.js";
import type { Denoiser, DenoiseItem } from "./types.js";

export interface LoadOptions {
  readonly dtype?: string;
  readonly family?: string;
  readonly signal?: AbortSignal;
}

export interface LatentSize {
  readonly height: number;
  readonly width: number;
  readonly numFrames: number;
}

/**
 * A location-independent name for a model, recorded in sensitivity profiles and MagCache ratios so
 * they stay valid in another clone or folder: a hub id as given, or for a local pipeline folder
 * `local:<folder name>@<hash of its configs and weight-file sizes>`.
 */
export function modelIdentity(source: string): string {
  const dir = resolve(source);
  if (!existsSync(join(dir, "model_index.json"))) return source;
  const hash = createHash("sha256").update(readFileSync(join(dir, "model_index.json")));
  for (const sub of readdirSync(dir).sort()) {
    const path = join(dir, sub);
    if (!statSync(path).isDirectory()) continue;
    for (const file of readdirSync(path).sort()) {
      if (file.endsWith(".json")) hash.update(`${sub}/${file}`).update(readFileSync(join(path, file)));
      else if (file.endsWith(".safetensors") || file.endsWith(".bin")) hash.update(`${sub}/${file}:${statSync(join(path, file)).size}`);
    }
  }
  return `local:${basename(dir)}@${hash.digest("hex").slice(0, 12)}`;
}

export class Model implements Denoiser {
  readonly client: WorkerClient;
  readonly info: LoadResult;
  readonly source: string;
  /** See `modelIdentity`: what profiles record as the model they are valid for. */
  readonly identity: string;

  private constructor(client: WorkerClient, source: string, info: LoadResult) {
    this.client = client;
    this.source = source;
    this.info = info;
    this.identity = modelIdentity(source);
  }

  /** Load a diffusers pipeline in the worker with `from_pretrained` (a model id or a local path). */
  static async load(client: WorkerClient, source: string, options: LoadOptions = {}): Promise<Model> {
    // A local folder is resolved here, against the caller's working directory (the worker runs elsewhere).
    if (existsSync(source)) source = resolve(source);
    const info = await client.request(
      { op: "load", source, ...(options.dtype ? { dtype: options.dtype } : {}), ...(options.family ? { family: options.family } : {}) },
      { timeoutMs: 600_000, ...(options.signal ? { signal: options.signal } : {}) },
    );
    return new Model(client, source, info);
  }

  get handle(): string {
    return this.info.model;
  }

  get family(): string {
    return this.info.family;
  }

  /** A fresh scheduler for `steps` steps, built from the pipeline's own scheduler config. */
  scheduler(steps: number, options: SetTimestepsOptions = {}): Scheduler {
    return createScheduler(this.info.scheduler, steps, options);
  }

  /** The latent shape [1, C, F', H', W'] for a video size. */
  latentShape(size: LatentSize): number[] {
    const { channels, spatialScale, temporalScale } = this.info.latent;
    for (const [name, value] of [["height", size.height], ["width", size.width]] as const) {
      if (!Number.isInteger(value) || value <= 0 || value % spatialScale !== 0) {
        throw new InvalidInputError(`The ${name} ${value} must be a positive multiple of ${spatialScale} for this model; pick another size.`);
      }
    }
    if (!Number.isInteger(size.numFrames) || size.numFrames <= 0) throw new InvalidInputError(`numFrames must be a positive integer, not ${size.numFrames}.`);
    const frames = Math.floor((size.numFrames - 1) / temporalScale) + 1;
    return [1, channels, frames, size.height / spatialScale, size.width / spatialScale];
  }

  async encodePrompt(text: string, options: { maxSequenceLength?: number; signal?: AbortSignal } = {}): Promise<string> {
    const maxSequenceLength = options.maxSequenceLength ?? this.info.defaults.maxSequenceLength;
    const { cond } = await this.client.request(
      { op: "encodePrompt", model: this.handle, text, ...(maxSequenceLength !== undefined ? { maxSequenceLength } : {}) },
      options.signal ? { signal: options.signal } : {},
    );
    return cond;
  }

  /** The initial latent for a seed, drawn by the worker's torch generator exactly as the pipeline draws it. */
  async prepareLatents(seed: number, size: LatentSize, signal?: AbortSignal): Promise<Tensor<Float32Array>> {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidInputError(`The seed must be a non-negative integer, not ${seed}.`);
    const { latents } = await this.client.request(
      { op: "prepareLatents", model: this.handle, seed, height: size.height, width: size.width, numFrames: size.numFrames },
      signal ? { signal } : {},
    );
    this.rememberShape(latents.shape);
    return latents;
  }

  async denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    const first = items[0];
    if (!first) return [];
    const n = first.x.length;
    const stacked = new Float32Array(n * items.length);
    items.forEach((item, i) => {
      if (item.x.length !== n) throw new InvalidInputError("All items of one denoise call must have latents of the same size.");
      stacked.set(item.x, i * n);
    });
    const [, ...rest] = this.lastShape(n);
    const { out } = await this.client.request(
      { op: "denoise", model: this.handle, items: items.map(({ cond, t, branch }) => ({ cond, t, branch })), x: float32Tensor(stacked, [items.length, ...rest]) },
      signal ? { signal } : {},
    );
    return items.map((_, i) => out.data.subarray(i * n, (i + 1) * n));
  }

  private shapes = new Map<number, number[]>();

  /** Remember the latent shape of a size so `denoise` can label its tensor. */
  rememberShape(shape: readonly number[]): void {
    this.shapes.set(shape.reduce((a, b) => a * b, 1), [...shape]);
  }

  private lastShape(n: number): number[] {
    const shape = this.shapes.get(n);
    if (!shape) throw new InvalidInputError(`No latent shape with ${n} elements was prepared on this model; call prepareLatents (or rememberShape) first.`);
    return shape;
  }

  async decode(latent: Float32Array, shape: readonly number[], signal?: AbortSignal): Promise<Tensor<Uint8Array>> {
    const { video } = await this.client.request({ op: "decode", model: this.handle, latents: float32Tensor(latent, shape) }, signal ? { signal } : {});
    return video;
  }

  async encodeMedia(video: Tensor<Uint8Array>, signal?: AbortSignal): Promise<Tensor<Float32Array>> {
    const { latents } = await this.client.request({ op: "encodeMedia", model: this.handle, video }, signal ? { signal } : {});
    this.rememberShape(latents.shape);
    return latents;
  }

  /** Probes for policies (TeaCache's time embedding), asked once per schedule. */
  get probes(): ModelProbes {
    return {
      timeEmbedding: async (timesteps) => {
        const { emb } = await this.client.request({ op: "timeEmbedding", model: this.handle, timesteps });
        const d = emb.shape[1] ?? 0;
        return timesteps.map((_, i) => emb.data.slice(i * d, (i + 1) * d));
      },
    };
  }

  async release(handles: readonly string[]): Promise<number> {
    const { released } = await this.client.request({ op: "release", handles });
    return released;
  }
}
