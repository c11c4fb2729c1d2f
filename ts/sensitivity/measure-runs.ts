/**
 * The runs the propagation measurement and the static search are made of: P samples (prompt s, seed + s,
 * the model's guidance, the conditioning image of an image-to-video model) set up once, each run
 * uncached or under a cache policy, optionally recording the guided output of every step, with at most
 * `concurrency` runs in flight.
 */
import { AbortError } from "../errors.js";
import type { CachePolicy } from "../policies/types.js";
import { pipelineTimestepOptions } from "../sampling/family.js";
import { guide, sample } from "../sampling/loop.js";
import type { LatentSize, Model } from "../sampling/model.js";
import type { Denoiser, DenoiseItem } from "../sampling/types.js";
import { schedulerIdentity } from "../schedulers/identity.js";
import { SeededNoiseSource } from "../schedulers/noise.js";
import type { SetTimestepsOptions } from "../schedulers/types.js";
import { DEFAULT_CALIBRATION_PROMPTS, calibrationImages } from "./calibrate-inputs.js";
import type { PropagationOptions } from "./propagation.js";

/** Guided outputs of every step of an uncached run (recorded by wrapping the denoiser). */
class OutputRecorder implements Denoiser {
  readonly outputs: Float32Array[] = [];
  readonly inputs: Float32Array[] = [];
  constructor(private readonly inner: Denoiser, private readonly scale: number) {}
  async denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    const outs = await this.inner.denoise(items, signal);
    this.inputs.push(items[0]!.x);
    this.outputs.push(outs.length > 1 && this.scale > 1 ? guide(outs[0]!, outs[1]!, this.scale) : outs[0]!);
    return outs;
  }
}

interface SampleRun {
  readonly cond: string;
  readonly uncond?: string;
  readonly latent: Float32Array;
  readonly seed: number;
  readonly image?: string;
}

/** The set-up both measurements share: conditions, initial latents, a cached-run helper. */
export class Runs {
  readonly T: number;
  readonly guidance: number;
  readonly latentShape: number[];
  readonly timesteps: number[];
  readonly sigmas: number[];
  readonly samples: SampleRun[] = [];
  steps = 0;
  readonly #handles: string[] = [];
  readonly #model: Model;
  readonly #o: PropagationOptions;

  constructor(model: Model, o: PropagationOptions, T: number) {
    this.#model = model;
    this.#o = o;
    this.T = T;
    this.guidance = o.guidanceScale ?? model.info.defaults.guidanceScale;
    const d = model.info.defaults;
    const size: LatentSize = { height: o.height ?? d.height, width: o.width ?? d.width, numFrames: o.numFrames ?? d.numFrames };
    this.size = size;
    this.latentShape = model.latentShape(size);
    // The pipeline's own set_timesteps arguments (LTX-Video's linspace sigmas and mu), as generate uses.
    this.schedulerOptions = { ...pipelineTimestepOptions(model.info, T, this.latentShape), ...(o.schedulerOptions ?? {}) };
    const sch = model.scheduler(T, this.schedulerOptions);
    this.timesteps = Array.from(sch.timesteps);
    this.sigmas = Array.from(sch.sigmas);
  }
  readonly size: LatentSize;
  readonly schedulerOptions: SetTimestepsOptions;

  async init(P: number): Promise<void> {
    const prompts = this.#o.prompts !== undefined && this.#o.prompts.length > 0 ? this.#o.prompts : DEFAULT_CALIBRATION_PROMPTS;
    const seed = this.#o.seed ?? 0;
    const signal = this.#o.signal;
    const uncond = this.guidance > 1 ? await this.#model.encodePrompt(this.#o.negativePrompt ?? "", signal ? { signal } : {}) : undefined;
    if (uncond !== undefined) this.#handles.push(uncond);
    const conds = new Map<string, string>();
    const images = calibrationImages(this.#model, this.#o.images);
    for (let s = 0; s < P; s++) {
      const prompt = prompts[s % prompts.length]!;
      let c = conds.get(prompt);
      if (c === undefined) {
        c = await this.#model.encodePrompt(prompt, signal ? { signal } : {});
        conds.set(prompt, c);
        this.#handles.push(c);
      }
      const image = images.length > 0 ? await this.#model.encodeImage(images[s % images.length]!, seed + s, this.size, signal) : undefined;
      if (image !== undefined) this.#handles.push(image);
      const initial = await this.#model.prepareLatents(seed + s, this.size, signal, image);
      const withImage = image !== undefined ? { image } : {};
      this.samples.push({ cond: c, ...(uncond !== undefined ? { uncond } : {}), latent: initial.data, seed: seed + s, ...withImage });
    }
  }

  async release(): Promise<void> {
    if (this.#handles.length > 0) await this.#model.release(this.#handles).catch(() => undefined);
  }

  /** One run of sample s with a policy (none = uncached); optionally recording the guided outputs. */
  async run(
    s: number,
    policy: CachePolicy | undefined,
    record = false,
  ): Promise<{ latent: Float32Array; outputs?: Float32Array[]; inputs?: Float32Array[]; nfe: number }> {
    if (this.#o.signal?.aborted) throw new AbortError("The measurement was aborted.");
    const smp = this.samples[s]!;
    const recorder = record ? new OutputRecorder(this.#model, this.guidance) : undefined;
    const sch = this.#model.info.scheduler;
    const result = await sample({
      denoiser: recorder ?? this.#model,
      scheduler: this.#model.scheduler(this.T, this.schedulerOptions),
      latent: smp.latent,
      latentShape: this.latentShape,
      cond: smp.cond,
      ...(smp.uncond !== undefined ? { uncond: smp.uncond } : {}),
      guidanceScale: this.guidance,
      ...(smp.image !== undefined ? { image: smp.image } : {}),
      ...(policy ? { policy } : {}),
      model: { family: this.#model.family, source: this.#model.identity },
      schedulerIdentity: schedulerIdentity(sch),
      noise: new SeededNoiseSource(smp.seed),
      ...(this.#o.signal ? { signal: this.#o.signal } : {}),
    });
    this.steps += result.summary.nfe;
    return { latent: result.latent, nfe: result.summary.nfe, ...(recorder ? { outputs: recorder.outputs, inputs: recorder.inputs } : {}) };
  }

  /** Run jobs with at most `concurrency` in flight. */
  async pool<R>(jobs: (() => Promise<R>)[]): Promise<R[]> {
    const out = new Array<R>(jobs.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.#o.concurrency ?? 4, jobs.length)) }, lane));
    return out;
  }
}
