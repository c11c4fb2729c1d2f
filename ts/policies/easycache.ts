/**
 * "easycache": EasyCache (Zhou et al., "Less is Enough: Training-Free Video Diffusion Acceleration via
 * Runtime-Adaptive Caching", 2025; docs/method.md §4.3). No calibration. Notation: x is the
 * latent the model sees (its input), o the model output (e.g. the flow velocity).
 *
 *   transformation rate  k = mean|o_c − o_c'| / mean|x_c − x_c'|     (last two computed steps c' < c)
 *   accumulated change   E += k · mean|x_n − x_{n−1}| / mean|o_c|     (every step after c)
 *   reuse iff E < τ, with the output  o_n = x_n + (o_c − x_c)          (the cached transformation vector)
 *   compute otherwise (E = 0); the first `warmup` steps and the last step are computed.
 *
 * Per CFG branch: k, E and the transformation vector are tracked per branch (the latent is shared);
 * the step reuses only if every branch's E < τ (one decision covers both branches).
 *
 * Warm-up: EasyCache uses 10 forced steps at T = 50 (Wan). For other T the default is
 * min(10, max(2, round(0.2·T))) — the same 20 % share, capped at the published 10, and at least 2
 * because k needs two computed steps. Wan default τ = 0.05.
 */

import { DiagnosticLog, compute, forcedCompute, meanAbs, meanAbsDiff, reuse } from "./common.js";
import { EASYCACHE_DEFAULTS } from "./constants.js";
import { definePolicyFactory } from "./define.js";
import { option, parseOptions, type InputOf, type OptionsOf } from "./options.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision } from "./types.js";

export const easycacheSchema = {
  tau: option.number("threshold on the accumulated predicted output change (Wan: 0.05)", {
    min: 0,
    exclusiveMin: true,
    aliases: ["threshold", "thresh"],
    default: EASYCACHE_DEFAULTS["wan2.1"]!.threshold,
  }),
  /** Left out: min(10, max(2, round(0.2·T))), see easycacheWarmup. */
  warmup: option.integer("steps computed at the start (≥ 2: the rate needs two computed steps)", { min: 2 }),
  forceLast: option.boolean("compute the last step", { default: true }),
};

export type EasycacheOptions = OptionsOf<typeof easycacheSchema>;

export function easycacheWarmup(totalSteps: number): number {
  return Math.min(EASYCACHE_DEFAULTS["wan2.1"]!.forcedFirstSteps, Math.max(2, Math.round(0.2 * totalSteps)));
}

/** o_n = x_n + (o_c − x_c): the reused output for one branch. */
export function transformedOutput(latent: Float32Array, computedLatent: Float32Array, computedOutput: Float32Array): Float32Array {
  const out = new Float32Array(latent.length);
  for (let i = 0; i < latent.length; i++) out[i] = latent[i]! + (computedOutput[i]! - computedLatent[i]!);
  return out;
}

export function createEasycachePolicy(input: InputOf<typeof easycacheSchema> = {}): CachePolicy<EasycacheOptions> {
  const options = parseOptions("easycache", easycacheSchema, input);
  const diag = new DiagnosticLog();
  let acc: number[] = []; // E per branch since the last compute
  let prevLatent: Float32Array | undefined;
  let prevStep = -1;

  const remember = (ctx: DecideContext, decision: Decision): Decision => {
    prevLatent = Float32Array.from(ctx.latent);
    prevStep = ctx.step;
    if (decision.action === "compute") acc = [];
    return decision;
  };

  return {
    id: "easycache",
    apiVersion: POLICY_API_VERSION,
    options,
    prepare() {
      diag.clear();
      acc = [];
      prevLatent = undefined;
      prevStep = -1;
    },
    reset() {
      diag.clear();
      acc = [];
      prevLatent = undefined;
      prevStep = -1;
    },
    decide(ctx: DecideContext): Decision {
      const warmup = options.warmup ?? easycacheWarmup(ctx.totalSteps);
      const forced = forcedCompute(ctx, warmup, options.forceLast);
      if (forced !== undefined || ctx.last === undefined) return remember(ctx, forced ?? compute("first step"));
      if (ctx.previous === undefined) return remember(ctx, compute("rate needs two computed steps"));
      if (prevLatent === undefined || prevStep !== ctx.step - 1) {
        diag.note("gap", ctx.step, "easycache: decide() was not called on consecutive steps (interrupted run?), so it computed to resynchronise");
        return remember(ctx, compute("steps not consecutive"));
      }
      const last = ctx.last;
      const prev = ctx.previous;
      const dxComputed = meanAbsDiff(last.latent, prev.latent);
      const dxStep = meanAbsDiff(ctx.latent, prevLatent);
      const branches = last.outputs.length;
      let worst = 0;
      for (let b = 0; b < branches; b++) {
        const oc = last.outputs[b]!;
        const ocPrev = prev.outputs[b] ?? prev.outputs[0]!;
        const rate = meanAbsDiff(oc, ocPrev) / dxComputed;
        const e = (acc[b] ?? 0) + (rate * dxStep) / meanAbs(oc);
        acc[b] = e;
        worst = Number.isNaN(e) || Number.isNaN(worst) ? NaN : Math.max(worst, e);
      }
      if (!Number.isFinite(worst)) {
        diag.note(
          "nan-indicator",
          ctx.step,
          "easycache: the transformation rate or accumulated change was NaN/∞ (identical computed latents or a zero output?), so those steps were computed",
        );
        return remember(ctx, compute("indicator not finite", worst, options.tau));
      }
      if (worst < options.tau) {
        const outputs = last.outputs.map((o) => transformedOutput(ctx.latent, last.latent, o));
        return remember(ctx, reuse("accumulated change < τ", worst, options.tau, outputs));
      }
      return remember(ctx, compute("accumulated change ≥ τ", worst, options.tau));
    },
    diagnostics: () => diag.list(),
  };
}

export const easycacheFactory = definePolicyFactory<EasycacheOptions>({
  id: "easycache",
  description: "EasyCache (2025): runtime-adaptive, reuses the output transformation vector while the predicted change stays below τ.",
  optionSchema: easycacheSchema,
  create: (o) => createEasycachePolicy(o),
});
