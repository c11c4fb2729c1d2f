/**
 * A model loaded in a worker: the denoiser the loop drives (one `denoise` message per computed step,
 * carrying every branch), prompt encoding, initial latents, decoding, and the scheduler built from the
 * pipeline's own diffusers scheduler config.
 *
 * Recovery. The worker holds only re-creatable things (the loaded pipeline, prompt-embedding handles);
 * every sampling state lives in TS. Given a `restart` function (`openWorker` provides one for a worker
 * it spawned), a request that fails because the worker died starts a fresh worker, loads the model
 * again, re-encodes every prompt handle still in use and retries: the samples in flight lose one
 * evaluation's time and finish as if nothing had happened (a denoise request is a pure function of
 * its inputs). At most `maxRestarts` restarts per model (default 2); after that the WorkerDiedError
 * reaches the caller.
 *
 * Prompt handles. `encodePrompt` hands out one worker handle per (text, max length) and counts its
 * users; `release` gives one use back. The last `promptCache` handles nobody holds are kept, so the
 * next sample with the same prompt (a bench sweep, a negative prompt, a demo row) does not encode it
 * again; older ones are released in the worker.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { InvalidInputError, WorkerDiedError } from "../errors.js";
import type { ModelProbes } from "../policies/types.js";
import { createScheduler } from "../schedulers/index.js";
import type { Scheduler, SetTimestepsOptions } from "../schedulers/types.js";
import type { WorkerLike } from "../worker/client.js";
import { float32Tensor, type LoadExpert, type LoadGeometry, type LoadResult, type Request, type Tensor } from "../worker/codec.js";
import { toHalf } from "../worker/half.js";
import { isWorkerDied } from "../worker/supervisor.js";
import { checkSize, readFolderGeometry } from "./geometry.js";
import type { Denoiser, DenoiseItem } from "./types.js";

export interface LoadOptions {
  /** Weights dtype: "float32" (default), "bfloat16" or "float16" where the family's pipeline uses them. */
  readonly dtype?: string;
  readonly family?: string;
  /** diffusers' enable_model_cpu_offload ("model") or enable_sequential_cpu_offload ("sequential"). */
  readonly offload?: "model" | "sequential";
  /** VAE tiling / slicing (lower decode memory). */
  readonly vaeTiling?: boolean;
  readonly vaeSlicing?: boolean;
  /** Latents on the wire: "auto" (default: bf16/fp16 when the transformer runs in it), or one dtype. The loop stays float32. */
  readonly wireDtype?: "auto" | "float32" | "bfloat16" | "float16";
  readonly signal?: AbortSignal;
  /** Start a fresh worker and return its client (see "Recovery" above); `OpenedWorker.restart`. */
  readonly restart?: () => Promise<WorkerLike>;
  /** Restarts allowed over the model's life (default 2; 0 turns recovery off). */
  readonly maxRestarts?: number;
  /** Called when a dead worker is being replaced (attempt counts from 1). */
  readonly onRestart?: (event: RestartEvent) => void;
  /** Prompt handles kept for reuse after their last user released them (default 16; 0: release at once). */
  readonly promptCache?: number;
}

export interface RestartEvent {
  readonly attempt: number;
  readonly maxRestarts: number;
  /** The failure that triggered the restart. */
  readonly error: WorkerDiedError;
}

export interface LatentSize {
  readonly height: number;
  readonly width: number;
  readonly numFrames: number;
}

/** Bytes read from each end of a weight file for the identity hash. */
const IDENTITY_SAMPLE_BYTES = 1 << 20;

/**
 * A location-independent name for a model, recorded in sensitivity profiles and MagCache ratios so
 * they stay valid in another clone or folder: a hub id as given, or for a local pipeline folder
 * `local:<folder name>@<hash>`. The hash covers model_index.json, every component's JSON configs,
 * and each weight file's size and its first and last MiB, so retrained weights of the same
 * architecture get a new identity without reading a multi-gigabyte checkpoint whole.
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
      else if (file.endsWith(".safetensors") || file.endsWith(".bin")) {
        const size = statSync(join(path, file)).size;
        hash.update(`${sub}/${file}:${size}`);
        const fd = openSync(join(path, file), "r");
        try {
          const n = Math.min(size, IDENTITY_SAMPLE_BYTES);
          const buf = Buffer.alloc(n);
          readSync(fd, buf, 0, n, 0);
          hash.update(buf);
          readSync(fd, buf, 0, n, size - n);
          hash.update(buf);
        } finally {
          closeSync(fd);
        }
      }
    }
  }
  return `local:${basename(dir)}@${hash.digest("hex").slice(0, 12)}`;
}

interface PromptEntry {
  readonly text: string;
  readonly maxSequenceLength: number | undefined;
  users: number;
  readonly handle: Promise<string>;
  /** The handle, once the worker has given it. */
  resolved?: string;
}

