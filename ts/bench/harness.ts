/**
 * The quality-vs-speed benchmark harness: policies × settings × prompts × seeds on one model.
 *
 * For every clip (prompt, seed) the uncached reference (policy none) runs first — decoded video and
 * final latent — then every policy setting; each run is scored against the reference of the same
 * clip (`scoring.ts`): PSNR and SSIM on the decoded frames, PSNR of the final latent, LPIPS where its
 * weights are on this machine (never downloaded; else null with the reason in `lpips`).
 *
 * One untimed uncached run comes first (warm-up: first-call costs in torch and the worker).
 *
 * Wall time is the sampling loop's own clock (`summary.wallMs`: the denoising steps only, not
 * prompt encoding, latent preparation or decoding). How it is measured depends on `concurrency`:
 * - 1 (default): every run is alone on the worker. A clip's runs follow each other (reference
 *   first), so each setting's speed-up = the reference's wall / its wall, measured seconds apart.
 *   With `repeats` R > 1 each wall time is the median of R runs (R − 1 extra undecoded runs).
 * - > 1: the quality pass runs through runMany (the worker merges forwards, so those wall times
 *   are marked "concurrent" and not used). A separate serial timing pass then runs, on the first
 *   `timingClips` clips, the pair (reference, setting) for every setting without decoding, the
 *   R runs of each interleaved (ref, set, set, ref, …); those pairs give the speed-ups.
 */
import { cpus, totalmem, platform, release, arch } from "node:os";
import { InvalidInputError } from "../errors.js";
import { defaultPolicyRegistry, type PolicyRegistry } from "../policies/index.js";
import { generate, type GenerateOptions, type GenerateResult } from "../sampling/generate.js";
import type { Model } from "../sampling/model.js";
import { runMany, type RunRequest } from "../sampling/runner.js";
import { aggregate, type Aggregates, type Clip, type RunRecord } from "./aggregate.js";
import type { LpipsOptions, LpipsStatus } from "./lpips.js";
import { median } from "./metrics.js";
import { expandSettings, REFERENCE_LABEL, type BenchPlan, type PolicySetting } from "./plan.js";
import { OutputChangeRecorder, type OutputChangeCurve } from "./output-change.js";
import { scoreRuns, type Outcome } from "./scoring.js";
import type { Tensor } from "../worker/tensors.js";

export interface BenchProgress {
  /** Runs finished so far, out of `total` (quality and timing runs together). */
  readonly done: number;
  readonly total: number;
  readonly phase: "warmup" | "quality" | "timing";
  readonly setting: string;
  readonly clip: number;
  readonly nfe: number;
}

export interface BenchOptions {
  readonly onProgress?: (progress: BenchProgress) => void;
  readonly signal?: AbortSignal;
  /** Samples in flight during the quality pass (default 1: every run timed alone). */
  readonly concurrency?: number;
  /** With concurrency > 1: clips of the serial timing pass (default min(2, clips); 0 skips it). */
  readonly timingClips?: number;
  readonly lpips?: LpipsOptions;
  /** Timed runs per measurement (default 1); the wall time is their median (extra runs are not decoded or scored). */
  readonly repeats?: number;
  /** One untimed, unscored uncached run before everything, so the first timed run pays no start-up cost (default true). */
  readonly warmup?: boolean;
  readonly registry?: PolicyRegistry;
  /** One-line notes (policy logs, LPIPS status). */
  readonly log?: (message: string) => void;
  /** Called with each scored run's decoded video (quality pass), e.g. to write it as MP4. */
  readonly onVideo?: (setting: PolicySetting, clip: Clip, video: Tensor<Uint8Array>) => Promise<void> | void;
}

/** One serial (reference, setting) timing pair of the timing pass. */
export interface TimingPair {
  readonly setting: string;
  readonly clip: number;
  readonly referenceWallMs: number;
  readonly wallMs: number;
  readonly speedup: number;
}

export interface BenchEnvironment {
  readonly model: { readonly source: string; readonly family: string; readonly pipelineClass: string; readonly scheduler: string };
  readonly steps: number;
  readonly guidanceScale: number;
  readonly negativePrompt: string;
  readonly size: { readonly height: number; readonly width: number; readonly numFrames: number };
  readonly prompts: readonly string[];
  readonly seeds: readonly number[];
  readonly concurrency: number;
  readonly timing: string;
  readonly machine: {
    readonly platform: string;
    readonly release: string;
    readonly arch: string;
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly node: string;
  };
  readonly date: string;
}

