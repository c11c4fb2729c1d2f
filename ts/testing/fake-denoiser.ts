/**
 * A deterministic pure-TS denoiser for tests: a smooth nonlinear map f(x, t, branch) with non-zero
 * ∂f/∂x and ∂f/∂t, so cache policies can run whole trajectories without the worker. It implements
 * the sampling loop's `Denoiser` contract and records which branch ran at which t.
 *
 *   s = t / 1000
 *   f_i = tanh(x_i)·(0.6 + 0.4·s) − μ_i·(1 − 0.5·s) + 0.2·sin(2π·s + φ_i)
 *   μ_i = a_b·sin(0.37·i + h),  φ_i = 0.11·i + h     (h from the condition string; a_cond 0.8, a_uncond 0.3)
 */

import type { Branch, DenoiseItem, Denoiser } from "../sampling/types.js";

export type { Branch, DenoiseItem, Denoiser };

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return ((h >>> 0) % 1000) / 159.0;
}

/** The fake model function for one item. */
export function fakeModel(x: Float32Array, t: number, branch: Branch, cond = "prompt"): Float32Array {
  const s = t / 1000;
  const h = hashString(cond);
  const amp = branch === "cond" ? 0.8 : 0.3;
  const out = new Float32Array(x.length);
  const gain = 0.6 + 0.4 * s;
  const pull = 1 - 0.5 * s;
  for (let i = 0; i < x.length; i++) {
    const mu = amp * Math.sin(0.37 * i + h);
    out[i] = Math.tanh(x[i]!) * gain - mu * pull + 0.2 * Math.sin(2 * Math.PI * s + 0.11 * i + h);
  }
  return out;
}

export interface FakeDenoiserCall {
  readonly branch: Branch;
  readonly t: number;
  readonly cond: string;
}

export class FakeDenoiser implements Denoiser {
  /** Every item evaluated, in order. */
  readonly calls: FakeDenoiserCall[] = [];
  /** Number of denoise() calls (one per computed step). */
  batches = 0;

  async denoise(items: readonly DenoiseItem[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    this.batches++;
    return items.map((it) => {
      this.calls.push({ branch: it.branch, t: it.t, cond: it.cond });
      return fakeModel(it.x, it.t, it.branch, it.cond);
    });
  }

  /** The fake's time embedding (a sinusoidal embedding of t, like a DiT's), for TeaCache tests. */
  timeEmbedding(timesteps: readonly number[], dim = 32): Promise<Float32Array[]> {
    return Promise.resolve(timesteps.map((t) => sinusoidalEmbedding(t, dim)));
  }
}

/** Sinusoidal timestep embedding [cos(t·f_j), sin(t·f_j)], f_j = 10000^(−j/half). */
export function sinusoidalEmbedding(t: number, dim = 32): Float32Array {
  const half = dim / 2;
  const e = new Float32Array(dim);
  for (let j = 0; j < half; j++) {
    const f = Math.pow(10000, -j / half);
    e[j] = Math.cos(t * f);
    e[half + j] = Math.sin(t * f);
  }
  return e;
}

/** Seeded standard-normal noise (mulberry32 + Box–Muller), for reproducible test latents. */
export function seededNormal(n: number, seed = 1): Float32Array {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
