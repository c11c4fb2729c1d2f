/**
 * SenCache calibration through a worker-backed model (SenCache, Haghighi & Alahi, CVPR 2026, §3).
 *
 * `calibrate` estimates the SenCache sensitivity profile with ordinary full evaluations: for each of
 * N samples with a clean latent x0 (from the user's media, encoded by the worker's VAE, or from
 * uncached generations) and each scheduled timestep t_k, with fresh seeded noise ε:
 *
 *   x = (1 − σ_k)·x0 + σ_k·ε  (flow models; else the scheduler's addNoise)
 *   y = f(x, t_k)                                 conditional branch only
 *   x' = Euler step of x with y (flow; else one step of a fresh scheduler);  y' = f(x', t_k)
 *   y_next = f(x, t_{k+1})  (t after the last = 0)
 *   J_x = ‖y' − y‖ / ‖x' − x‖,  J_t = ‖y_next − y‖ / |t_{k+1} − t_k|,  averaged over samples.
 *
 * 3 evaluations per timestep per sample, sent in blocks: one `denoise` message with the y items of a
 * block of timesteps, then one with its y' and y_next items (≤ maxItemsPerMessage items each).
 * MagCache's calibration is `calibrate-magcache.ts`; the inputs both take, `calibrate-inputs.ts`.
 */
import { InvalidInputError } from "../errors.js";
import { firstFrame, loadMediaVideo } from "../media/read.js";
import { expertsOfModel } from "../sampling/experts.js";
import { pipelineTimestepOptions } from "../sampling/family.js";
import { generate } from "../sampling/generate.js";
import type { Model } from "../sampling/model.js";
import type { DenoiseItem } from "../sampling/types.js";
import { SeededNoiseSource } from "../schedulers/noise.js";
import { aggregateProfile, eulerStep, flowNoise, measure, nextTimestep, type SensitivityMeasurement } from "./calibrate-math.js";
import {
  calibrationImages,
  checkAbort,
  DEFAULT_CALIBRATION_PROMPTS,
  runShape,
  validityOf,
  type CalibrateOptions,
  type CalibrationProgress,
} from "./calibrate-inputs.js";
import { withExpertSections } from "./profile-experts.js";
import type { SensitivityProfile } from "./profile.js";

export interface CalibrationReport {
  readonly samples: number;
  readonly steps: number;
  readonly source: "media" | "generations";
  readonly latentShape: readonly number[];
  /** Items sent for the measurements (3·T·N) and for the uncached generations. */
  readonly denoiseItems: { readonly measure: number; readonly generate: number };
  /** Denoise messages sent for the measurements. */
  readonly denoiseMessages: number;
  /** Measurements dropped as non-finite, per timestep. */
  readonly dropped: readonly number[];
  readonly wallMs: number;
}

export interface CalibrationResult {
  readonly profile: SensitivityProfile;
  readonly report: CalibrationReport;
}

/**
 * The latent frames an image-to-video model holds at the image (LTX I2V, Wan 2.2 TI2V: the worker
 * returns a zero prediction there, so sampling never moves them): the frames of `out` that are zero.
 */
function heldFrames(out: Float32Array, shape: readonly number[]): number[] {
  const [, c = 1, f = 1, h = 1, w = 1] = shape;
  const held: number[] = [];
  for (let fi = 0; fi < f; fi++) {
    let zero = true;
    for (let ci = 0; ci < c && zero; ci++) {
      const base = (ci * f + fi) * h * w;
      for (let j = 0; j < h * w; j++) if (out[base + j] !== 0) { zero = false; break; }
    }
    if (zero) held.push(fi);
  }
  return held;
}

/** x with the frames `held` copied from `from` (both [1, C, F, H, W]). */
function holdFrames(x: Float32Array, from: Float32Array, held: readonly number[], shape: readonly number[]): Float32Array {
  if (held.length === 0) return x;
  const [, c = 1, f = 1, h = 1, w = 1] = shape;
  const out = x.slice();
  for (const fi of held) for (let ci = 0; ci < c; ci++) {
    const base = (ci * f + fi) * h * w;
    out.set(from.subarray(base, base + h * w), base);
  }
  return out;
}

