/** Numeric helpers shared by the schedulers, the policies and calibration (one implementation each). */

/** Python's / numpy's `round`: half to even (where a published rule or diffusers' code rounds with it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  const isHalf = Math.abs(x - Math.trunc(x)) === 0.5;
  if (!isHalf) return r;
  return r % 2 === 0 ? r : r - 1;
}

/** ‖a − b‖₂, accumulated in float64; NaN when the lengths differ. */
export function l2Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return NaN;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

/** ‖a‖₂, accumulated in float64. */
export function l2Norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}
