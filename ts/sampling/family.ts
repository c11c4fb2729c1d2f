/**
 * The extra `set_timesteps` arguments a family's pipeline passes, read from the load result (never
 * from the family's name): LTX-Video's linspace sigmas and sequence-length `mu`, computed exactly as
 * the diffusers pipeline does. (The per-step guidance rule lives in generate.ts.)
 */
import { calculateShift, linspace } from "../schedulers/sigma-schedules.js";
import type { SetTimestepsOptions } from "../schedulers/types.js";
import type { LoadResult } from "../worker/ops.js";

function configNumber(config: Readonly<Record<string, unknown>>, key: string, fallback: number): number {
  const v = config[key];
  return typeof v === "number" ? v : fallback;
}

/**
 * Whether the denoiser is conditioned on the frame rate: LTX-Video's RoPE interpolation scale is
 * (temporal compression / fps, spatial, spatial), `frame_rate` of its `__call__`. (The load result does
 * not report it; LTX-Video is the one family whose transformer takes it.)
 */
export function conditionsOnFps(info: Pick<LoadResult, "family">): boolean {
  return info.family === "ltx";
}

/** The options the pipeline passes to `scheduler.set_timesteps` for `steps` steps on a latent of `latentShape` ([1, C, F', H', W']). */
export function pipelineTimestepOptions(info: LoadResult, steps: number, latentShape: readonly number[]): SetTimestepsOptions {
  const rule = info.setTimesteps ?? { sigmas: null, mu: null };
  const out: { sigmas?: number[]; mu?: number } = {};
  // LTX: sigmas = np.linspace(1.0, 1 / n, n) (float64; the scheduler stores them as float32).
  if (rule.sigmas === "linspace") out.sigmas = Array.from(linspace(1, 1 / steps, steps));
  if (rule.mu === "sequence_length") {
    const [, , f = 1, h = 1, w = 1] = latentShape;
    const c = info.scheduler.config;
    out.mu = calculateShift(
      f * h * w,
      configNumber(c, "base_image_seq_len", 256),
      configNumber(c, "max_image_seq_len", 4096),
      configNumber(c, "base_shift", 0.5),
      configNumber(c, "max_shift", 1.15),
    );
  }
  return out;
}
