/**
 * The sampling loop for one sample: classifier-free guidance with one cached output per branch, a
 * cache-policy hook, per-step events and a run summary. A reused step sends nothing anywhere. The
 * same loop as a stream of events is `stream.ts`.
 */
import { AbortError, InvalidInputError, SencacheError } from "../errors.js";
import { createNonePolicy } from "../policies/none.js";
import type { CachePolicy, ComputedStep, DecideContext, Expert, ModelProbes, RunInfo } from "../policies/types.js";
import type { NoiseSource, Scheduler } from "../schedulers/types.js";
import { expertSpans, singleExpert, spanOfStep } from "./experts.js";
import type { Denoiser, DenoiseItem, ExpertSwitch, RunSummary, StepEvent } from "./types.js";

export interface SampleOptions {
  readonly denoiser: Denoiser;
  readonly scheduler: Scheduler;
  /** The initial latent x_T as the pipeline prepares it (already scaled by init_noise_sigma). */
  readonly latent: Float32Array;
  readonly latentShape: readonly number[];
  /** Condition handle of the prompt. */
  readonly cond: string;
  /** Condition handle of the negative prompt; required when guidanceScale > 1. */
  readonly uncond?: string;
  /** Classifier-free guidance scale; guidance runs when it is > 1 (as the diffusers pipelines decide). */
  readonly guidanceScale?: number;
  /**
   * The guidance scale of each step when it is not one number: Wan 2.2's `guidance_scale_2` on the
   * low-noise expert's steps, CogVideoX's dynamic CFG. Guidance runs (both branches) iff
   * `guidanceScale` > 1, as the pipelines decide; this only changes the scale applied.
   */
  readonly guidanceAt?: (step: number, t: number, expert: string) => number;
  /** Image-to-video: the sample's image handle, sent on every denoise item. */
  readonly image?: string;
  /** LTX-Video: the frame rate of the RoPE scale, sent on every denoise item (default: the model's). */
  readonly fps?: number;
  readonly policy?: CachePolicy;
  /** Model probes a policy may ask for once per schedule (TeaCache's time embedding). */
  readonly probes?: ModelProbes;
  readonly model?: { readonly family: string; readonly source: string };
  /** Which scheduler config this run uses (sensitivity profiles are checked against it). */
  readonly schedulerIdentity?: { readonly className: string; readonly configHash: string };
  /** Where policies report one-line notes (a resampled profile, …). */
  readonly log?: (message: string) => void;
  /**
   * The model's experts (the load result's `experts`; default one covering every timestep). At the
   * first step of each expert after the first, the loop forgets the cached outputs, resets and
   * re-prepares the policy and computes the step: nothing is reused across an expert boundary.
   */
  readonly experts?: readonly Expert[];
  /** Noise for stochastic schedulers. */
  readonly noise?: NoiseSource;
  readonly onStep?: (event: StepEvent) => void;
  readonly signal?: AbortSignal;
}

export interface SampleResult {
  readonly latent: Float32Array;
  readonly summary: RunSummary;
}

const noProbes: ModelProbes = {
  timeEmbedding: () => Promise.reject(
    new InvalidInputError("This denoiser offers no time-embedding probe; pick a policy that does not need one, or run through a worker-backed model."),
  ),
};

/** `uncond + g·(cond − uncond)`, in float32 as the pipelines compute it. */
export function guide(cond: Float32Array, uncond: Float32Array, scale: number): Float32Array {
  const out = new Float32Array(cond.length);
  const g = Math.fround(scale);
  for (let i = 0; i < out.length; i++) {
    const u = uncond[i] as number;
    out[i] = u + Math.fround(g * Math.fround((cond[i] as number) - u));
  }
  return out;
}

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

export function sample(options: SampleOptions): Promise<SampleResult> {
  return runLoop(options, undefined);
}

