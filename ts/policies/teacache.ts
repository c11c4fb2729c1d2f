/**
 * "teacache": TeaCache (Liu et al., "Timestep Embedding Tells: It's Time to Cache for Video Diffusion
 * Model", CVPR 2025; ali-vilab/TeaCache, commit 7c10efc). The rule:
 *
 *   A += poly4(rel_L1(I_k, I_{k−1})),  rel_L1(a, b) = mean|a − b| / mean|b|
 *   reuse while A < δ; compute (and reset A = 0) otherwise; first step(s) and last step computed.
 *
 * The indicator I_k is the model's time embedding, fetched once per schedule in `prepare` through
 * `run.probes.timeEmbedding(timesteps)` (a function of t only on Wan 2.1 and CogVideoX). Since A resets
 * on every compute, A at step k is the sum of poly4(rel) over the steps after the last computed one,
 * so it is derived from `context.last.step` rather than kept as hidden state (robust to interrupted
 * runs). Coefficients: published ones selected by `model` (constants.ts), or `coefficients`; without
 * either, the run's family picks them (wan: wan2.1-t2v-1.3b, cogvideox: cogvideox-2b).
 *
 * Two experts (Wan 2.2 A14B): the worker embeds each timestep with the expert that serves it, so each
 * expert's steps use its own time embedding; the loop re-prepares the policy at the switch and computes
 * that step, so the accumulated change restarts there and never spans the two embedders. The default
 * coefficients are Wan 2.1's (fitted on Wan 2.1's embedding): on A14B δ needs tuning.
 *
 * LTX-Video: TeaCache's published indicator there is the modulated input of transformer block 0, a
 * function of the latent that only exists inside a forward pass. A reused step sends nothing to the
 * worker, so that indicator cannot be had without running the transformer's first block on every
 * step; on an LTX-Video run without `coefficients` `prepare` throws PolicyOptionsError
 * "unsupported_model". With `coefficients` (fitted on LTX's time embedding) the policy runs as a
 * time-embedding variant, which is not the published TeaCache and says so in its diagnostics.
 */

import { DiagnosticLog, compute, forcedCompute, meanAbs, meanAbsDiff, reuse } from "./common.js";
import { TEACACHE_COEFFICIENTS } from "./constants.js";
import { definePolicyFactory } from "./define.js";
import { PolicyOptionsError } from "./errors.js";
import { option, validateOptions, withDefaults, type InputOf, type OptionsOf, type OptionValues } from "./options.js";
import { POLICY_API_VERSION, type CachePolicy, type DecideContext, type Decision, type RunInfo } from "./types.js";

/** The use_ret_steps variants ("-ret") compute 5 warm-up steps and not the last one. */
const retVariant = (o: OptionValues): boolean => String(o["model"]).endsWith("-ret");

export const teacacheSchema = {
  /** Key of the published coefficients (TEACACHE_COEFFICIENTS); ignored when `coefficients` is given. */
  model: option.enum(Object.keys(TEACACHE_COEFFICIENTS), "which published coefficients to use", { default: "wan2.1-t2v-1.3b" }),
  coefficients: option.numberList("poly4 coefficients, highest power first (from your own fit)", {
    length: 5,
    default: (o: OptionValues) => [...TEACACHE_COEFFICIENTS[o["model"] as string]!.coefficients],
  }),
  delta: option.number("threshold on the accumulated rescaled indicator change (Wan 1.3B: 0.05–0.08)", {
    min: 0,
    exclusiveMin: true,
    aliases: ["threshold", "thresh"],
    default: 0.08,
  }),
  warmup: option.integer("steps computed at the start", { min: 1, default: (o: OptionValues) => (retVariant(o) ? 5 : 1) }),
  forceLast: option.boolean("compute the last step", { default: (o: OptionValues) => !retVariant(o) }),
};

export type TeacacheOptions = OptionsOf<typeof teacacheSchema>;

/** Evaluate the polynomial (highest power first) by Horner's rule. */
export function polyval(coefficients: readonly number[], x: number): number {
  let y = 0;
  for (const c of coefficients) y = y * x + c;
  return y;
}

/** TeaCache's relative L1 change: mean|a − b| / mean|b|. */
export function relativeL1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return meanAbsDiff(a, b) / meanAbs(b);
}

