/**
 * Aggregation of benchmark records: per-setting means with standard errors, paired per-clip
 * comparisons between policies at (nearly) the same NFE, and each policy's quality-vs-NFE curve
 * read off at requested NFE points.
 *
 * "Clip" = one (prompt, seed) pair. Every setting runs on every clip, so per-clip values of two
 * settings pair up by clip index; a paired difference is mean(a_i − b_i) with SE = SD(a − b)/√n,
 * which removes the clip-to-clip spread (2–5 dB of PSNR) that independent SEs would carry.
 */
import { mean, pairedDifference, standardError, type PairedDifference } from "./metrics.js";
import { REFERENCE_LABEL, type PolicySetting } from "./plan.js";

export interface Clip {
  readonly index: number;
  readonly promptIndex: number;
  readonly prompt: string;
  readonly seed: number;
}

/** One run of one setting on one clip. */
export interface RunRecord {
  readonly setting: string;
  readonly policy: string;
  readonly clip: number;
  readonly promptIndex: number;
  readonly seed: number;
  readonly nfe: number;
  readonly totalSteps: number;
  /** Sampling-loop wall time of this run (ms); see `timing` for how it was measured. */
  readonly wallMs: number;
  /** "serial": measured with nothing else in flight; "concurrent": several samples shared the worker (not used for speed-up). */
  readonly timing: "serial" | "concurrent";
  /** Uncached wall / this run's wall, both serial and measured close together; null when not measured serially. */
  readonly speedup: number | null;
  readonly psnr: number;
  readonly ssim: number;
  readonly latentPsnr: number;
  /** null when LPIPS is unavailable (see the result's `lpips.reason`). */
  readonly lpips: number | null;
  readonly reusedSteps: readonly number[];
  readonly diagnostics: readonly string[];
}

export interface MeanSe {
  readonly mean: number;
  readonly se: number;
  readonly n: number;
}

export interface SettingAggregate {
  readonly setting: string;
  readonly policy: string;
  readonly n: number;
  readonly nfe: MeanSe & { readonly min: number; readonly max: number };
  /** The NFE when every clip made the same number of evaluations, else null. */
  readonly exactNfe: number | null;
  /** T / mean NFE: the speed-up if a reused step cost nothing. */
  readonly nfeSpeedup: number;
  /** Mean per-clip wall-clock speed-up (serial timings only); null when none was measured. */
  readonly speedup: MeanSe | null;
  readonly wallMs: MeanSe;
  readonly psnr: MeanSe;
  readonly ssim: MeanSe;
  readonly latentPsnr: MeanSe;
  readonly lpips: MeanSe | null;
}

export interface PairedComparison {
  readonly setting: string;
  readonly policy: string;
  readonly nfe: number;
  readonly vs: string;
  readonly vsPolicy: string;
  readonly vsNfe: number;
  /** True when both settings made the same NFE on every clip. */
  readonly matchedNfe: boolean;
  /** PSNR(setting) − PSNR(vs), paired per clip. */
  readonly psnr: PairedDifference;
  readonly ssim: PairedDifference;
  readonly latentPsnr: PairedDifference;
}

export interface CurvePoint {
  readonly setting: string;
  readonly nfe: number;
  readonly psnr: MeanSe;
  readonly ssim: MeanSe;
}

export interface NfePointValue {
  readonly nfe: number;
  readonly policy: string;
  /** null when the NFE lies outside the policy's curve. */
  readonly psnr: MeanSe | null;
  readonly ssim: MeanSe | null;
  /** "exact": a setting made exactly this NFE on every clip; "interpolated": linear between two neighbours; "outside": no value. */
  readonly kind: "exact" | "interpolated" | "outside";
  /** The settings the value comes from. */
  readonly from: readonly string[];
  /** Interpolation weight of the second setting (0 for exact). */
  readonly weight: number;
}

export interface NfePointComparison {
  readonly nfe: number;
  readonly a: string;
  readonly b: string;
  readonly kind: "exact" | "interpolated";
  /** PSNR(a) − PSNR(b) at this NFE, paired per clip. */
  readonly psnr: PairedDifference;
}