export class Model implements Denoiser {
  readonly source: string;
  /** See `modelIdentity`: what profiles record as the model they are valid for. */
  readonly identity: string;
  private currentClient: WorkerLike;
  private currentInfo: LoadResult;
  private readonly loadRequest: Request & { op: "load" };
  private readonly restartWorker: (() => Promise<WorkerLike>) | undefined;
  private readonly maxRestarts: number;
  private readonly onRestart: ((event: RestartEvent) => void) | undefined;
  private restartCount = 0;
  /** Incremented by every completed recovery: a failure seen in an older generation is simply retried. */
  private generation = 0;
  private recovering: Promise<void> | undefined;
  /**
   * (max length, text) → its handle and how many users hold it; Map order = least recently used first.
   * These are also the handles re-encoded after a restart (`resolved`: the handle the callers hold).
   */
  private readonly prompts = new Map<string, PromptEntry>();
  private readonly promptKeys = new Map<string, string>();
  private readonly promptCache: number;
  private encodes = 0;
  /** Caller's handle → the current worker's handle, after a restart. */
  private aliases = new Map<string, string>();
  /** Image handles in use → the request that made them (re-sent after a restart). */
  private readonly images = new Map<string, Request & { op: "encodeImage" }>();

  private constructor(client: WorkerLike, source: string, info: LoadResult, loadRequest: Request & { op: "load" }, options: LoadOptions) {
    this.currentClient = client;
    this.source = source;
    this.currentInfo = info;
    this.identity = modelIdentity(source);
    this.loadRequest = loadRequest;
    this.restartWorker = options.restart;
    this.maxRestarts = options.restart ? (options.maxRestarts ?? 2) : 0;
    this.onRestart = options.onRestart;
    this.promptCache = options.promptCache ?? 16;
    if (!Number.isInteger(this.promptCache) || this.promptCache < 0) throw new InvalidInputError(`promptCache must be a whole number ≥ 0, not ${String(options.promptCache)}.`);
  }

  /** Load a diffusers pipeline in the worker with `from_pretrained` (a model id or a local path). */
  static async load(client: WorkerLike, source: string, options: LoadOptions = {}): Promise<Model> {
    // A local folder is resolved here, against the caller's working directory (the worker runs elsewhere).
    if (existsSync(source)) source = resolve(source);
    const request = {
      op: "load" as const,
      source,
      ...(options.dtype ? { dtype: options.dtype } : {}),
      ...(options.family ? { family: options.family } : {}),
      ...(options.offload ? { offload: options.offload } : {}),
      ...(options.vaeTiling !== undefined ? { vaeTiling: options.vaeTiling } : {}),
      ...(options.vaeSlicing !== undefined ? { vaeSlicing: options.vaeSlicing } : {}),
      ...(options.wireDtype ? { wireDtype: options.wireDtype } : {}),
    };
    const info = await client.request(request, { timeoutMs: 600_000, ...(options.signal ? { signal: options.signal } : {}) });
    return new Model(client, source, info, request, options);
  }

  /** The client of the worker the model lives in now (a new one after a restart). */
  get client(): WorkerLike {
    return this.currentClient;
  }

  get info(): LoadResult {
    return this.currentInfo;
  }

  /** How many prompts were sent to the worker's text encoder (cache misses). */
  get promptEncodes(): number {
    return this.encodes;
  }

  /** How many times a dead worker was replaced for this model. */
  get restarts(): number {
    return this.restartCount;
  }

  /**
   * Run a worker request; if the worker died and a restart is allowed, replace it (once for all the
   * requests that failed together) and run the request again against the new worker.
   */
  private async call<R>(send: (client: WorkerLike, handle: string) => Promise<R>): Promise<R> {
    for (;;) {
      const generation = this.generation;
      try {
        return await send(this.currentClient, this.currentInfo.model);
      } catch (error) {
        if (!isWorkerDied(error) || this.restartWorker === undefined) throw error;
        if (this.recovering) {
          await this.recovering;
          continue;
        }
        if (generation !== this.generation) continue;
        if (this.restartCount >= this.maxRestarts) {
          if (this.maxRestarts === 0) throw error;
          throw new WorkerDiedError(`${error.message} (The worker had already been restarted ${this.restartCount} time(s) for this model; not restarting again.)`, error.stderr);
        }
        this.recovering = this.recover(error).finally(() => {
          this.recovering = undefined;
        });
        await this.recovering;
      }
    }
  }