export function createTeacachePolicy(input: InputOf<typeof teacacheSchema> = {}): CachePolicy<TeacacheOptions> {
  const v = validateOptions("teacache", teacacheSchema, input);
  const options = withDefaults("teacache", teacacheSchema, v);
  const model = options.model;
  const diag = new DiagnosticLog();
  let coefficients: readonly number[] = options.coefficients; // the ones this run uses (see prepare)
  let increments: Float64Array | undefined; // poly4(rel_L1(I_k, I_{k−1})) per step (index 0 unused)
  let notes: string[] = [];

  return {
    id: "teacache",
    apiVersion: POLICY_API_VERSION,
    options,
    async prepare(run: RunInfo) {
      diag.clear();
      notes = [];
      increments = undefined;
      const family = run.model.family;
      if (family === "ltx" && v.coefficients === undefined) {
        throw new PolicyOptionsError(
          "unsupported_model",
          "teacache",
          "TeaCache's published LTX-Video indicator is the modulated input of transformer block 0, which exists only inside a forward pass, and a reused " +
            "step sends nothing to the worker; use sencache, magcache, easycache or fixed-interval on LTX-Video, or pass coefficients=[…] fitted on LTX's " +
            "time embedding for a time-embedding variant (not the published TeaCache).",
          "model",
        );
      }
      if (family === "ltx") notes.push(
        "teacache: time-embedding variant on LTX-Video with your coefficients; the published LTX-Video TeaCache uses the block-0 modulated input instead",
      );
      // Without model= or coefficients=, the run's family picks its published time-embedding coefficients.
      const key = v.model === undefined && v.coefficients === undefined && family === "cogvideox" ? "cogvideox-2b" : model;
      const published = TEACACHE_COEFFICIENTS[key]!;
      coefficients = v.coefficients === undefined ? published.coefficients : options.coefficients;
      if (key !== model) notes.push(`teacache: using the published ${key} coefficients for this ${family} model`);
      if (v.coefficients === undefined && !published.timeOnly) {
        notes.push(
          `teacache: the published coefficients for "${key}" were fitted on the ${published.indicator}; this policy uses the time embedding, so δ needs ` +
            `re-tuning (or fit your own coefficients)`,
        );
      }
      let embeddings: Float32Array[];
      try {
        embeddings = await run.probes.timeEmbedding(Array.from(run.timesteps));
      } catch (err) {
        notes.push(
          `teacache: the time-embedding probe failed (${err instanceof Error ? err.message : String(err)}), so every step was computed; use a ` +
            `worker-backed model or another policy`,
        );
        return;
      }
      if (embeddings.length !== run.totalSteps) {
        notes.push(`teacache: the time-embedding probe returned ${embeddings.length} embeddings for ${run.totalSteps} steps, so every step was computed`);
        return;
      }
      if (run.experts !== undefined && run.experts.length > 1 && run.expert !== undefined) {
        notes.push(`teacache: each expert uses its own time embedding; the accumulated change restarts at the first step of each (now "${run.expert.name}")`);
      }
      const inc = new Float64Array(run.totalSteps);
      for (let k = 1; k < run.totalSteps; k++) inc[k] = polyval(coefficients, relativeL1(embeddings[k]!, embeddings[k - 1]!));
      increments = inc;
    },
    reset() {
      diag.clear();
    },
    decide(ctx: DecideContext): Decision {
      const forced = forcedCompute(ctx, options.warmup, options.forceLast);
      if (forced !== undefined || ctx.last === undefined) return forced ?? compute("first step");
      if (increments === undefined || increments.length !== ctx.totalSteps) {
        diag.note(
          "no-indicator",
          ctx.step,
          "teacache: no time-embedding indicator for this schedule (prepare() not called or the probe failed), so every step was computed",
        );
        return compute("no indicator");
      }
      let acc = 0;
      for (let j = ctx.last.step + 1; j <= ctx.step; j++) acc += increments[j]!;
      if (!Number.isFinite(acc)) {
        diag.note("nan-indicator", ctx.step, "teacache: the indicator change was NaN/∞ (a zero or non-finite time embedding?), so those steps were computed");
        return compute("indicator not finite", acc, options.delta);
      }
      return acc < options.delta ? reuse("accumulated change < δ", acc, options.delta) : compute("accumulated change ≥ δ", acc, options.delta);
    },
    diagnostics: () => [...notes, ...diag.list()],
  };
}

export const teacacheFactory = definePolicyFactory<TeacacheOptions>({
  id: "teacache",
  description: "TeaCache (CVPR 2025): reuse while the accumulated poly4-rescaled time-embedding change stays below δ.",
  optionSchema: teacacheSchema,
  create: (o) => createTeacachePolicy(o),
});
