/**
 * The scheduler contract. A scheduler is built from the diffusers scheduler config JSON that the
 * worker returns for a loaded pipeline (`load` → `scheduler: {class_name, config}`), so a
 * `from_pretrained` user gets the scheduler Python would give them, with no hand configuration.
 */

/** A diffusers scheduler config as serialised by `scheduler.config` (snake_case keys). */
export interface DiffusersSchedulerConfig {
  readonly [key: string]: unknown;
}

/** What the worker reports about a pipeline's scheduler. */
export interface SchedulerSpec {
  readonly className: string;
  readonly config: DiffusersSchedulerConfig;
}

/** Source of Gaussian noise for stochastic schedulers; owned (and seeded) by the sampling loop. */
export interface NoiseSource {
  /** Fill and return a new array of `n` standard-normal float32 samples. */
  normal(n: number): Float32Array;
}

export interface SetTimestepsOptions {
  /** Dynamic-shifting parameter (FlowMatchEuler with `use_dynamic_shifting`, as LTX-Video uses). */
  readonly mu?: number;
  /**
   * Custom per-step sigmas, as a pipeline passes them to `set_timesteps(sigmas=...)` (LTX-Video
   * passes `linspace(1, 1/n, n)`); FlowMatchEuler only.
   */
  readonly sigmas?: readonly number[];
  /** DDIM-family `eta` (CogVideoXDDIM / CogVideoXDPM `step(..., eta)`); 0 when absent, as the pipelines default. */
  readonly eta?: number;
}

export type PredictionType = "flow_prediction" | "epsilon" | "v_prediction" | "sample";

export interface Scheduler {
  readonly className: string;
  readonly numInferenceSteps: number;
  /** The T timesteps the model receives, in the model's own units (already rounded as diffusers rounds them). */
  readonly timesteps: Float64Array;
  /** Noise levels: `sigmas[i]` belongs to `timesteps[i]`; length T + 1 (the last is the final sigma). */
  readonly sigmas: Float64Array;
  readonly predictionType: PredictionType;
  /** Multiplier for the initial noise (1 for flow matching). */
  readonly initNoiseSigma: number;
  /** Scales the model input at step i (identity for most schedulers). */
  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array;
  /**
   * One solver step from step i to i + 1 with the (guided) model output. Multistep schedulers keep
   * their history internally; a reused output enters the history exactly like a fresh one.
   */
  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise?: NoiseSource): Float32Array;
  /** Noise a clean sample to the level of step i (for calibration). */
  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array;
  /** Forget multistep history so the same schedule can drive a new sample. */
  reset(): void;
}