  private async recover(error: WorkerDiedError): Promise<void> {
    this.restartCount++;
    this.onRestart?.({ attempt: this.restartCount, maxRestarts: this.maxRestarts, error });
    const client = await (this.restartWorker as () => Promise<WorkerLike>)();
    const info = await client.request(this.loadRequest, { timeoutMs: 600_000 });
    const aliases = new Map<string, string>();
    for (const entry of this.prompts.values()) {
      if (entry.resolved === undefined) continue; // still being encoded: its request retries on the new worker
      const { text, maxSequenceLength } = entry;
      const { cond } = await client.request({ op: "encodePrompt", model: info.model, text, ...(maxSequenceLength !== undefined ? { maxSequenceLength } : {}) });
      aliases.set(entry.resolved, cond);
    }
    for (const [handle, request] of this.images) {
      const { image } = await client.request({ ...request, model: info.model });
      aliases.set(handle, image);
    }
    this.currentClient = client;
    this.currentInfo = info;
    this.aliases = aliases;
    this.generation++;
  }

  /** The current worker's handle for a prompt handle given out before a restart. */
  private cond(handle: string): string {
    return this.aliases.get(handle) ?? handle;
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

  /**
   * Which sizes the model accepts: the worker's `geometry`, else what the local folder's configs say
   * (geometry.ts), else the VAE factors alone.
   */
  get geometry(): LoadGeometry {
    if (this.info.geometry) return this.info.geometry;
    this.folderGeometry ??= readFolderGeometry(this.source)?.geometry ?? null;
    const { spatialScale, temporalScale } = this.info.latent;
    return this.folderGeometry ?? { patch: [1, 1, 1], spatialMultiple: spatialScale, frameRule: { multiple: temporalScale, plus: 1 } };
  }

  private folderGeometry: LoadGeometry | null | undefined;

  /**
   * The transformers and the timesteps each serves: the worker's `experts`, else what the local
   * folder's model_index.json says (boundary_ratio + transformer_2), else one over every timestep.
   */
  get experts(): readonly LoadExpert[] {
    if (this.info.experts) return this.info.experts;
    const numTrain = this.info.scheduler.config["num_train_timesteps"];
    return readFolderGeometry(this.source)?.experts ?? [{ name: "transformer", tMin: 0, tMax: typeof numTrain === "number" ? numTrain : 1000 }];
  }

  /** The latent shape [1, C, F', H', W'] for a video size (refused in one sentence when the model cannot take it). */
  latentShape(size: LatentSize): number[] {
    const { channels, spatialScale, temporalScale } = this.info.latent;
    checkSize(this.geometry, size, { model: `this model (${this.info.pipelineClass})`, vaeSpatial: spatialScale, vaeTemporal: temporalScale });
    let frames = Math.floor((size.numFrames - 1) / temporalScale) + 1;
    // CogVideoX 1.5 pads the latent frames to a multiple of its temporal patch (the worker's prepare_latents does the same).
    const pt = this.geometry.patch[0];
    if (this.info.family === "cogvideox" && frames % pt !== 0) frames += pt - (frames % pt);
    return [1, channels, frames, size.height / spatialScale, size.width / spatialScale];
  }

  /** A handle for the prompt's embedding in the worker (shared with other users of the same text); `release` it after use. */
  async encodePrompt(text: string, options: { maxSequenceLength?: number; signal?: AbortSignal } = {}): Promise<string> {
    const maxSequenceLength = options.maxSequenceLength ?? this.info.defaults.maxSequenceLength;
    const key = `${maxSequenceLength ?? ""}\u0000${text}`;
    const hit = this.prompts.get(key);
    if (hit) {
      hit.users++;
      this.prompts.delete(key); // most recently used last
      this.prompts.set(key, hit);
      try {
        return await hit.handle;
      } catch (error) {
        hit.users--;
        throw error;
      }
    }
    const entry: PromptEntry = { text, maxSequenceLength, users: 1, handle: this.encodeNow(text, maxSequenceLength, options.signal, (h) => (entry.resolved = h)) };
    this.prompts.set(key, entry);
    try {
      const handle = await entry.handle;
      this.promptKeys.set(handle, key);
      return handle;
    } catch (error) {
      if (this.prompts.get(key) === entry) this.prompts.delete(key);
      throw error;
    }
  }

  /** Encode in the worker; `onHandle` learns the handle as soon as the worker gives it (before any restart can miss it). */
  private async encodeNow(text: string, maxSequenceLength: number | undefined, signal: AbortSignal | undefined, onHandle: (handle: string) => void): Promise<string> {
    this.encodes++;
    const { cond } = await this.call((client, model) =>
      client.request({ op: "encodePrompt", model, text, ...(maxSequenceLength !== undefined ? { maxSequenceLength } : {}) }, signal ? { signal } : {}),
    );
    onHandle(cond);
    return cond;
  }

  /**
   * Image-to-video: send one sample's conditioning image [H, W, 3] (any size; the pipeline resizes it) to
   * the worker once. The worker prepares it as the pipeline does for this seed and size (the VAE encode
   * may draw from the seed's generator); pass the handle to `prepareLatents` and on every denoise item,
   * and `release` it after the sample. Nothing image-related travels on a denoise step.
   */
  async encodeImage(image: Tensor<Uint8Array>, seed: number, size: LatentSize, signal?: AbortSignal): Promise<string> {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidInputError(`The seed must be a non-negative integer, not ${seed}.`);
    if (image.shape.length !== 3 || image.shape[2] !== 3) throw new InvalidInputError(`The conditioning image must be [H, W, 3] uint8, not [${image.shape.join(", ")}].`);
    const base = { op: "encodeImage" as const, seed, height: size.height, width: size.width, numFrames: size.numFrames, image };
    const { image: handle } = await this.call((client, model) => client.request({ ...base, model }, signal ? { signal } : {}));
    this.images.set(handle, { ...base, model: this.currentInfo.model });
    return handle;
  }

  /** The initial latent for a seed, drawn by the worker's torch generator exactly as the pipeline draws it (with `image`, the one `encodeImage` prepared). */
  async prepareLatents(seed: number, size: LatentSize, signal?: AbortSignal, image?: string): Promise<Tensor<Float32Array>> {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidInputError(`The seed must be a non-negative integer, not ${seed}.`);
    const { latents } = await this.call((client, model) =>
      client.request(
        { op: "prepareLatents", model, seed, height: size.height, width: size.width, numFrames: size.numFrames, ...(image !== undefined ? { image: this.cond(image) } : {}) },
        signal ? { signal } : {},
      ),
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
    const shape = [items.length, ...rest];
    // The wire dtype is the model's (bf16 latents for a bf16 model); conversion happens here, at the edge.
    const wire = this.info.wireDtype;
    const x = wire === "float32" ? float32Tensor(stacked, shape) : { dtype: wire, shape, data: toHalf(wire, stacked) };
    const { out } = await this.call((client, model) =>
      client.request(
        { op: "denoise", model, items: items.map(({ cond, t, branch, image }) => ({ cond: this.cond(cond), t, branch, ...(image !== undefined ? { image: this.cond(image) } : {}) })), x },
        signal ? { signal } : {},
      ),
    );
    const data = out.data; // the codec widened a bf16/fp16 output to float32
    if (data.length !== n * items.length) throw new InvalidInputError(`The worker returned ${data.length} values for ${items.length} items of ${n}; this is a worker bug, report it.`);
    return items.map((_, i) => data.subarray(i * n, (i + 1) * n));
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
    const latents = float32Tensor(latent, shape);
    const { video } = await this.call((client, model) => client.request({ op: "decode", model, latents }, signal ? { signal } : {}));
    return video;
  }

  async encodeMedia(video: Tensor<Uint8Array>, signal?: AbortSignal): Promise<Tensor<Float32Array>> {
    const { latents } = await this.call((client, model) => client.request({ op: "encodeMedia", model, video }, signal ? { signal } : {}));
    this.rememberShape(latents.shape);
    return latents;
  }

  /** Probes for policies (TeaCache's time embedding), asked once per schedule. */
  get probes(): ModelProbes {
    return {
      timeEmbedding: async (timesteps) => {
        const { emb } = await this.call((client, model) => client.request({ op: "timeEmbedding", model, timesteps }));
        const d = emb.shape[1] ?? 0;
        return timesteps.map((_, i) => emb.data.slice(i * d, (i + 1) * d));
      },
    };
  }

  /**
   * Give back handles from `encodePrompt` (one use each; a handle is kept for reuse while the cache
   * has room) or any other worker handle. Returns how many the worker released.
   */
  async release(handles: readonly string[]): Promise<number> {
    const drop: string[] = [];
    for (const h of handles) {
      if (this.images.delete(h)) {
        drop.push(h);
        continue;
      }
      const key = this.promptKeys.get(h);
      const entry = key !== undefined ? this.prompts.get(key) : undefined;
      if (entry === undefined) {
        drop.push(h);
        continue;
      }
      entry.users = Math.max(0, entry.users - 1);
    }
    let idle = 0;
    for (const entry of this.prompts.values()) if (entry.users === 0) idle++;
    for (const [key, entry] of this.prompts) {
      if (idle <= this.promptCache) break;
      if (entry.users > 0) continue;
      this.prompts.delete(key);
      idle--;
      const h = await entry.handle.catch(() => undefined);
      if (h !== undefined) {
        this.promptKeys.delete(h);
        drop.push(h);
      }
    }
    if (drop.length === 0) return 0;
    const current = drop.map((h) => this.cond(h));
    for (const h of drop) this.aliases.delete(h);
    try {
      const { released } = await this.currentClient.request({ op: "release", handles: current });
      return released;
    } catch (error) {
      if (isWorkerDied(error)) return 0; // the handles died with the worker; nothing to restart for
      throw error;
    }
  }
}
