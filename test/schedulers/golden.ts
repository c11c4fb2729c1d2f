/**
 * Replays the scheduler goldens written by scripts/gen-scheduler-goldens.py (real diffusers) through
 * the TS schedulers. The fake model, initial latent and noise draws below mirror the Python ones.
 *
 * Relative error of an array a against the golden b: max|a - b| / max(max|b|, 1e-6).
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createScheduler, ReplayNoiseSource, type NoiseSource, type Scheduler } from "../../ts/schedulers/index.js";

export interface GoldenCase {
  readonly name: string;
  readonly class_name: string;
  readonly config: Record<string, unknown>;
  readonly num_inference_steps: number;
  readonly set_timesteps: { readonly mu?: number; readonly sigmas?: number[] };
  readonly eta: number;
  readonly reuse: number[];
  readonly noise_draws: number;
  readonly timesteps: number[];
  readonly sigmas: number[] | null;
  readonly track: number[];
  readonly trajectory: number[][];
  readonly abs_sums: number[];
  readonly final: number[];
}

export interface GoldenFile {
  readonly diffusers_version: string;
  readonly latent_shape: number[];
  readonly cases: GoldenCase[];
}

export function loadGolden(name: string): GoldenFile {
  const path = fileURLToPath(new URL(`../goldens/schedulers/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, "utf8")) as GoldenFile;
}

const f32 = Math.fround;

export function initialLatent(n: number, initNoiseSigma: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = f32(f32(Math.sin(0.731 * i + 0.2) * 1.1) * f32(initNoiseSigma));
  return x;
}

export function fakeModel(x: Float32Array, t: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = Math.sin(1.3 * v + 0.0021 * t + 0.37 * (i % 5)) - 0.4 * v;
  }
  return out;
}

export function noiseDraw(n: number, k: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.SQRT2 * Math.sin(1.9 * i + 2.9 * k + 0.5);
  return out;
}

/** max|a - b| / max(max|b|, 1e-6); Infinity on a length mismatch or a NaN. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-6);
}

export interface CaseErrors {
  readonly timesteps: number;
  readonly sigmas: number;
  readonly trajectory: number;
  readonly final: number;
  /** The largest of the above. */
  readonly max: number;
}

export function buildScheduler(c: GoldenCase): Scheduler {
  const opts: { mu?: number; sigmas?: number[]; eta?: number } = {};
  if (c.set_timesteps.mu !== undefined) opts.mu = c.set_timesteps.mu;
  if (c.set_timesteps.sigmas !== undefined) opts.sigmas = c.set_timesteps.sigmas;
  if (c.eta !== 0) opts.eta = c.eta;
  return createScheduler({ className: c.class_name, config: c.config }, c.num_inference_steps, opts);
}

/** Run one golden case through the TS scheduler and measure every recorded array. */
export function runCase(c: GoldenCase, numel: number): CaseErrors {
  const sched = buildScheduler(c);
  const draws = Array.from({ length: c.noise_draws }, (_, k) => noiseDraw(numel, k));
  const noise: NoiseSource = new ReplayNoiseSource(draws);
  const reuse = new Set(c.reuse);
  let x = initialLatent(numel, sched.initNoiseSigma);
  let out: Float32Array | undefined;
  let trajectory = 0;
  const sums: number[] = [];
  for (let k = 0; k < sched.timesteps.length; k++) {
    const xin = sched.scaleModelInput(x, k);
    if (out === undefined || !reuse.has(k)) out = fakeModel(xin, sched.timesteps[k]!);
    x = sched.step(out, k, x, noise);
    trajectory = Math.max(trajectory, relativeError(c.track.map((i) => x[i]!), c.trajectory[k] ?? []));
    let s = 0;
    for (const v of x) s += Math.abs(v);
    sums.push(s);
  }
  trajectory = Math.max(trajectory, relativeError(sums, c.abs_sums));
  const timesteps = relativeError(sched.timesteps, c.timesteps);
  const sigmas = c.sigmas === null ? 0 : relativeError(sched.sigmas, c.sigmas);
  const final = relativeError(x, c.final);
  return { timesteps, sigmas, trajectory, final, max: Math.max(timesteps, sigmas, trajectory, final) };
}

export const TOLERANCE = 1e-5;

export function numelOf(g: GoldenFile): number {
  return g.latent_shape.reduce((a, b) => a * b, 1);
}
