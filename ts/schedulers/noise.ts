/**
 * A seeded, deterministic Gaussian NoiseSource.
 *
 * Counter-based: the k-th uniform of a stream is a pure hash of (seed, k), so a stream can be
 * replayed from any position and does not depend on how draws are split into calls. The hash is
 * two rounds of the "lowbias32" integer mixer (C. Wellons), keyed by the seed; pairs of uniforms
 * become pairs of normals by Box–Muller. Samples are float64 maths rounded to float32.
 *
 * This is not torch's generator: the same seed gives different numbers from `torch.randn`. Where a
 * test needs diffusers' noise exactly, it replays stored arrays through `ReplayNoiseSource`.
 */

import type { NoiseSource } from "./types.js";

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const TWO_POW_32 = 4294967296;

export class SeededNoiseSource implements NoiseSource {
  private readonly key0: number;
  private readonly key1: number;
  private counter = 0;

  /** `seed` is any integer in [0, 2^53); equal seeds give equal streams. */
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`Noise seed must be a non-negative safe integer, got ${seed}.`);
    this.key0 = mix32((seed % TWO_POW_32) ^ 0x9e3779b9);
    this.key1 = mix32(Math.floor(seed / TWO_POW_32) ^ 0x85ebca6b);
  }

  /** How many uniforms have been consumed (two per pair of normals). */
  get position(): number {
    return this.counter;
  }

  /** Uniform in (0, 1] from counter k: 32 bits of mixed (seed, k). */
  private uniform(k: number): number {
    const lo = k % TWO_POW_32;
    const hi = Math.floor(k / TWO_POW_32);
    const h = mix32((mix32((lo ^ this.key0) >>> 0) + hi + this.key1) >>> 0);
    return (h + 1) / TWO_POW_32;
  }

  normal(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = this.uniform(this.counter++);
      const u2 = this.uniform(this.counter++);
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }
}

/** Gives back stored arrays in order (e.g. noise recorded from diffusers); throws when exhausted or on a size mismatch. */
export class ReplayNoiseSource implements NoiseSource {
  private next = 0;
  constructor(private readonly draws: readonly Float32Array[]) {}

  get consumed(): number {
    return this.next;
  }

  normal(n: number): Float32Array {
    const draw = this.draws[this.next];
    if (draw === undefined) throw new RangeError(`ReplayNoiseSource has only ${this.draws.length} draws stored.`);
    if (draw.length !== n) throw new RangeError(`ReplayNoiseSource draw ${this.next} has ${draw.length} values, ${n} were asked for.`);
    this.next++;
    return Float32Array.from(draw);
  }
}
