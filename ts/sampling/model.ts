/**
 * A model loaded in a worker: the denoiser the loop drives (one `denoise` message per computed step,
 * carrying every branch), prompt encoding, initial latents, decoding, and the scheduler built from the
 * pipeline's own diffusers scheduler config. Its requests go through a `RecoveringClient`, so a worker
 * that dies is replaced behind it; its prompt handles are counted and cached by `PromptHandles`, its
 * conditioning images kept for a restart by `ImageHandles`.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidInputError } from "../errors.js";
import type { ModelProbes } from "../policies/types.js";
import { createScheduler } from "../schedulers/index.js";
import type { Scheduler, SetTimestepsOptions } from "../schedulers/types.js";
import { modelIdentity } from "../sensitivity/identity.js";
import type { WorkerLike } from "../worker/client.js";
import type { LoadExpert, LoadGeometry, LoadResult, RequestOf } from "../worker/ops.js";
import { float32Tensor, type Tensor } from "../worker/tensors.js";
import { toHalf } from "../worker/half.js";
import { RecoveringClient, type RecoveryOptions } from "../worker/recovering.js";
import { isWorkerDied } from "../worker/supervisor.js";
import { latentShapeOf, readFolderGeometry } from "./geometry.js";
import { ImageHandles } from "./images.js";
import { PromptHandles } from "./prompts.js";
import type { Denoiser, DenoiseItem } from "./types.js";

export type { RestartEvent } from "../worker/recovering.js";

export interface LoadOptions extends RecoveryOptions {
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
  /** Prompt handles kept for reuse after their last user released them (default 16; 0: release at once). */
  readonly promptCache?: number;
}

export interface LatentSize {
  readonly height: number;
  readonly width: number;
  readonly numFrames: number;
}

const LOAD_TIMEOUT_MS = 600_000;

export class Model implements Denoiser {
  readonly source: string;
  private currentInfo: LoadResult;
  private readonly remote: RecoveringClient;
  private readonly prompts: PromptHandles;
  private identityCache: string | undefined;
  private readonly images = new ImageHandles();

  private constructor(client: WorkerLike, source: string, info: LoadResult, loadRequest: RequestOf<"load">, options: LoadOptions) {
    this.source = source;
    this.currentInfo = info;
    this.prompts = new PromptHandles(
      (text, maxSequenceLength, signal) => this.call((c, model) => encode(c, model, text, maxSequenceLength, signal)),
      options.promptCache,
    );
    this.remote = new RecoveringClient(
      client,
      async (fresh) => {
        // The model again, then every prompt and image handle still in use; all become current together.
        const reloaded = await fresh.request(loadRequest, { timeoutMs: LOAD_TIMEOUT_MS });
        const commit = await this.prompts.reencode((text, maxSequenceLength) => encode(fresh, reloaded.model, text, maxSequenceLength));
        const commitImages = await this.images.resend(fresh, reloaded.model);
        this.currentInfo = reloaded;
        commitImages();
        commit();
      },
      options,
    );
  }

  /** Load a diffusers pipeline in the worker with `from_pretrained` (a model id or a local path). */
  static async load(client: WorkerLike, source: string, options: LoadOptions = {}): Promise<Model> {
    // A local folder is resolved here, against the caller's working directory (the worker runs elsewhere).
    if (existsSync(source)) source = resolve(source);
    const request: RequestOf<"load"> = {
      op: "load",
      source,
      ...(options.dtype ? { dtype: options.dtype } : {}),
      ...(options.family ? { family: options.family } : {}),
      ...(options.offload ? { offload: options.offload } : {}),
      ...(options.vaeTiling !== undefined ? { vaeTiling: options.vaeTiling } : {}),
      ...(options.vaeSlicing !== undefined ? { vaeSlicing: options.vaeSlicing } : {}),
      ...(options.wireDtype ? { wireDtype: options.wireDtype } : {}),
    };
    const info = await client.request(request, { timeoutMs: LOAD_TIMEOUT_MS, ...(options.signal ? { signal: options.signal } : {}) });
    return new Model(client, source, info, request, options);
  }

  /** See `modelIdentity`: what profiles record as the model they are valid for. */
  get identity(): string {
    this.identityCache ??= modelIdentity(this.source);
    return this.identityCache;
  }

  /** The client of the worker the model lives in now (a new one after a restart). */
  get client(): WorkerLike {
    return this.remote.client;
  }

  get info(): LoadResult {
    return this.currentInfo;
  }

  /** The current worker's handle for a prompt or image handle given out before a restart. */
  private cond(handle: string): string {
    return this.images.alias(handle) ?? this.prompts.current(handle);
  }

  get handle(): string {
    return this.info.model;
  }

  get family(): string {
    return this.info.family;
  }

  /** How many prompts were sent to the worker's text encoder (cache misses). */
  get promptEncodes(): number {
    return this.prompts.encodes;
  }

  /** How many times a dead worker was replaced for this model. */
  get restarts(): number {
    return this.remote.restarts;
  }

  /** A request to the model's worker, retried on a fresh worker when that one died. */
  private call<R>(send: (client: WorkerLike, model: string) => Promise<R>): Promise<R> {
    return this.remote.call((client) => send(client, this.currentInfo.model));
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
    return latentShapeOf(this.info, this.geometry, size);
  }

