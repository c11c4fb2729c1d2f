/**
 * "magcache": MagCache (Ma et al., "MagCache: Fast Video Generation with Magnitude-Aware Cache",
 * NeurIPS 2025; Zehong-Ma/MagCache, commit df81cb1). docs/method.md §4.2:
 *
 *   per branch, over the steps since the last compute:  Γ *= γ_k;  E += |1 − Γ|;  cnt += 1
 *   reuse iff E < δ and cnt ≤ K (for every branch: one decision per step); reset on compute;
 *   the first floor(retention·T) steps are computed.
 *
 * γ are offline magnitude ratios ‖out_k‖/‖out_{k−1}‖: the published arrays (constants.ts; Wan arrays
 * interleave cond/uncond), resampled to T steps by nearest index per branch exactly as MagCache's
 * `nearest_interp` does (idx = round(arange(T)·(L−1)/(T−1)), numpy round = half to even), or ratios
 * measured by `sencache calibrate --kind magcache` (`magnitudeRatios` in ts/sensitivity/magcache-ratios.ts).
 * Γ, E and cnt reset on every compute, so they are recomputed from `context.last.step` each step
 * (no hidden step counter).
 */

import { DiagnosticLog, compute, forcedCompute, reuse, roundHalfEven } from "./common.js";
import { MAGCACHE_DEFAULTS, MAGCACHE_RATIOS } from "./constants.js";
import { definePolicyFactory } from "./define.js";
import { PolicyOptionsError } from "./errors.js";
import { option, validateOptions, withDefaults, type InputOf, type OptionValues, type OptionsOf } from "./options.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision, type ExpertSpan, type RunInfo } from "./types.js";
import { ProfileError } from "../sensitivity/errors.js";
import { loadMagcacheRatiosSync, type MagcacheExpertRatios } from "../sensitivity/magcache-ratios.js";

function defaultsFor(model: string): { threshold: number; K: number; retentionRatio: number } {
  if (model === "wan2.1-t2v-1.3b") return MAGCACHE_DEFAULTS["wan2.1-t2v-1.3b"]!;
  if (model.startsWith("wan2.1")) return MAGCACHE_DEFAULTS["wan2.1 14b and i2v"]!;
  if (model.startsWith("hunyuanvideo")) return MAGCACHE_DEFAULTS["hunyuanvideo"]!;
  return MAGCACHE_DEFAULTS["flux"]!;
}

const published = (o: OptionValues): { threshold: number; K: number; retentionRatio: number } => defaultsFor(o["model"] as string);

export const magcacheSchema = {
  /** Key of the published ratios (MAGCACHE_RATIOS); ignored when `ratios` is given. */
  model: option.enum(Object.keys(MAGCACHE_RATIOS), "which published ratio array to use", { default: "wan2.1-t2v-1.3b" }),
  /** Any length ≥ 2; index 0 = the first step (padding). */
  ratios: option.numberList("measured magnitude ratios of the cond branch, one per step (index 0 is padding)", { min: 0 }),
  /** Default: the same as `ratios`. */
  uncondRatios: option.numberList("measured magnitude ratios of the uncond branch", { min: 0 }),
  /** Read when the policy is built; `ratios` wins. */
  ratiosFile: option.string("a ratios .json from sencache calibrate --kind magcache", { aliases: ["ratiosPath"] }),
  delta: option.number("threshold on the accumulated error (Wan 1.3B: 0.12)", {
    min: 0,
    exclusiveMin: true,
    aliases: ["threshold", "thresh"],
    default: (o: OptionValues) => published(o).threshold,
  }),
  K: option.integer("maximum consecutive skipped steps (Wan 1.3B: 4)", { min: 0, aliases: ["maxSkip"], default: (o: OptionValues) => published(o).K }),
  retention: option.number("fraction of steps computed at the start (0.2)", {
    min: 0,
    max: 1,
    aliases: ["retentionRatio"],
    default: (o: OptionValues) => published(o).retentionRatio,
  }),
  forceLast: option.boolean("also compute the last step", { default: false }),
};

export type MagcacheOptions = OptionsOf<typeof magcacheSchema>;

/** Nearest-index resampling of a per-step array to T steps (MagCache's nearest_interp). */
export function resampleRatios(ratios: readonly number[], steps: number): number[] {
  const L = ratios.length;
  if (steps < 1 || L === 0) return [];
  if (steps === 1) return [ratios[L - 1]!];
  const scale = (L - 1) / (steps - 1);
  return Array.from({ length: steps }, (_, i) => ratios[Math.min(L - 1, roundHalfEven(i * scale))]!);
}

/** Split a published array into per-branch per-step arrays ([cond] or [cond, uncond]). */
export function publishedRatiosByBranch(model: string): number[][] {
  const c = MAGCACHE_RATIOS[model];
  if (c === undefined) return [];
  if (!c.interleaved) return [[...c.ratios]];
  return [c.ratios.filter((_, i) => i % 2 === 0), c.ratios.filter((_, i) => i % 2 === 1)];
}

