/**
 * Scoring a benchmark's runs: every run of the quality pass against the uncached reference of the
 * same clip (PSNR and SSIM on the decoded frames, PSNR of the final latent, LPIPS where its weights
 * are on this machine), with its wall time and speed-up, as the records the aggregates are made of.
 */
import { InvalidInputError } from "../errors.js";
import type { GenerateResult } from "../sampling/generate.js";
import type { Clip, RunRecord } from "./aggregate.js";
import type { BenchOptions, TimingPair } from "./harness.js";
import { lpipsScores, probeLpips, type LpipsStatus } from "./lpips.js";
import { psnr, psnrLatent, ssim } from "./metrics.js";
import { REFERENCE_LABEL, type PolicySetting } from "./plan.js";

/** One run of the quality pass. */
export interface Outcome {
  readonly setting: PolicySetting;
  readonly clip: Clip;
  readonly result: GenerateResult;
}

/** What the harness measured, to be scored. */
export interface Measured {
  readonly outcomes: readonly Outcome[];
  /** Serial runs (concurrency 1): the median loop wall time of each outcome. */
  readonly serialWall: ReadonlyMap<Outcome, number>;
  /** The serial timing pass (concurrency > 1). */
  readonly timingPairs: readonly TimingPair[];
  readonly concurrency: number;
  readonly timingClips: number;
  /** Every setting in plan order, the reference first. */
  readonly settings: readonly PolicySetting[];
}

function videoDims(result: GenerateResult): { frames: number; height: number; width: number } {
  const shape = result.video?.shape ?? [];
  const s = shape.length === 5 ? shape.slice(1) : shape;
  const [frames, height, width] = s;
  if (frames === undefined || height === undefined || width === undefined) throw new InvalidInputError(
    "The worker returned no decoded video; the benchmark needs decode support.",
  );
  return { frames, height, width };
}

/** The records of the quality pass (clip, then plan order) and whether LPIPS could be scored. */
export async function scoreRuns(
  measured: Measured,
  options: Pick<BenchOptions, "lpips" | "log" | "signal">,
): Promise<{ readonly records: RunRecord[]; readonly lpips: LpipsStatus }> {
  const { outcomes, serialWall, timingPairs, concurrency, timingClips, settings } = measured;
  const refs = new Map<number, GenerateResult>();
  for (const o of outcomes) if (o.setting.label === REFERENCE_LABEL) refs.set(o.clip.index, o.result);
  const firstRef = refs.get(0)!;
  const dims = videoDims(firstRef);
  const lpips = await probeLpips(options.lpips ?? {}, Math.min(dims.height, dims.width));
  options.log?.(lpips.available ? "LPIPS: available (AlexNet, local weights)." : `LPIPS: unavailable — ${lpips.reason}`);
  let lpipsValues: (number | null)[] = outcomes.map(() => null);
  if (lpips.available) {
    const scores = await lpipsScores(
      lpips,
      outcomes.map((o) => ({ shape: o.result.video!.shape, a: refs.get(o.clip.index)!.video!.data, b: o.result.video!.data })),
      options.signal,
    );
    lpipsValues = scores;
  }

  const refWall = new Map<number, number>();
  for (const [o, w] of serialWall) if (o.setting.label === REFERENCE_LABEL) refWall.set(o.clip.index, w);
  const records: RunRecord[] = outcomes.map((o, i) => {
    const ref = refs.get(o.clip.index)!;
    const s = o.result.summary;
    const serial = concurrency === 1;
    const wallMs = serialWall.get(o) ?? s.wallMs;
    let speedup: number | null = null;
    if (serial) speedup = refWall.get(o.clip.index)! / wallMs;
    else if (o.setting.label === REFERENCE_LABEL) speedup = o.clip.index < timingClips ? 1 : null;
    else speedup = timingPairs.find((p) => p.setting === o.setting.label && p.clip === o.clip.index)?.speedup ?? null;
    return {
      setting: o.setting.label,
      policy: o.setting.policy,
      clip: o.clip.index,
      promptIndex: o.clip.promptIndex,
      seed: o.clip.seed,
      nfe: s.nfe,
      totalSteps: s.totalSteps,
      wallMs,
      timing: serial ? "serial" : "concurrent",
      speedup,
      psnr: psnr(ref.video!.data, o.result.video!.data),
      ssim: ssim(ref.video!.data, o.result.video!.data, videoDims(o.result)),
      latentPsnr: psnrLatent(ref.latent, o.result.latent),
      lpips: lpipsValues[i] ?? null,
      reusedSteps: [...s.reusedSteps],
      diagnostics: [...s.diagnostics],
    };
  });
  // Records in a stable order: clip, then plan order.
  const order = new Map(settings.map((s, i) => [s.label, i]));
  records.sort((a, b) => a.clip - b.clip || order.get(a.setting)! - order.get(b.setting)!);
  return { records, lpips };
}