export interface Aggregates {
  readonly settings: readonly SettingAggregate[];
  readonly paired: readonly PairedComparison[];
  readonly curves: Readonly<Record<string, readonly CurvePoint[]>>;
  readonly nfePoints: readonly NfePointValue[];
  readonly nfePointComparisons: readonly NfePointComparison[];
}

function meanSe(xs: readonly number[]): MeanSe {
  return { mean: mean(xs), se: standardError(xs), n: xs.length };
}

/** Records of one setting in clip order (throws if a clip is missing). */
export function perClip(records: readonly RunRecord[], setting: string, clips: number): RunRecord[] {
  const out = new Array<RunRecord>(clips);
  for (const r of records) if (r.setting === setting) out[r.clip] = r;
  for (let i = 0; i < clips; i++) if (!out[i]) throw new RangeError(`No record of "${setting}" on clip ${i}.`);
  return out;
}

type Metric = "psnr" | "ssim" | "latentPsnr";

interface CurveEntry {
  readonly setting: string;
  readonly nfe: number;
  readonly exact: boolean;
  readonly runs: readonly RunRecord[];
}

function curveEntries(
  policy: string,
  settings: readonly PolicySetting[],
  bySetting: Map<string, RunRecord[]>,
  aggs: Map<string, SettingAggregate>,
): CurveEntry[] {
  const entries: CurveEntry[] = [];
  for (const s of settings) {
    if (s.policy !== policy) continue;
    const a = aggs.get(s.label)!;
    // Settings with the same mean NFE: the first listed one stays on the curve.
    if (entries.some((e) => e.nfe === a.nfe.mean)) continue;
    entries.push({ setting: s.label, nfe: a.nfe.mean, exact: a.exactNfe !== null, runs: bySetting.get(s.label)! });
  }
  return entries.sort((x, y) => x.nfe - y.nfe);
}

/** A policy's per-clip values at one NFE, and the settings they come from. */
interface CurveValues {
  values: number[];
  kind: "exact" | "interpolated";
  from: string[];
  weight: number;
}

/** Per-clip values of a policy's curve at `nfe`: an exact setting, a linear interpolation, or null. */
function valuesAt(entries: readonly CurveEntry[], nfe: number, metric: Metric): CurveValues | null {
  const hit = entries.find((e) => e.nfe === nfe);
  if (hit) return { values: hit.runs.map((r) => r[metric]), kind: hit.exact ? "exact" : "interpolated", from: [hit.setting], weight: 0 };
  for (let i = 0; i + 1 < entries.length; i++) {
    const lo = entries[i]!;
    const hi = entries[i + 1]!;
    if (lo.nfe < nfe && nfe < hi.nfe) {
      const w = (nfe - lo.nfe) / (hi.nfe - lo.nfe);
      return { values: lo.runs.map((r, c) => (1 - w) * r[metric] + w * hi.runs[c]![metric]), kind: "interpolated", from: [lo.setting, hi.setting], weight: w };
    }
  }
  return null;
}

/**
 * Aggregate records. `settings` lists every setting including the reference (label "none"); the
 * reference is left out of paired comparisons, curves and NFE points.
 */