export function createMagcachePolicy(input: InputOf<typeof magcacheSchema> = {}): CachePolicy<MagcacheOptions> {
  const v = validateOptions("magcache", magcacheSchema, input);
  const model = v.model ?? "wan2.1-t2v-1.3b";
  const ratiosFile = v.ratiosFile;
  let fromFile: {
    ratios: number[]; uncondRatios?: number[]; steps: number; model?: { family: string; source: string }; experts?: readonly MagcacheExpertRatios[],
  } | undefined;
  if (ratiosFile !== undefined && v.ratios === undefined) {
    try {
      const f = loadMagcacheRatiosSync(ratiosFile);
      fromFile = {
        ratios: [...f.ratios],
        ...(f.uncondRatios ? { uncondRatios: [...f.uncondRatios] } : {}),
        steps: f.steps,
        ...(f.validFor.model ? { model: f.validFor.model } : {}),
        ...(f.experts ? { experts: f.experts } : {}),
      };
    } catch (err) {
      if (ProfileError.isInstance(err)) throw new PolicyOptionsError("invalid_option", "magcache", err.message, "ratiosFile");
      throw err;
    }
  }
  const ratios = v.ratios ?? fromFile?.ratios;
  const uncondRatios = v.uncondRatios ?? (v.ratios === undefined ? fromFile?.uncondRatios : undefined);
  if (uncondRatios !== undefined && ratios === undefined) {
    throw new PolicyOptionsError(
      "missing_option",
      "magcache",
      'The option "uncondRatios" of "magcache" needs "ratios" (the cond branch) too; pass both measured arrays.',
      "ratios",
    );
  }
  for (const [name, r] of [["ratios", ratios], ["uncondRatios", uncondRatios]] as const) {
    if (r !== undefined && r.length < 2) throw new PolicyOptionsError(
      "invalid_option",
      "magcache",
      `The option "${name}" of "magcache" needs at least 2 ratios (one per step); pass the array from a calibration.`,
      name,
    );
  }
  const options = withDefaults("magcache", magcacheSchema, {
    ...v,
    ...(ratios !== undefined ? { ratios } : {}),
    ...(uncondRatios !== undefined ? { uncondRatios } : {}),
  });
  const source: (readonly number[])[] = ratios !== undefined ? (uncondRatios !== undefined ? [
    ratios,
    uncondRatios,
  ] : [ratios]) : publishedRatiosByBranch(model);
  const diag = new DiagnosticLog();
  let perBranch: number[][] | undefined;
  let notes: string[] = [];

  const sections = v.ratios === undefined ? fromFile?.experts : undefined;
  let spans: readonly ExpertSpan[] | undefined;
  const build = (T: number, guidance: boolean): number[][] => {
    if (sections !== undefined && spans !== undefined && spans.length > 1) {
      // Two experts are two models: each span gets its own expert's ratios, resampled to its own length.
      const b = guidance ? [0, 1] : [0];
      return b.map((branch) => {
        const out = new Array<number>(T).fill(1);
        for (const s of spans!) {
          const sec = sections.find((e) => e.name === s.name);
          if (sec === undefined) {
            const have = sections.map((e) => `"${e.name}"`).join(", ");
            throw new PolicyOptionsError(
              "invalid_option",
              "magcache",
              `The MagCache ratios file has sections for ${have} but not for the expert "${s.name}"; ` +
                "calibrate ratios for this model (sencache calibrate --kind magcache).",
              "ratiosFile",
            );
          }
          const r = resampleRatios(branch === 1 ? (sec.uncondRatios ?? sec.ratios) : sec.ratios, s.lastStep - s.firstStep + 1);
          r.forEach((g, j) => (out[s.firstStep + j] = g));
        }
        return out;
      });
    }
    const branches = guidance ? [source[0]!, source[1] ?? source[0]!] : [source[0]!];
    return branches.map((r) => resampleRatios(r, T));
  };

  return {
    id: "magcache",
    apiVersion: POLICY_API_VERSION,
    options,
    prepare(run: RunInfo) {
      diag.clear();
      notes = [];
      spans = run.experts;
      perBranch = build(run.totalSteps, run.guidance);
      const native = source[0]!.length;
      if (native !== run.totalSteps) notes.push(`magcache: ratios for ${native} steps resampled to ${run.totalSteps} by nearest index`);
      const m = fromFile?.model;
      if (m !== undefined && (m.family !== run.model.family || m.source !== run.model.source)) {
        const note = `magcache: the ratios file was measured on ${m.source} (${m.family}) but the run uses ${run.model.source} (${run.model.family})`;
        notes.push(note);
        run.log?.(note);
      }
    },
    reset() {
      diag.clear();
    },
    decide(ctx: DecideContext): Decision {
      const forced = forcedCompute(ctx, Math.floor(options.retention * ctx.totalSteps + 1e-9), options.forceLast, "retention");
      if (forced !== undefined || ctx.last === undefined) return forced ?? compute("first step");
      const branches = ctx.last.outputs.length;
      if (perBranch === undefined || perBranch[0]!.length !== ctx.totalSteps || perBranch.length < branches) {
        perBranch = build(ctx.totalSteps, branches > 1);
      }
      let worst = 0;
      const cnt = ctx.step - ctx.last.step;
      for (let b = 0; b < Math.max(1, branches); b++) {
        const g = perBranch[b] ?? perBranch[0]!;
        let gamma = 1;
        let err = 0;
        for (let j = ctx.last.step + 1; j <= ctx.step; j++) {
          gamma *= g[j]!;
          err += Math.abs(1 - gamma);
        }
        worst = Number.isNaN(err) ? NaN : Math.max(worst, err);
      }
      if (!Number.isFinite(worst)) {
        diag.note("nan-ratio", ctx.step, "magcache: the accumulated error was NaN/∞ (bad ratios), so those steps were computed; check the ratio array");
        return compute("error not finite", worst, options.delta);
      }
      if (cnt > options.K) return compute("skip limit K", worst, options.delta);
      return worst < options.delta ? reuse("accumulated error < δ", worst, options.delta) : compute("accumulated error ≥ δ", worst, options.delta);
    },
    diagnostics: () => [...notes, ...diag.list()],
  };
}

export const magcacheFactory = definePolicyFactory<MagcacheOptions>({
  id: "magcache",
  description: "MagCache (NeurIPS 2025): reuse while the accumulated magnitude-ratio error stays below δ and at most K skips.",
  optionSchema: magcacheSchema,
  create: (o) => createMagcachePolicy(o),
});