export /** The loop; `beforeStep` (the stream's back-pressure, `stream.ts`) is awaited before each step. */
async function runLoop(options: SampleOptions, beforeStep: (() => Promise<void>) | undefined): Promise<SampleResult> {
  const { denoiser, scheduler, latentShape, cond, signal } = options;
  const guidanceScale = options.guidanceScale ?? 1;
  const useGuidance = guidanceScale > 1;
  if (useGuidance && options.uncond === undefined) {
    throw new InvalidInputError(`Guidance scale ${guidanceScale} needs a negative-prompt condition (uncond); pass one, or use a guidance scale of 1.`);
  }
  const numElements = latentShape.reduce((a, b) => a * b, 1);
  if (options.latent.length !== numElements) {
    throw new InvalidInputError(
      `The initial latent has ${options.latent.length} values but the shape [${latentShape.join(", ")}] needs ${numElements}; pass the latent the model ` +
        `prepared.`,
    );
  }
  const bad = firstNonFinite(options.latent);
  if (bad >= 0) throw new InvalidInputError(`The initial latent holds a non-finite value at index ${bad}; pass a finite latent.`);

  const policy = options.policy ?? createNonePolicy(); // without a policy every step is computed
  const totalSteps = scheduler.numInferenceSteps;
  const timesteps = scheduler.timesteps;
  const sigmas = scheduler.sigmas;
  const branches = useGuidance ? 2 : 1;
  const spans = expertSpans(options.experts ?? singleExpert(timesteps), timesteps);
  const spanAt = spanOfStep(spans, totalSteps);
  policy.reset();
  scheduler.reset();
  const run: RunInfo = {
    totalSteps,
    timesteps,
    sigmas,
    latentShape,
    numElements,
    guidance: useGuidance,
    model: options.model ?? { family: "unknown", source: "unknown" },
    probes: options.probes ?? noProbes,
    ...(options.schedulerIdentity ? { scheduler: options.schedulerIdentity } : {}),
    ...(options.log ? { log: options.log } : {}),
    experts: spans,
    ...(spans[0] ? { expert: spans[0] } : {}),
  };
  await policy.prepare?.(run);

  const started = performance.now();
  let x = options.latent;
  let last: ComputedStep | undefined;
  let previous: ComputedStep | undefined;
  let streak = 0;
  let nfe = 0;
  const computedSteps: number[] = [];
  const reusedSteps: number[] = [];
  const forced: string[] = [];
  const switches: ExpertSwitch[] = [];
  const nfeBySpan = spans.map(() => 0);

  for (let i = 0; i < totalSteps; i++) {
    if (beforeStep) await beforeStep();
    if (signal?.aborted) throw new AbortError(`Sampling was aborted at step ${i} of ${totalSteps}.`);
    const t = timesteps[i] as number;
    const sigma = sigmas[i] as number;
    const span = spanAt[i]!;
    if (span.index > 0 && span.firstStep === i) {
      // A new expert: a different model. Nothing it did not compute may be reused on its steps.
      const from = spans[span.index - 1]!;
      switches.push({ step: i, t, from: from.name, to: span.name });
      last = undefined;
      previous = undefined;
      streak = 0;
      policy.reset();
      await policy.prepare?.({ ...run, expert: span });
    }
    const context: DecideContext = {
      step: i,
      totalSteps,
      t,
      sigma,
      sigmaNext: sigmas[i + 1] ?? 0,
      timesteps,
      sigmas,
      latent: x,
      numElements,
      reuseStreak: streak,
      ...(last ? { last } : {}),
      ...(previous ? { previous } : {}),
      expert: span,
    };
    let decision = policy.decide(context);
    if (decision.action === "reuse" && !last) {
      const newExpert = span.index > 0 && span.firstStep === i;
      forced.push(
        newExpert
          ? `policy "${policy.id}" asked to reuse at step ${i}, the first step of expert "${span.name}"; ` +
              "the step was computed (no output is reused across an expert boundary)"
          : `policy "${policy.id}" asked to reuse at step ${i} with nothing computed yet; the step was computed`,
      );
      decision = { action: "compute", reason: newExpert ? `first step of expert ${span.name}` : "nothing cached yet" };
    }
    let outputs: readonly Float32Array[];
    if (decision.action === "compute") {
      const input = scheduler.scaleModelInput(x, i);
      const image = { ...(options.image !== undefined ? { image: options.image } : {}), ...(options.fps !== undefined ? { fps: options.fps } : {}) };
      const items: DenoiseItem[] = [{ cond, branch: "cond", t, x: input, shape: latentShape, ...image }];
      if (useGuidance) items.push({ cond: options.uncond as string, branch: "uncond", t, x: input, shape: latentShape, ...image });
      outputs = await denoiser.denoise(items, signal);
      if (outputs.length !== items.length || outputs.some((o) => o.length !== numElements)) {
        throw new InvalidInputError(
          `The denoiser returned ${outputs.length} outputs of the wrong size at step ${i}; it must return one output of ${numElements} values per item.`,
        );
      }
      for (const out of outputs) {
        const at = firstNonFinite(out);
        if (at >= 0) throw new SencacheError(
          "non_finite_output",
          `The model produced a non-finite value at step ${i} (t = ${t}, index ${at}); check the model weights, dtype and inputs.`,
        );
      }
      const computed: ComputedStep = { step: i, t, sigma, latent: x, outputs };
      previous = last;
      last = computed;
      policy.observe?.(computed);
      streak = 0;
      nfe++;
      nfeBySpan[span.index]!++;
      computedSteps.push(i);
    } else {
      outputs = decision.outputs ?? (last as ComputedStep).outputs;
      streak++;
      reusedSteps.push(i);
    }
    const scale = options.guidanceAt ? options.guidanceAt(i, t, span.name) : guidanceScale;
    const prediction = useGuidance ? guide(outputs[0] as Float32Array, outputs[1] as Float32Array, scale) : (outputs[0] as Float32Array);
    x = scheduler.step(prediction, i, x, options.noise);
    options.onStep?.({
      type: "step",
      step: i,
      totalSteps,
      t,
      sigma,
      action: decision.action,
      ...(decision.score !== undefined ? { score: decision.score } : {}),
      ...(decision.threshold !== undefined ? { threshold: decision.threshold } : {}),
      ...(decision.reason !== undefined ? { reason: decision.reason } : {}),
      reuseStreak: streak,
      nfe,
      ...(spans.length > 1 ? { expert: span.name } : {}),
      elapsedMs: performance.now() - started,
    });
  }
  const summary: RunSummary = {
    totalSteps,
    nfe,
    denoiseItems: nfe * branches,
    computedSteps,
    reusedSteps,
    speedup: nfe > 0 ? totalSteps / nfe : Number.POSITIVE_INFINITY,
    wallMs: performance.now() - started,
    policy: policy.id,
    diagnostics: [...forced, ...(policy.diagnostics?.() ?? [])],
    experts: spans.map((s) => ({ name: s.name, firstStep: s.firstStep, lastStep: s.lastStep, nfe: nfeBySpan[s.index]! })),
    expertSwitches: switches,
  };
  return { latent: x, summary };
}
