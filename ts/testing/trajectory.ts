/**
 * A minimal flow-matching Euler loop for policy tests: the same call order as the SDK's sampling loop
 * (reset → prepare → per step decide → compute + observe | reuse), without schedulers or the worker.
 * For tests and examples only; the SDK's loop lives in ts/sampling/.
 */

import type { CachePolicy, ComputedStep, DecideContext, Decision, ModelProbes } from "../policies/types.js";
import type { Denoiser, DenoiseItem } from "../sampling/types.js";

/** Flow-matching schedule: σ from 1 to 0 over T steps with a time shift; t = 1000·σ. */
export function flowSchedule(steps: number, shift = 1): { timesteps: Float64Array; sigmas: Float64Array } {
  const sigmas = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) {
    const s = 1 - i / steps;
    sigmas[i] = (shift * s) / (1 + (shift - 1) * s);
  }
  const timesteps = new Float64Array(steps);
  for (let i = 0; i < steps; i++) timesteps[i] = sigmas[i]! * 1000;
  return { timesteps, sigmas };
}

export interface TrajectoryOptions {
  readonly policy: CachePolicy;
  readonly denoiser: Denoiser;
  readonly latent: Float32Array;
  readonly steps: number;
  readonly shift?: number;
  readonly guidanceScale?: number;
  readonly probes?: ModelProbes;
  readonly model?: { readonly family: string; readonly source: string };
  readonly latentShape?: readonly number[];
}

export interface TrajectoryResult {
  readonly latent: Float32Array;
  readonly nfe: number;
  readonly decisions: readonly Decision[];
  readonly computedSteps: readonly number[];
  readonly diagnostics: readonly string[];
}

export async function runTrajectory(o: TrajectoryOptions): Promise<TrajectoryResult> {
  const { timesteps, sigmas } = flowSchedule(o.steps, o.shift ?? 1);
  const guidance = (o.guidanceScale ?? 1) > 1;
  const noProbes: ModelProbes = { timeEmbedding: () => Promise.reject(new Error("no probes in this test")) };
  o.policy.reset();
  await o.policy.prepare?.({
    totalSteps: o.steps,
    timesteps,
    sigmas,
    latentShape: o.latentShape ?? [o.latent.length],
    numElements: o.latent.length,
    guidance,
    model: o.model ?? { family: "fake", source: "sencache/testing" },
    probes: o.probes ?? noProbes,
  });
  let x = o.latent;
  let last: ComputedStep | undefined;
  let previous: ComputedStep | undefined;
  let streak = 0;
  const decisions: Decision[] = [];
  const computedSteps: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const ctx: DecideContext = {
      step: i,
      totalSteps: o.steps,
      t: timesteps[i]!,
      sigma: sigmas[i]!,
      sigmaNext: sigmas[i + 1]!,
      timesteps,
      sigmas,
      latent: x,
      numElements: x.length,
      reuseStreak: streak,
      ...(last ? { last } : {}),
      ...(previous ? { previous } : {}),
    };
    const d = o.policy.decide(ctx);
    decisions.push(d);
    let outputs: readonly Float32Array[];
    if (d.action === "compute" || last === undefined) {
      const items: DenoiseItem[] = [{ cond: "prompt", branch: "cond", t: ctx.t, x, shape: [x.length] }];
      if (guidance) items.push({ cond: "", branch: "uncond", t: ctx.t, x, shape: [x.length] });
      outputs = await o.denoiser.denoise(items);
      previous = last;
      last = { step: i, t: ctx.t, sigma: ctx.sigma, latent: x, outputs };
      o.policy.observe?.(last);
      streak = 0;
      computedSteps.push(i);
    } else {
      outputs = d.outputs ?? last.outputs;
      streak++;
    }
    const g = o.guidanceScale ?? 1;
    const v = guidance ? outputs[1]!.map((u, j) => u + g * (outputs[0]![j]! - u)) : outputs[0]!;
    const h = sigmas[i + 1]! - sigmas[i]!;
    const next = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) next[j] = x[j]! + h * v[j]!;
    x = next;
  }
  return { latent: x, nfe: computedSteps.length, decisions, computedSteps, diagnostics: o.policy.diagnostics?.() ?? [] };
}
