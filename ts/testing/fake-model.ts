/**
 * A fake *model* for tests of code that calls `generate()` / `runMany()`: the `FakeDenoiser` behind
 * the same surface as a worker-backed `Model` (load info, prompt handles, seeded latents, decode),
 * with no worker and no Python. Deterministic: the same seed gives the same latent and video.
 *
 *     const model = new FakeModel();
 *     const result = await generate(model, { prompt: "a red square", seed: 0, policy, decode: true });
 */
import { InvalidInputError } from "../errors.js";
import type { GenerateModel } from "../sampling/generate.js";
import type { LatentSize } from "../sampling/model.js";
import type { DenoiseItem } from "../sampling/types.js";
import type { LoadResult } from "../worker/ops.js";
import type { Tensor } from "../worker/tensors.js";
import { FakeDenoiser, seededNormal } from "./fake-denoiser.js";

export interface FakeModelOptions {
  /** Default video size and sampling settings (the model's "defaults"). */
  readonly height?: number;
  readonly width?: number;
  readonly numFrames?: number;
  readonly steps?: number;
  readonly guidanceScale?: number;
  /** Latent channels and VAE factors (default 4, 8, 4: a Wan-like VAE in miniature). */
  readonly channels?: number;
  readonly spatialScale?: number;
  readonly temporalScale?: number;
  /** The diffusers scheduler the model "ships" (default FlowMatchEulerDiscreteScheduler, shift 3). */
  readonly scheduler?: LoadResult["scheduler"];
}

export class FakeModel implements GenerateModel {
  /** The denoiser behind the model: `calls` and `batches` show what ran. */
  readonly denoiser = new FakeDenoiser();
  readonly info: LoadResult;
  readonly identity = "fake:model";
  readonly family = "fake";
  /** Prompt handles given out and not yet released. */
  readonly handles = new Set<string>();
  private next = 0;

  constructor(options: FakeModelOptions = {}) {
    this.info = {
      model: "fake-model-1",
      family: "fake",
      pipelineClass: "FakePipeline",
      scheduler: options.scheduler ?? { className: "FlowMatchEulerDiscreteScheduler", config: { num_train_timesteps: 1000, shift: 3.0 } },
      latent: { channels: options.channels ?? 4, spatialScale: options.spatialScale ?? 8, temporalScale: options.temporalScale ?? 4 },
      defaults: {
        height: options.height ?? 32,
        width: options.width ?? 32,
        numFrames: options.numFrames ?? 5,
        guidanceScale: options.guidanceScale ?? 5,
        numInferenceSteps: options.steps ?? 10,
        fps: 8,
      },
      experts: [{ name: "transformer", tMin: 0, tMax: 1000 }],
      wireDtype: "float32",
    };
  }

  latentShape(size: LatentSize): number[] {
    const { channels, spatialScale: s, temporalScale: f } = this.info.latent;
    if (size.height % s || size.width % s || (size.numFrames - 1) % f || size.height < s || size.width < s || size.numFrames < 1) {
      throw new InvalidInputError(
        `The fake model takes heights and widths that are multiples of ${s} and ${f}k+1 frames, not ${size.height}x${size.width}, ${size.numFrames} frames.`,
      );
    }
    return [1, channels, (size.numFrames - 1) / f + 1, size.height / s, size.width / s];
  }

  async encodePrompt(text: string): Promise<string> {
    const handle = `cond-${++this.next}:${text}`;
    this.handles.add(handle);
    return handle;
  }

  async release(handles: readonly string[]): Promise<number> {
    let n = 0;
    for (const h of handles) if (this.handles.delete(h)) n++;
    return n;
  }

  async prepareLatents(seed: number, size: LatentSize): Promise<Tensor<Float32Array>> {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidInputError(`The seed must be a non-negative integer, not ${seed}.`);
    const shape = this.latentShape(size);
    return { dtype: "float32", shape, data: seededNormal(shape.reduce((a, b) => a * b, 1), seed) };
  }

  denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    // The condition handle carries the prompt text, so the fake's output depends on the prompt.
    return this.denoiser.denoise(items.map((it) => ({ ...it, cond: it.cond.slice(it.cond.indexOf(":") + 1) })), signal);
  }

  get probes(): GenerateModel["probes"] {
    return { timeEmbedding: (timesteps) => this.denoiser.timeEmbedding(timesteps) };
  }

  /** Frames [F, H, W, 3]: each latent value, scaled to bytes, fills its VAE block (channels 0-2 → RGB). */
  async decode(latent: Float32Array, shape: readonly number[]): Promise<Tensor<Uint8Array>> {
    const [, c = 1, lf = 1, lh = 1, lw = 1] = shape;
    const { spatialScale: s, temporalScale: f } = this.info.latent;
    const frames = (lf - 1) * f + 1;
    const height = lh * s;
    const width = lw * s;
    const data = new Uint8Array(frames * height * width * 3);
    for (let t = 0; t < frames; t++) {
      const lt = Math.min(lf - 1, Math.ceil(t / f));
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          for (let k = 0; k < 3; k++) {
            const v = latent[((Math.min(k, c - 1) * lf + lt) * lh + Math.floor(y / s)) * lw + Math.floor(x / s)] ?? 0;
            data[((t * height + y) * width + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(128 + 64 * v)));
          }
        }
      }
    }
    return { dtype: "uint8", shape: [frames, height, width, 3], data };
  }
}
