/**
 * MagCache calibration (MagCache, Ma et al., NeurIPS 2025): `calibrateMagcache` measures the per-step
 * magnitude ratios ‖out_k‖/‖out_{k−1}‖ per CFG branch over N uncached generations, recording the
 * outputs' norms through a wrapping Denoiser.
 */
import { l2Norm } from "../math.js";
import { expertSpans, expertsOfModel } from "../sampling/experts.js";
import { pipelineTimestepOptions } from "../sampling/family.js";
import { sample } from "../sampling/loop.js";
import type { Model } from "../sampling/model.js";
import type { Denoiser, DenoiseItem } from "../sampling/types.js";
import { schedulerIdentity } from "../schedulers/identity.js";
import { calibrationImages, checkAbort, DEFAULT_CALIBRATION_PROMPTS, runShape, validityOf, type CalibrateOptions } from "./calibrate-inputs.js";
import { MAGCACHE_RATIOS_FORMAT, magnitudeRatios, withExpertRatios, type MagcacheRatiosFile } from "./magcache-ratios.js";

/** A Denoiser that forwards to another and records the norm of every output per branch. */
export class RecordingDenoiser implements Denoiser {
  /** ‖out‖₂ per branch, in call order. */
  readonly norms: { cond: number[]; uncond: number[] } = { cond: [], uncond: [] };
  constructor(private readonly inner: Denoiser) {}

  async denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    const outs = await this.inner.denoise(items, signal);
    items.forEach((item, i) => {
      this.norms[item.branch].push(l2Norm(outs[i]!));
    });
    return outs;
  }
}

export interface MagcacheCalibrateOptions extends Omit<CalibrateOptions, "media" | "maxItemsPerMessage" | "maxMessageBytes"> {
  // `images`: image-to-video models' conditioning images, one per sample (cycled), as in calibrate.
  readonly negativePrompt?: string;
}

export interface MagcacheCalibrationResult {
  readonly ratios: MagcacheRatiosFile;
  readonly report: { readonly samples: number; readonly steps: number; readonly denoiseItems: number; readonly wallMs: number };
}

/**
 * Measure MagCache ratios: N uncached generations (cond + uncond branches when the guidance is > 1),
 * outputs recorded per step, γ per branch via `magnitudeRatios` (over the output norms, which is all
 * the ratio needs, so no output tensor is kept).
 */
export async function calibrateMagcache(model: Model, options: MagcacheCalibrateOptions = {}): Promise<MagcacheCalibrationResult> {
  const started = performance.now();
  const { N, T, size, latentShape } = runShape(model, options);
  const seed = options.seed ?? 0;
  const signal = options.signal;
  const guidanceScale = options.guidanceScale ?? model.info.defaults.guidanceScale;
  const prompts = options.prompts !== undefined && options.prompts.length > 0 ? options.prompts : DEFAULT_CALIBRATION_PROMPTS;
  const guided = guidanceScale > 1;
  const images = calibrationImages(model, options.images);
  const cond: Float32Array[][] = [];
  const uncond: Float32Array[][] = [];
  let items = 0;
  let completed = 0;
  for (let s = 0; s < N; s++) {
    checkAbort(signal, `before sample ${s + 1} of ${N}`);
    const c = await model.encodePrompt(prompts[s % prompts.length]!, signal ? { signal } : {});
    const u = guided ? await model.encodePrompt(options.negativePrompt ?? "", signal ? { signal } : {}) : undefined;
    const image = images.length > 0 ? await model.encodeImage(images[s % images.length]!, seed + s, size, signal) : undefined;
    try {
      const initial = await model.prepareLatents(seed + s, size, signal, image);
      const recorder = new RecordingDenoiser(model);
      const result = await sample({
        denoiser: recorder,
        scheduler: model.scheduler(T, { ...pipelineTimestepOptions(model.info, T, latentShape), ...(options.schedulerOptions ?? {}) }),
        latent: initial.data,
        latentShape,
        cond: c,
        ...(u !== undefined ? { uncond: u } : {}),
        guidanceScale,
        ...(image !== undefined ? { image } : {}),
        model: { family: model.family, source: model.identity },
        schedulerIdentity: schedulerIdentity(model.info.scheduler),
        experts: expertsOfModel(model),
        onStep: () => {
          completed++;
          options.onProgress?.({ phase: "generate", sample: s, samples: N, completed, total: N * T });
        },
        ...(signal ? { signal } : {}),
      });
      items += result.summary.denoiseItems;
      cond.push(recorder.norms.cond.map((n) => Float32Array.of(n)));
      if (guided) uncond.push(recorder.norms.uncond.map((n) => Float32Array.of(n)));
    } finally {
      await model.release([c, ...(u !== undefined ? [u] : []), ...(image !== undefined ? [image] : [])]).catch(() => undefined);
    }
  }
  const c = magnitudeRatios(cond);
  const u = guided ? magnitudeRatios(uncond) : undefined;
  const whole: MagcacheRatiosFile = {
    format: MAGCACHE_RATIOS_FORMAT,
    version: 1,
    validFor: validityOf(model, T, latentShape),
    steps: T,
    ratios: c.ratios,
    ...(u !== undefined ? { uncondRatios: u.ratios } : {}),
    std: c.std,
    ...(u !== undefined ? { uncondStd: u.std } : {}),
    samples: N,
    createdAt: new Date().toISOString(),
  };
  // Per-expert sections for a model with several experts (the ratio across a switch is padding).
  const experts = expertsOfModel(model);
  const ratios = experts.length > 1 ? withExpertRatios(whole, expertSpans(experts, model.scheduler(T, options.schedulerOptions ?? {}).timesteps)) : whole;
  return { ratios, report: { samples: N, steps: T, denoiseItems: items, wallMs: performance.now() - started } };
}
