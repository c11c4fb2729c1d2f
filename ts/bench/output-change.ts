/**
 * How much the denoiser's output changes from one step to the next along an uncached run: the mean
 * absolute difference of consecutive outputs per branch (the SenCache paper's Fig. 5 — small changes
 * are where reuse is cheap). Recorded by wrapping the model's denoiser; only the last output per
 * branch is kept.
 */
import type { Branch, DenoiseItem, Denoiser } from "../sampling/types.js";

export interface OutputChangeCurve {
  readonly clip: number;
  /** The timestep of the later output of each pair (t_k for the change from step k − 1 to k). */
  readonly t: readonly number[];
  /** mean |out_k − out_{k−1}| of the conditional branch, one per t. */
  readonly cond: readonly number[];
  /** The same for the unconditional branch (absent without guidance). */
  readonly uncond?: readonly number[];
}

export function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return a.length === 0 ? 0 : s / a.length;
}

export class OutputChangeRecorder implements Denoiser {
  private readonly last = new Map<Branch, Float32Array>();
  private readonly t: number[] = [];
  private readonly changes: Record<Branch, number[]> = { cond: [], uncond: [] };

  constructor(private readonly inner: Denoiser) {}

  async denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    const outs = await this.inner.denoise(items, signal);
    items.forEach((item, i) => {
      const out = outs[i]!;
      const prev = this.last.get(item.branch);
      if (prev && prev.length === out.length) {
        this.changes[item.branch].push(meanAbsDiff(out, prev));
        if (item.branch === "cond") this.t.push(item.t);
      }
      this.last.set(item.branch, Float32Array.from(out));
    });
    return outs;
  }

  curve(clip: number): OutputChangeCurve {
    return { clip, t: [...this.t], cond: [...this.changes.cond], ...(this.changes.uncond.length > 0 ? { uncond: [...this.changes.uncond] } : {}) };
  }
}