export function aggregate(records: readonly RunRecord[], settings: readonly PolicySetting[], clips: number, nfePoints: readonly number[] = []): Aggregates {
  const bySetting = new Map<string, RunRecord[]>();
  for (const s of settings) bySetting.set(s.label, perClip(records, s.label, clips));
  const aggs = new Map<string, SettingAggregate>();
  for (const s of settings) {
    const runs = bySetting.get(s.label)!;
    const nfes = runs.map((r) => r.nfe);
    const speedups = runs.map((r) => r.speedup).filter((v): v is number => v !== null);
    const lp = runs.map((r) => r.lpips);
    const T = runs[0]!.totalSteps;
    const nfe = meanSe(nfes);
    aggs.set(s.label, {
      setting: s.label,
      policy: s.policy,
      n: runs.length,
      nfe: { ...nfe, min: Math.min(...nfes), max: Math.max(...nfes) },
      exactNfe: nfes.every((v) => v === nfes[0]) ? nfes[0]! : null,
      nfeSpeedup: T / nfe.mean,
      speedup: speedups.length > 0 ? meanSe(speedups) : null,
      wallMs: meanSe(runs.map((r) => r.wallMs)),
      psnr: meanSe(runs.map((r) => r.psnr)),
      ssim: meanSe(runs.map((r) => r.ssim)),
      latentPsnr: meanSe(runs.map((r) => r.latentPsnr)),
      lpips: lp.every((v): v is number => v !== null) ? meanSe(lp) : null,
    });
  }

  const cached = settings.filter((s) => s.label !== REFERENCE_LABEL);
  const policies = [...new Set(cached.map((s) => s.policy))];

  // Paired: each setting vs every other policy's setting nearest in mean NFE (ties: the earlier listed).
  const paired: PairedComparison[] = [];
  for (const s of cached) {
    const a = aggs.get(s.label)!;
    for (const other of policies) {
      if (other === s.policy) continue;
      let best: SettingAggregate | undefined;
      for (const o of cached) {
        if (o.policy !== other) continue;
        const b = aggs.get(o.label)!;
        if (!best || Math.abs(b.nfe.mean - a.nfe.mean) < Math.abs(best.nfe.mean - a.nfe.mean)) best = b;
      }
      if (!best) continue;
      const ra = bySetting.get(s.label)!;
      const rb = bySetting.get(best.setting)!;
      const diff = (m: Metric): PairedDifference => pairedDifference(ra.map((r) => r[m]), rb.map((r) => r[m]));
      paired.push({
        setting: s.label,
        policy: s.policy,
        nfe: a.nfe.mean,
        vs: best.setting,
        vsPolicy: other,
        vsNfe: best.nfe.mean,
        matchedNfe: ra.every((r, c) => r.nfe === rb[c]!.nfe),
        psnr: diff("psnr"),
        ssim: diff("ssim"),
        latentPsnr: diff("latentPsnr"),
      });
    }
  }

  const curves: Record<string, CurvePoint[]> = {};
  const entriesByPolicy = new Map<string, CurveEntry[]>();
  for (const p of policies) {
    const entries = curveEntries(p, cached, bySetting, aggs);
    entriesByPolicy.set(p, entries);
    curves[p] = cached
      .filter((s) => s.policy === p)
      .map((s) => aggs.get(s.label)!)
      .sort((x, y) => x.nfe.mean - y.nfe.mean)
      .map((a) => ({ setting: a.setting, nfe: a.nfe.mean, psnr: a.psnr, ssim: a.ssim }));
  }

  const points: NfePointValue[] = [];
  const comparisons: NfePointComparison[] = [];
  for (const nfe of nfePoints) {
    const at = new Map<string, { values: number[]; kind: "exact" | "interpolated" }>();
    for (const p of policies) {
      const entries = entriesByPolicy.get(p)!;
      const v = valuesAt(entries, nfe, "psnr");
      const w = valuesAt(entries, nfe, "ssim");
      if (!v || !w) {
        points.push({ nfe, policy: p, psnr: null, ssim: null, kind: "outside", from: [], weight: 0 });
        continue;
      }
      at.set(p, v);
      points.push({ nfe, policy: p, psnr: meanSe(v.values), ssim: meanSe(w.values), kind: v.kind, from: v.from, weight: v.weight });
    }
    const have = policies.filter((p) => at.has(p));
    for (let i = 0; i < have.length; i++) {
      for (let j = i + 1; j < have.length; j++) {
        const a = at.get(have[i]!)!;
        const b = at.get(have[j]!)!;
        comparisons.push({
          nfe,
          a: have[i]!,
          b: have[j]!,
          kind: a.kind === "exact" && b.kind === "exact" ? "exact" : "interpolated",
          psnr: pairedDifference(a.values, b.values),
        });
      }
    }
  }

  return { settings: settings.map((s) => aggs.get(s.label)!), paired, curves, nfePoints: points, nfePointComparisons: comparisons };
}
