/**
 * bfloat16 / float16 ⇄ float32 at the TS edge. A model that runs in bf16 (or fp16) gets its latents in
 * that dtype on the wire, half the bytes; the loop, the schedulers and every policy stay float32.
 * float32 → half rounds to nearest, ties to even, exactly as torch's `.to(torch.bfloat16)` /
 * `.to(torch.float16)`: the worker would round the float32 latent the same way before the forward, so
 * sending bf16 changes nothing the model sees, and a bf16 output widens to float32 exactly.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 values → bfloat16 bit patterns (round to nearest even; NaN stays a quiet NaN). */
export function toBfloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) {
    const b = bits[i] as number;
    if ((b & 0x7fffffff) > 0x7f800000) {
      out[i] = ((b >>> 16) | 0x0040) & 0xffff;
      continue;
    }
    out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** bfloat16 bit patterns → float32 (exact). */
export function fromBfloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) o[i] = ((bits[i] as number) << 16) >>> 0;
  return out;
}

/** float32 values → IEEE float16 bit patterns (round to nearest even, subnormals, ±∞ on overflow). */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i] as number;
    const b = u32[0] as number;
    const sign = (b >>> 16) & 0x8000;
    const exp = (b >>> 23) & 0xff;
    let mant = b & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let m = mant >>> shift;
      if (rest > half || (rest === half && (m & 1) === 1)) m++;
      out[i] = sign | m;
      continue;
    }
    const rest = mant & 0x1fff;
    let h = (e << 10) | (mant >>> 13);
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is right, up to ∞
    out[i] = sign | h;
  }
  return out;
}

/** IEEE float16 bit patterns → float32 (exact). */
export function fromFloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i] as number;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    out[i] = exp === 0 ? sign * mant * 2 ** -24 : exp === 0x1f ? (mant ? NaN : sign * Infinity) : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

export type HalfDtype = "bfloat16" | "float16";

export function toHalf(dtype: HalfDtype, values: Float32Array): Uint16Array {
  return dtype === "bfloat16" ? toBfloat16(values) : toFloat16(values);
}

export function fromHalf(dtype: HalfDtype, bits: Uint16Array): Float32Array {
  return dtype === "bfloat16" ? fromBfloat16(bits) : fromFloat16(bits);
}