export interface BenchResult {
  readonly format: "sencache-bench";
  readonly version: 1;
  readonly environment: BenchEnvironment;
  /** Every setting, the reference ("none") first. */
  readonly settings: readonly PolicySetting[];
  readonly clips: readonly Clip[];
  readonly records: readonly RunRecord[];
  readonly timingPairs: readonly TimingPair[];
  readonly lpips: LpipsStatus;
  readonly nfePoints: readonly number[];
  readonly aggregates: Aggregates;
  /**
   * Mean absolute change of consecutive denoiser outputs along each clip's uncached reference run
   * (the SenCache paper's Fig. 5), recorded during the quality pass. Absent in older results files.
   */
  readonly outputChange?: readonly OutputChangeCurve[];
  readonly wallSeconds: number;
}

export async function runBench(model: Model, plan: BenchPlan, options: BenchOptions = {}): Promise<BenchResult> {
  const started = performance.now();
  const registry = options.registry ?? defaultPolicyRegistry;
  if (plan.prompts.length === 0) throw new InvalidInputError("The benchmark needs at least one prompt.");
  if (plan.seeds.length === 0) throw new InvalidInputError("The benchmark needs at least one seed.");
  for (const seed of plan.seeds) if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidInputError(`Seeds must be non-negative integers, not ${seed}.`);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidInputError(`concurrency must be a positive integer, not ${concurrency}.`);
  const d = model.info.defaults;
  const steps = plan.steps ?? d.numInferenceSteps;
  const guidanceScale = plan.guidanceScale ?? d.guidanceScale;
  const size = { height: plan.height ?? d.height, width: plan.width ?? d.width, numFrames: plan.numFrames ?? d.numFrames };
  const negativePrompt = plan.negativePrompt ?? "";
  const nfePoints = [...(plan.nfePoints ?? [])];

  const reference: PolicySetting = { label: REFERENCE_LABEL, spec: "none", overrides: {}, policy: "none" };
  const settings = [reference, ...expandSettings(plan, registry)];
  const clips: Clip[] = [];
  plan.prompts.forEach((prompt, promptIndex) => {
    for (const seed of plan.seeds) clips.push({ index: clips.length, promptIndex, prompt, seed });
  });
  const timingClips = concurrency > 1 ? Math.min(clips.length, options.timingClips ?? Math.min(2, clips.length)) : 0;
  const warmup = options.warmup !== false;
  const repeats = options.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) throw new InvalidInputError(`repeats must be a positive integer, not ${repeats}.`);
  const serialRuns = concurrency === 1 ? clips.length * settings.length * (repeats - 1) : 0;
  const total = (warmup ? 1 : 0) + clips.length * settings.length + serialRuns + timingClips * (settings.length - 1) * 2 * repeats;
  let done = 0;
  const progress = (phase: BenchProgress["phase"], setting: string, clip: number, nfe: number): void => {
    done += 1;
    options.onProgress?.({ done, total, phase, setting, clip, nfe });
  };

  const recorders = new Map<number, OutputChangeRecorder>();
  /** The uncached quality run of a clip evaluates through a recorder of its output changes. */
  const recorderFor = (setting: PolicySetting, clip: Clip, decode: boolean): OutputChangeRecorder | undefined => {
    if (setting.label !== REFERENCE_LABEL || !decode) return undefined;
    const r = new OutputChangeRecorder(model);
    recorders.set(clip.index, r);
    return r;
  };
  const request = (setting: PolicySetting, clip: Clip, decode: boolean, recorder = recorderFor(setting, clip, decode)): RunRequest => ({
    prompt: clip.prompt,
    negativePrompt,
    seed: clip.seed,
    steps,
    guidanceScale,
    ...size,
    decode,
    ...(recorder ? { denoiser: recorder } : {}),
    ...(setting.label === REFERENCE_LABEL ? {} : { policy: () => registry.resolve(setting.spec, setting.overrides) }),
    ...(options.log ? { log: options.log } : {}),
  });
  const runOne = (setting: PolicySetting, clip: Clip, decode: boolean): Promise<GenerateResult> => {
    const { policy, ...rest } = request(setting, clip, decode);
    const o: GenerateOptions = { ...rest, ...(policy ? { policy: policy() } : {}), ...(options.signal ? { signal: options.signal } : {}) };
    return generate(model, o);
  };

  if (warmup) {
    const w = await runOne(reference, clips[0]!, false);
    progress("warmup", REFERENCE_LABEL, 0, w.summary.nfe);
  }

  /** One undecoded run's loop wall time. */
  const timedRun = async (setting: PolicySetting, clip: Clip, phase: BenchProgress["phase"]): Promise<number> => {
    options.signal?.throwIfAborted();
    const r = await runOne(setting, clip, false);
    progress(phase, setting.label, clip.index, r.summary.nfe);
    return r.summary.wallMs;
  };
  /** Median loop wall time of `repeats` undecoded runs (the first may be given). */
  const medianWall = async (setting: PolicySetting, clip: Clip, phase: BenchProgress["phase"], first?: GenerateResult): Promise<number> => {
    const walls = first ? [first.summary.wallMs] : [];
    while (walls.length < repeats) walls.push(await timedRun(setting, clip, phase));
    return median(walls);
  };

  // ---- quality pass
  const outcomes: Outcome[] = [];
  const serialWall = new Map<Outcome, number>();
  if (concurrency === 1) {
    for (const clip of clips) {
      for (const setting of settings) {
        options.signal?.throwIfAborted();
        const result = await runOne(setting, clip, true);
        progress("quality", setting.label, clip.index, result.summary.nfe);
        const outcome = { setting, clip, result };
        outcomes.push(outcome);
        if (options.onVideo && result.video) await options.onVideo(setting, clip, result.video);
        serialWall.set(outcome, await medianWall(setting, clip, "quality", result));
      }
    }
  } else {
    const jobs = clips.flatMap((clip) => settings.map((setting) => ({ setting, clip })));
    const results = await runMany(model, jobs.map((j) => request(j.setting, j.clip, true)), {
      concurrency,
      ...(options.signal ? { signal: options.signal } : {}),
      onResult: (i, r) => progress("quality", jobs[i]!.setting.label, jobs[i]!.clip.index, r.summary.nfe),
    });
    results.forEach((result, i) => outcomes.push({ ...jobs[i]!, result }));
    if (options.onVideo) for (const o of outcomes) if (o.result.video) await options.onVideo(o.setting, o.clip, o.result.video);
  }

  // ---- serial timing pass (concurrency > 1 only)
  const timingPairs: TimingPair[] = [];
  for (const clip of clips.slice(0, timingClips)) {
    for (const setting of settings.slice(1)) {
      // interleaved (reference, setting, setting, reference, …) so that a change of machine load
      // during the measurement falls on both sides of the ratio alike
      const ref: number[] = [];
      const set: number[] = [];
      for (let r = 0; r < repeats; r++) {
        if (r % 2 === 0) {
          ref.push(await timedRun(reference, clip, "timing"));
          set.push(await timedRun(setting, clip, "timing"));
        } else {
          set.push(await timedRun(setting, clip, "timing"));
          ref.push(await timedRun(reference, clip, "timing"));
        }
      }
      const referenceWallMs = median(ref);
      const wallMs = median(set);
      timingPairs.push({ setting: setting.label, clip: clip.index, referenceWallMs, wallMs, speedup: referenceWallMs / wallMs });
    }
  }

  // ---- scoring against the reference of the same clip
  const { records, lpips } = await scoreRuns({ outcomes, serialWall, timingPairs, concurrency, timingClips, settings }, options);

  const cpu = cpus();
  const environment: BenchEnvironment = {
    model: { source: model.source, family: model.family, pipelineClass: model.info.pipelineClass, scheduler: model.info.scheduler.className },
    steps,
    guidanceScale,
    negativePrompt,
    size,
    prompts: [...plan.prompts],
    seeds: [...plan.seeds],
    concurrency,
    timing:
      concurrency === 1
        ? `serial: every run alone on the worker; loop wall time = median of ${repeats} run(s); ` +
          `speed-up = the clip's uncached wall / the run's, measured in the same clip block`
        : `quality pass with ${concurrency} samples in flight (wall times not used); ` +
          `speed-up from a serial timing pass over ${timingClips} clip(s), reference and setting interleaved, median of ${repeats} run(s) each`,
    machine: {
      platform: platform(),
      release: release(),
      arch: arch(),
      cpu: cpu[0]?.model ?? "unknown",
      cores: cpu.length,
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
    },
    date: new Date().toISOString(),
  };
  return {
    format: "sencache-bench",
    version: 1,
    environment,
    settings,
    clips,
    records,
    timingPairs,
    lpips,
    nfePoints,
    aggregates: aggregate(records, settings, clips.length, nfePoints),
    outputChange: [...recorders.entries()].sort(([a], [b]) => a - b).map(([clip, r]) => r.curve(clip)),
    wallSeconds: (performance.now() - started) / 1000,
  };
}
