/**
 * The CogVideoX noise schedule shared by CogVideoXDDIM and CogVideoXDPM: scaled_linear betas in
 * float64, alpha_bar shifted by `snr_shift_scale` (alpha_bar / (s + (1 - s) alpha_bar)), optional
 * zero-terminal-SNR rescale, DDIM timestep spacing.
 */

import { ConfigReader } from "./config.js";
import type { TimestepSpacing } from "./multistep-common.js";
import { roundHalfEven } from "../math.js";
import { linspace } from "./sigma-schedules.js";
import type { DiffusersSchedulerConfig } from "./types.js";

export interface CogVideoXConfig {
  readonly numTrainTimesteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly predictionType: "epsilon" | "v_prediction" | "sample";
  readonly setAlphaToOne: boolean;
  readonly stepsOffset: number;
  readonly timestepSpacing: TimestepSpacing;
  readonly rescaleBetasZeroSnr: boolean;
  readonly snrShiftScale: number;
}

export function parseCogVideoXConfig(className: string, config: DiffusersSchedulerConfig): CogVideoXConfig {
  const c = new ConfigReader(className, config);
  c.choice("beta_schedule", "scaled_linear", ["scaled_linear"] as const);
  c.requireInert("trained_betas", [], "null (betas from beta_schedule scaled_linear)");
  c.requireInert("clip_sample", [false, true], "true or false (the CogVideoX schedulers never clip)");
  return {
    numTrainTimesteps: c.number("num_train_timesteps", 1000),
    betaStart: c.number("beta_start", 0.00085),
    betaEnd: c.number("beta_end", 0.012),
    predictionType: c.choice("prediction_type", "epsilon", ["epsilon", "v_prediction", "sample"] as const),
    setAlphaToOne: c.boolean("set_alpha_to_one", true),
    stepsOffset: c.number("steps_offset", 0),
    timestepSpacing: c.choice("timestep_spacing", "leading", ["linspace", "leading", "trailing"] as const),
    rescaleBetasZeroSnr: c.boolean("rescale_betas_zero_snr", false),
    snrShiftScale: c.number("snr_shift_scale", 3.0),
  };
}

/** torch.linspace in float64 (two-sided as ATen computes it). */
function torchLinspaceF64(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  if (steps === 1) return out.fill(start);
  const step = (end - start) / (steps - 1);
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? start + step * i : end - step * (steps - i - 1);
  return out;
}

/** alpha_bar per training timestep (float64, as diffusers holds it for scaled_linear). */
export function cogVideoXAlphasCumprod(cfg: CogVideoXConfig): Float64Array {
  const b = torchLinspaceF64(cfg.betaStart ** 0.5, cfg.betaEnd ** 0.5, cfg.numTrainTimesteps).map((v) => v ** 2);
  const ac = new Float64Array(b.length);
  let acc = 1;
  b.forEach((beta, i) => (ac[i] = acc *= 1.0 - beta));
  const s = cfg.snrShiftScale;
  let out = ac.map((a) => a / (s + (1 - s) * a));
  if (cfg.rescaleBetasZeroSnr) {
    const sq = out.map(Math.sqrt);
    const first = sq[0]!;
    const last = sq[sq.length - 1]!;
    const scale = first / (first - last);
    out = sq.map((v) => ((v - last) * scale) ** 2);
  }
  return out;
}

/** DDIM timesteps (n of them, no extra point) for the spacing. */
export function ddimTimesteps(cfg: CogVideoXConfig, n: number): Float64Array {
  const N = cfg.numTrainTimesteps;
  if (cfg.timestepSpacing === "linspace") return linspace(0, N - 1, n).map(roundHalfEven).reverse();
  if (cfg.timestepSpacing === "leading") {
    const ratio = Math.floor(N / n);
    return Float64Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + cfg.stepsOffset);
  }
  const ratio = N / n;
  const len = Math.ceil(N / ratio);
  return Float64Array.from({ length: len }, (_, i) => roundHalfEven(N - i * ratio) - 1);
}

/** sigma = sqrt((1 - alpha_bar) / alpha_bar) at each timestep, then the final level; for reporting only. */
export function ddimSigmas(alphaBar: Float64Array, timesteps: Float64Array, finalAlphaBar: number): Float64Array {
  const s = new Float64Array(timesteps.length + 1);
  timesteps.forEach((t, i) => (s[i] = Math.sqrt((1 - alphaBar[t]!) / alphaBar[t]!)));
  s[timesteps.length] = Math.sqrt((1 - finalAlphaBar) / finalAlphaBar);
  return s;
}
