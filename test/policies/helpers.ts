/** Hand-built contexts for policy unit tests. */
import type { ComputedStep, DecideContext, RunInfo } from "../../ts/policies/types.js";
import { makeProfile } from "../../ts/sensitivity/profile-validate.js";
import type { SensitivityProfile } from "../../ts/sensitivity/profile.js";

export function linearSchedule(T: number): { timesteps: Float64Array; sigmas: Float64Array } {
  const sigmas = Float64Array.from({ length: T + 1 }, (_, i) => 1 - i / T);
  const timesteps = Float64Array.from({ length: T }, (_, i) => 1000 * sigmas[i]!);
  return { timesteps, sigmas };
}

export function ctx(o: {
  step: number;
  T: number;
  latent: Float32Array;
  last?: ComputedStep;
  previous?: ComputedStep;
  streak?: number;
  t?: number;
}): DecideContext {
  const { timesteps, sigmas } = linearSchedule(o.T);
  return {
    step: o.step,
    totalSteps: o.T,
    t: o.t ?? timesteps[o.step]!,
    sigma: sigmas[o.step]!,
    sigmaNext: sigmas[o.step + 1] ?? 0,
    timesteps,
    sigmas,
    latent: o.latent,
    numElements: o.latent.length,
    reuseStreak: o.streak ?? 0,
    ...(o.last ? { last: o.last } : {}),
    ...(o.previous ? { previous: o.previous } : {}),
  };
}

export function computed(step: number, T: number, latent: Float32Array, outputs: Float32Array[] = [new Float32Array(latent.length)], t?: number): ComputedStep {
  const { timesteps, sigmas } = linearSchedule(T);
  return { step, t: t ?? timesteps[step]!, sigma: sigmas[step]!, latent, outputs };
}

export function runInfo(T: number, extra: Partial<RunInfo> = {}): RunInfo {
  const { timesteps, sigmas } = linearSchedule(T);
  return {
    totalSteps: T,
    timesteps,
    sigmas,
    latentShape: [4],
    numElements: 4,
    guidance: false,
    model: { family: "fake", source: "test" },
    probes: { timeEmbedding: () => Promise.reject(new Error("no probe")) },
    ...extra,
  };
}

/** The model runTrajectory reports. */
export const FAKE_MODEL = { family: "fake", source: "sencache/testing" } as const;

/** A flat profile: α_x and α_t constant over 0..1000. */
export function flatProfile(
  alphaX: number,
  alphaT: number,
  timesteps: number[] = [0, 250, 500, 750, 1000],
  validFor: SensitivityProfile["validFor"] = {},
): SensitivityProfile {
  return makeProfile({ timesteps, J_x_norm: timesteps.map(() => alphaX), J_t_norm: timesteps.map(() => alphaT), validFor });
}
