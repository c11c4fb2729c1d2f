/**
 * Types of the sampling loop: the denoiser contract it drives, its per-step events and the run summary.
 */
import type { Decision } from "../policies/types.js";

export type Branch = "cond" | "uncond";

/** One full evaluation request: the latent x of one sample at its own timestep t, for one branch. */
export interface DenoiseItem {
  /** Condition handle (from the worker's encode_prompt), or any key a fake denoiser understands. */
  readonly cond: string;
  readonly branch: Branch;
  readonly t: number;
  readonly x: Float32Array;
  /** The latent's shape, [1, C, F', H', W'] for a video model (`x` holds its values in C order). */
  readonly shape: readonly number[];
  /** Image-to-video: the sample's image handle (from the worker's encode_image). */
  readonly image?: string;
  /** LTX-Video: the frame rate of the RoPE scale (default: the model's); only models that condition on it take it. */
  readonly fps?: number;
}

/**
 * Anything that evaluates the denoiser: the worker-backed model, or a fake in tests. One call may carry
 * several items (the CFG branches of one sample); outputs come back in item order.
 */
export interface Denoiser {
  denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** One event per step. */
export interface StepEvent {
  readonly type: "step";
  readonly step: number;
  readonly totalSteps: number;
  readonly t: number;
  readonly sigma: number;
  readonly action: Decision["action"];
  readonly score?: number;
  readonly threshold?: number;
  readonly reason?: string;
  /** Consecutive reuses including this step (0 on a computed step). */
  readonly reuseStreak: number;
  /** Full evaluations so far, including this step. */
  readonly nfe: number;
  /** The expert that serves this step, for a model with more than one. */
  readonly expert?: string;
  readonly elapsedMs: number;
}

/** Where a schedule passes from one expert to the next (the step is the new expert's first). */
export interface ExpertSwitch {
  readonly step: number;
  readonly t: number;
  readonly from: string;
  readonly to: string;
}

/** One expert's part of a run. */
export interface ExpertUse {
  readonly name: string;
  readonly firstStep: number;
  readonly lastStep: number;
  /** Full evaluations made by this expert. */
  readonly nfe: number;
}

export interface RunSummary {
  readonly totalSteps: number;
  /** Steps on which the denoiser ran (one NFE covers both CFG branches, as the papers count). */
  readonly nfe: number;
  /** Items sent to the denoiser: nfe × branches. */
  readonly denoiseItems: number;
  readonly computedSteps: readonly number[];
  readonly reusedSteps: readonly number[];
  readonly speedup: number;
  readonly wallMs: number;
  readonly policy: string;
  /** Loud warnings from the policy (a NaN indicator, a mismatched profile, …). */
  readonly diagnostics: readonly string[];
  /** The expert spans of the run, in order (one for a single-transformer model). */
  readonly experts?: readonly ExpertUse[];
  /** Where the run passed from one expert to the next (empty with one expert). */
  readonly expertSwitches?: readonly ExpertSwitch[];
}