export async function calibrate(model: Model, options: CalibrateOptions = {}): Promise<CalibrationResult> {
  const started = performance.now();
  const { N, T, size, latentShape } = runShape(model, options);
  const numel = latentShape.reduce((a, b) => a * b, 1);
  const seed = options.seed ?? 0;
  const signal = options.signal;
  const media = options.media ?? [];
  const fromMedia = media.length > 0;
  const prompts = options.prompts !== undefined && options.prompts.length > 0 ? options.prompts : fromMedia ? [""] : DEFAULT_CALIBRATION_PROMPTS;
  const images = calibrationImages(model, options.images, fromMedia);
  const i2v = model.info.imageToVideo === true;
  const schedule = model.scheduler(T, { ...pipelineTimestepOptions(model.info, T, latentShape), ...(options.schedulerOptions ?? {}) });
  const timesteps = Array.from(schedule.timesteps);
  const sigmas = Array.from(schedule.sigmas);
  const flow = schedule.predictionType === "flow_prediction";
  const maxItems = Math.max(1, Math.min(options.maxItemsPerMessage ?? 64, Math.floor((options.maxMessageBytes ?? 512 * 2 ** 20) / (4 * numel))));
  // A block of B timesteps sends B items, then 2B items.
  const block = Math.max(1, Math.min(T, Math.floor(maxItems / 2)));
  const total = N * T + (fromMedia ? 0 : N * T);
  let completed = 0;
  const progress = (phase: CalibrationProgress["phase"], s: number, units: number): void => {
    completed += units;
    options.onProgress?.({ phase, sample: s, samples: N, completed, total });
  };

  // Conditions, one per distinct prompt.
  const conds = new Map<string, string>();
  const condOf = async (prompt: string): Promise<string> => {
    let c = conds.get(prompt);
    if (c === undefined) {
      c = await model.encodePrompt(prompt, signal ? { signal } : {});
      conds.set(prompt, c);
    }
    return c;
  };

  const measurements: SensitivityMeasurement[][] = [];
  let measureItems = 0;
  let generateItems = 0;
  let messages = 0;
  const send = async (items: DenoiseItem[]): Promise<Float32Array[]> => {
    checkAbort(signal, "between denoise messages");
    messages++;
    measureItems += items.length;
    return model.denoise(items, signal);
  };

  const imageHandles: string[] = [];
  const heldSeen = new Set<number>();
  try {
    for (let s = 0; s < N; s++) {
      checkAbort(signal, `before sample ${s + 1} of ${N}`);
      const prompt = prompts[s % prompts.length]!;
      let x0: Float32Array;
      let image = images.length > 0 ? images[s % images.length] : undefined;
      if (fromMedia) {
        const video = await loadMediaVideo(model, media[s % media.length]!, size, signal);
        if (i2v && image === undefined) image = firstFrame(video);
        const latents = await model.encodeMedia(video, signal);
        if (latents.data.length !== numel || latents.shape.some((d, i) => d !== latentShape[i])) {
          throw new InvalidInputError(
            `The media "${media[s % media.length]}" encoded to latents [${latents.shape.join(", ")}] but the model's latent at this size is ` +
              `[${latentShape.join(", ")}]; pick a frame count the VAE accepts.`,
          );
        }
        x0 = latents.data;
        progress("encode", s, 0);
      } else {
        const gen = await generate(model, {
          prompt,
          seed: seed + s,
          steps: T,
          ...size,
          ...(image !== undefined ? { image } : {}),
          ...(options.guidanceScale !== undefined ? { guidanceScale: options.guidanceScale } : {}),
          ...(options.schedulerOptions ? { schedulerOptions: options.schedulerOptions } : {}),
          onStep: () => progress("generate", s, 1),
          ...(signal ? { signal } : {}),
        });
        generateItems += gen.summary.denoiseItems;
        x0 = gen.latent;
      }
      const cond = await condOf(prompt);
      // Image-to-video: every measurement item carries the sample's image handle. Frames the model holds
      // at the image (a zero prediction there) stay at the image latent, as in sampling: one probe finds them.
      let imageHandle: string | undefined;
      let held: number[] = [];
      let start: Float32Array | undefined;
      if (image !== undefined) {
        imageHandle = await model.encodeImage(image, seed + s, size, signal);
        imageHandles.push(imageHandle);
        start = (await model.prepareLatents(seed + s, size, signal, imageHandle)).data;
        const [probe] = await send([{ cond, branch: "cond", t: timesteps[0]!, x: start, shape: latentShape, image: imageHandle }]);
        held = heldFrames(probe!, latentShape);
        for (const f of held) heldSeen.add(f);
        x0 = holdFrames(x0, start, held, latentShape);
      }
      const noise = new SeededNoiseSource(seed * 1_000_003 + s);
      const perSample: SensitivityMeasurement[] = new Array<SensitivityMeasurement>(T);
      for (let k0 = 0; k0 < T; k0 += block) {
        const ks = Array.from({ length: Math.min(block, T - k0) }, (_, i) => k0 + i);
        const xs = ks.map((k) => {
          const eps = noise.normal(numel);
          return holdFrames(flow ? flowNoise(x0, eps, sigmas[k]!) : schedule.addNoise(x0, eps, k), x0, held, latentShape);
        });
        const input = (x: Float32Array, k: number): Float32Array => (flow ? x : schedule.scaleModelInput(x, k));
        const withImage = imageHandle !== undefined ? { image: imageHandle } : {};
        const item = (t: number, x: Float32Array): DenoiseItem => ({ cond, branch: "cond", t, x, shape: latentShape, ...withImage });
        const ys = await send(ks.map((k, i) => item(timesteps[k]!, input(xs[i]!, k))));
        const xPrimes = ks.map((k, i) => {
          if (flow) return holdFrames(eulerStep(ys[i]!, xs[i]!, sigmas[k]!, sigmas[k + 1] ?? 0), x0, held, latentShape);
          const fresh = model.scheduler(T, { ...pipelineTimestepOptions(model.info, T, latentShape), ...(options.schedulerOptions ?? {}) });
          return holdFrames(fresh.step(ys[i]!, k, xs[i]!, new SeededNoiseSource(seed * 1_000_003 + s + 7919 * (k + 1))), x0, held, latentShape);
        });
        const second = await send([
          ...ks.map((k, i) => item(timesteps[k]!, input(xPrimes[i]!, k))),
          ...ks.map((k, i) => item(nextTimestep(timesteps, k), input(xs[i]!, k))),
        ]);
        ks.forEach((k, i) => {
          perSample[k] = measure(ys[i]!, second[i]!, xs[i]!, xPrimes[i]!, second[ks.length + i]!, timesteps[k]!, nextTimestep(timesteps, k));
        });
        progress("measure", s, ks.length);
      }
      measurements.push(perSample);
    }
  } finally {
    const handles = [...conds.values(), ...imageHandles];
    if (handles.length > 0) await model.release(handles).catch(() => undefined);
  }
  const heldNote = heldSeen.size > 0 ? ` (latent frame ${[...heldSeen].sort((a, b) => a - b).join(", ")} held at the image)` : "";
  const conditioned = i2v ? `, conditioned on ${images.length > 0 ? `${images.length} image(s)` : "each clip's first frame"}${heldNote}` : "";
  const origin = `calibrated: ${N} samples from ${fromMedia ? `${media.length} media item(s)` : "uncached generations"}${conditioned}, seed ${seed}`;
  const aggregated = aggregateProfile(timesteps, measurements, validityOf(model, T, latentShape), origin);
  const dropped = aggregated.dropped;
  // A model with two experts gets one section per expert (two experts are two models for the policy).
  const profile = withExpertSections(aggregated.profile, expertsOfModel(model), timesteps);
  return {
    profile,
    report: {
      samples: N,
      steps: T,
      source: fromMedia ? "media" : "generations",
      latentShape,
      denoiseItems: { measure: measureItems, generate: generateItems },
      denoiseMessages: messages,
      dropped,
      wallMs: performance.now() - started,
    },
  };
}
