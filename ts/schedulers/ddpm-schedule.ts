/**
 * Discrete-time DDPM noise schedules (betas -> alphas_cumprod), emulating diffusers' float32 torch
 * tensors: `torch.linspace` in float32 (two-sided, as ATen computes it) and `torch.cumprod`
 * accumulating in double and storing float32.
 */

import { unsupportedOption } from "./config.js";

const f32 = Math.fround;

/** torch.linspace(start, end, steps, dtype=float32): from the start for the first half, from the end for the rest. */
export function torchLinspaceF32(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = f32(start);
    return out;
  }
  const s = f32(start);
  const e = f32(end);
  const step = f32((e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1)));
  return out;
}

export type BetaSchedule = "linear" | "scaled_linear";
export const BETA_SCHEDULES: readonly BetaSchedule[] = ["linear", "scaled_linear"];

/** float32 betas of `beta_schedule` ("linear" or "scaled_linear", the ones the target pipelines use). */
export function betas(schedule: BetaSchedule, betaStart: number, betaEnd: number, numTrainTimesteps: number): Float64Array {
  if (schedule === "linear") return torchLinspaceF32(betaStart, betaEnd, numTrainTimesteps);
  if (schedule === "scaled_linear") return torchLinspaceF32(betaStart ** 0.5, betaEnd ** 0.5, numTrainTimesteps).map((b) => f32(b * b));
  throw unsupportedOption("DDPM schedule", "beta_schedule", schedule, BETA_SCHEDULES.join(", "));
}

/** alphas_cumprod = cumprod(1 - betas), float32 values. */
export function alphasCumprod(betaValues: Float64Array): Float64Array {
  const out = new Float64Array(betaValues.length);
  let acc = 1;
  for (let i = 0; i < betaValues.length; i++) {
    acc *= f32(1 - betaValues[i]!);
    out[i] = f32(acc);
  }
  return out;
}
