/**
 * Schedulers built from a diffusers scheduler config: `createScheduler(spec, n, options)` picks the
 * implementation by `className`, as `SchedulerClass.from_config(config)` + `set_timesteps(n)` would.
 */

import { UnsupportedSchedulerError } from "./errors.js";
import { FLOW_MATCH_EULER, FlowMatchEulerDiscreteScheduler } from "./flow-match-euler-discrete.js";
import { UNIPC, UniPCMultistepScheduler } from "./unipc-multistep.js";
import { DPM_SOLVER, DPMSolverMultistepScheduler } from "./dpm-solver-multistep.js";
import { COGVIDEOX_DDIM, CogVideoXDDIMScheduler } from "./cogvideox-ddim.js";
import { COGVIDEOX_DPM, CogVideoXDPMScheduler } from "./cogvideox-dpm.js";
import type { DiffusersSchedulerConfig, Scheduler, SchedulerSpec, SetTimestepsOptions } from "./types.js";

export type { DiffusersSchedulerConfig, NoiseSource, PredictionType, Scheduler, SchedulerSpec, SetTimestepsOptions } from "./types.js";
export { UnsupportedSchedulerError, type SchedulerErrorCode } from "./errors.js";
export { SeededNoiseSource, ReplayNoiseSource } from "./noise.js";
export { schedulerConfigHash, schedulerIdentity } from "./identity.js";
export { calculateShift, linspace, karrasSigmas, exponentialSigmas, betaSigmas, betaPpf } from "./sigma-schedules.js";
export { FlowMatchEulerDiscreteScheduler, parseFlowMatchEulerConfig, flowMatchEulerSchedule, type FlowMatchEulerConfig } from "./flow-match-euler-discrete.js";

export { UniPCMultistepScheduler, parseUniPCConfig, uniPCSchedule, type UniPCConfig } from "./unipc-multistep.js";
export { DPMSolverMultistepScheduler, parseDPMSolverConfig, dpmSolverSchedule, type DPMSolverConfig } from "./dpm-solver-multistep.js";
export { CogVideoXDDIMScheduler } from "./cogvideox-ddim.js";
export { CogVideoXDPMScheduler } from "./cogvideox-dpm.js";
export { parseCogVideoXConfig, cogVideoXAlphasCumprod, type CogVideoXConfig } from "./cogvideox-common.js";

type Factory = (config: DiffusersSchedulerConfig, numInferenceSteps: number, options: SetTimestepsOptions) => Scheduler;

const FACTORIES: ReadonlyMap<string, Factory> = new Map<string, Factory>([
  [FLOW_MATCH_EULER, (c, n, o) => FlowMatchEulerDiscreteScheduler.fromConfig(c, n, o)],
  [UNIPC, (c, n, o) => UniPCMultistepScheduler.fromConfig(c, n, o)],
  [DPM_SOLVER, (c, n, o) => DPMSolverMultistepScheduler.fromConfig(c, n, o)],
  [COGVIDEOX_DDIM, (c, n) => CogVideoXDDIMScheduler.fromConfig(c, n)],
  [COGVIDEOX_DPM, (c, n) => CogVideoXDPMScheduler.fromConfig(c, n)],
]);

/** Class names `createScheduler` accepts. */
export const SUPPORTED_SCHEDULERS: readonly string[] = [...FACTORIES.keys()];

/**
 * Build the scheduler a diffusers pipeline would use, with its timesteps set for `numInferenceSteps`.
 * Throws `UnsupportedSchedulerError` (code `unsupported_scheduler_class` / `unsupported_scheduler_option`
 * / `invalid_scheduler_config` / `invalid_scheduler_call`) naming what is supported instead.
 */
export function createScheduler(spec: SchedulerSpec, numInferenceSteps: number, options: SetTimestepsOptions = {}): Scheduler {
  const factory = FACTORIES.get(spec.className);
  if (factory === undefined) {
    throw new UnsupportedSchedulerError(
      "unsupported_scheduler_class",
      `Scheduler class "${spec.className}" is not supported; use one of ${SUPPORTED_SCHEDULERS.join(", ")}.`,
    );
  }
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new UnsupportedSchedulerError("invalid_scheduler_call", `numInferenceSteps must be a positive integer, got ${numInferenceSteps}.`);
  }
  return factory(spec.config, numInferenceSteps, options);
}