  /** A handle for the prompt's embedding in the worker (shared with other users of the same text); `release` it after use. */
  encodePrompt(text: string, options: { maxSequenceLength?: number; signal?: AbortSignal } = {}): Promise<string> {
    return this.prompts.acquire(text, options.maxSequenceLength ?? this.info.defaults.maxSequenceLength, options.signal);
  }

  /**
   * Image-to-video: send one sample's conditioning image [H, W, 3] (any size; the pipeline resizes it) to
   * the worker once. The worker prepares it as the pipeline does for this seed and size (the VAE encode
   * may draw from the seed's generator); pass the handle to `prepareLatents` and on every denoise item,
   * and `release` it after the sample. Nothing image-related travels on a denoise step.
   */
  async encodeImage(image: Tensor<Uint8Array>, seed: number, size: LatentSize, signal?: AbortSignal): Promise<string> {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidInputError(`The seed must be a non-negative integer, not ${seed}.`);
    if (image.shape.length !== 3 || image.shape[2] !== 3) throw new InvalidInputError(
      `The conditioning image must be [H, W, 3] uint8, not [${image.shape.join(", ")}].`,
    );
    const base = { op: "encodeImage" as const, seed, height: size.height, width: size.width, numFrames: size.numFrames, image };
    const { image: handle } = await this.call((client, model) => client.request({ ...base, model }, signal ? { signal } : {}));
    this.images.add(handle, { ...base, model: this.currentInfo.model });
    return handle;
  }

  /** The initial latent for a seed, drawn by the worker's torch generator exactly as the pipeline draws it (with `image`, the one `encodeImage` prepared). */
  async prepareLatents(seed: number, size: LatentSize, signal?: AbortSignal, image?: string): Promise<Tensor<Float32Array>> {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidInputError(`The seed must be a non-negative integer, not ${seed}.`);
    const { latents } = await this.call((client, model) =>
      client.request(
        {
          op: "prepareLatents",
          model,
          seed,
          height: size.height,
          width: size.width,
          numFrames: size.numFrames,
          ...(image !== undefined ? { image: this.cond(image) } : {}),
        },
        signal ? { signal } : {},
      ),
    );
    return latents;
  }

  /** A denoise item as the wire carries it (current handles; image and fps only when set). */
  private wireItem({ cond, t, branch, image, fps }: DenoiseItem): RequestOf<"denoise">["items"][number] {
    return { cond: this.cond(cond), t, branch, ...(image !== undefined ? { image: this.cond(image) } : {}), ...(fps !== undefined ? { fps } : {}) };
  }

  /** One forward for all items; each item carries its latent's shape, and all items of one call share it. */
  async denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    const first = items[0];
    if (!first) return [];
    const [, ...rest] = first.shape;
    const n = first.x.length;
    const stacked = new Float32Array(n * items.length);
    items.forEach((item, i) => {
      if (item.x.length !== n || item.shape.length !== first.shape.length || item.shape.some((d, j) => d !== first.shape[j])) {
        throw new InvalidInputError("All items of one denoise call must have latents of the same shape.");
      }
      stacked.set(item.x, i * n);
    });
    const shape = [items.length, ...rest];
    // The wire dtype is the model's (bf16 latents for a bf16 model); conversion happens here, at the edge.
    const wire = this.info.wireDtype;
    const x = wire === "float32" ? float32Tensor(stacked, shape) : { dtype: wire, shape, data: toHalf(wire, stacked) };
    const { out } = await this.call((client, model) =>
      client.request(
        { op: "denoise", model, items: items.map((it) => this.wireItem(it)), x },
        signal ? { signal } : {},
      ),
    );
    const data = out.data; // the codec widened a bf16/fp16 output to float32
    if (data.length !== n * items.length) throw new InvalidInputError(
      `The worker returned ${data.length} values for ${items.length} items of ${n}; this is a worker bug, report it.`,
    );
    return items.map((_, i) => data.subarray(i * n, (i + 1) * n));
  }

  async decode(latent: Float32Array, shape: readonly number[], signal?: AbortSignal): Promise<Tensor<Uint8Array>> {
    const latents = float32Tensor(latent, shape);
    const { video } = await this.call((client, model) => client.request({ op: "decode", model, latents }, signal ? { signal } : {}));
    return video;
  }

  async encodeMedia(video: Tensor<Uint8Array>, signal?: AbortSignal): Promise<Tensor<Float32Array>> {
    const { latents } = await this.call((client, model) => client.request({ op: "encodeMedia", model, video }, signal ? { signal } : {}));
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
    const images = this.images.take(handles);
    const drop = [...images.map((h) => this.cond(h)), ...(await this.prompts.release(handles.filter((h) => !images.includes(h))))];
    this.images.unalias(images);
    if (drop.length === 0) return 0;
    try {
      const { released } = await this.remote.client.request({ op: "release", handles: drop });
      return released;
    } catch (error) {
      if (isWorkerDied(error)) return 0; // the handles died with the worker; nothing to restart for
      throw error;
    }
  }
}

function encode(client: WorkerLike, model: string, text: string, maxSequenceLength: number | undefined, signal?: AbortSignal): Promise<string> {
  const request: RequestOf<"encodePrompt"> = { op: "encodePrompt", model, text, ...(maxSequenceLength !== undefined ? { maxSequenceLength } : {}) };
  return client.request(request, signal ? { signal } : {}).then((r) => r.cond);
}
