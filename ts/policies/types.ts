/**
 * The cache-policy plugin contract: a validated config record, a state object with `reset()`, and
 * one `decide(context)` that sees only what the sampling loop knows. Nothing here talks to the
 * worker on a skipped step; a policy that needs a model probe (TeaCache's time embedding) asks for it
 * once per schedule in `prepare`.
 */

/** The plugin API version this package implements. A plugin declares the version it was written for. */
export const POLICY_API_VERSION = 1 as const;

/** One transformer of a pipeline and the timesteps it serves (the load result's `experts`). */
export interface Expert {
  readonly name: string;
  readonly tMin: number;
  readonly tMax: number;
}

/**
 * An expert's part of one run's schedule: steps firstStep..lastStep (global step indices). For every
 * policy, two experts are two models: at the first step of a span after the first, the loop forgets
 * the cached outputs (`last` / `previous` are absent), calls `reset()` and `prepare(run)` again with
 * `run.expert` set to the new span, and computes the step whatever `decide` says.
 */
export interface ExpertSpan extends Expert {
  /** Position of the span in the run (0 for the first). */
  readonly index: number;
  readonly firstStep: number;
  readonly lastStep: number;
}

/** A full denoiser evaluation the loop has made. */
export interface ComputedStep {
  readonly step: number;
  readonly t: number;
  readonly sigma: number;
  /** The latent the model saw (before scaleModelInput). */
  readonly latent: Float32Array;
  /** Raw model outputs, one per branch: `[cond]` without guidance, `[cond, uncond]` with it. */
  readonly outputs: readonly Float32Array[];
}

export interface DecideContext {
  readonly step: number;
  readonly totalSteps: number;
  readonly t: number;
  readonly sigma: number;
  /** Sigma of the next step (0 after the last). */
  readonly sigmaNext: number;
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
  /** The current latent x (read only). */
  readonly latent: Float32Array;
  /** Number of latent elements N (per sample). */
  readonly numElements: number;
  /** The most recent full evaluation (absent on the first step). */
  readonly last?: ComputedStep;
  /** The full evaluation before `last` (EasyCache needs two). */
  readonly previous?: ComputedStep;
  /** Consecutive reuses since the last full evaluation. */
  readonly reuseStreak: number;
  /** The expert span of this step (`last` / `previous` always belong to it). The loop always sets it. */
  readonly expert?: ExpertSpan;
}

export interface DecisionInfo {
  /** The policy's score or indicator for this step (e.g. S for SenCache, accumulated error for TeaCache). */
  readonly score?: number;
  /** The threshold it was compared with. */
  readonly threshold?: number;
  /** A short reason ("warm-up", "forced last step", "streak limit", …). */
  readonly reason?: string;
}

export type Decision =
  | (DecisionInfo & { readonly action: "compute" })
  | (DecisionInfo & {
      readonly action: "reuse";
      /** Outputs to use instead of `last.outputs` (e.g. EasyCache's transformed output), one per branch. */
      readonly outputs?: readonly Float32Array[];
    });

/** Probes of the model a policy may request once per schedule (never per skipped step). */
export interface ModelProbes {
  /** The model's time embedding for each timestep (TeaCache's indicator on Wan / CogVideoX). */
  timeEmbedding(timesteps: readonly number[]): Promise<Float32Array[]>;
}

export interface RunInfo {
  readonly totalSteps: number;
  readonly timesteps: Float64Array;
  readonly sigmas: Float64Array;
  readonly latentShape: readonly number[];
  readonly numElements: number;
  readonly guidance: boolean;
  readonly model: { readonly family: string; readonly source: string };
  readonly probes: ModelProbes;
  /**
   * The scheduler the run uses (class and a hash of its config, see `schedulerConfigHash` in
   * ts/schedulers/identity.ts). Optional: when given, sensitivity profiles are checked against it.
   */
  readonly scheduler?: { readonly className: string; readonly configHash: string };
  /** Where a policy may report a one-line note (e.g. a profile resampled on request). */
  readonly log?: (message: string) => void;
  /** Every expert span of this schedule (one for a single-transformer model). The loop always sets it. */
  readonly experts?: readonly ExpertSpan[];
  /**
   * The span this preparation is for: `prepare` runs once per span (reset before each after the
   * first), so a policy with per-expert data (a profile, MagCache ratios) picks this expert's part.
   */
  readonly expert?: ExpertSpan;
}

export interface CachePolicy<Options = unknown> {
  /** Registry id, e.g. "sencache". */
  readonly id: string;
  /** The plugin API version the policy was written for (POLICY_API_VERSION). */
  readonly apiVersion: number;
  /** Validated options. */
  readonly options: Options;
  /** Called once per sample before the first step, and again (after `reset`) at each expert change. */
  prepare?(run: RunInfo): void | Promise<void>;
  /** Clear all per-sample state (also called at each expert change). */
  reset(): void;
  decide(context: DecideContext): Decision;
  /** Told after every full evaluation (for policies that track outputs). */
  observe?(computed: ComputedStep): void;
  /** Warnings to surface loudly in the run summary (e.g. "indicator was NaN on 40 steps"). */
  diagnostics?(): string[];
}
