/**
 * Schedules as pure functions, in float64 as numpy computes them. Callers round to float32
 * (`Math.fround`) wherever diffusers stores a float32 tensor.
 */

/** numpy.linspace(start, stop, num) with endpoint: `i * step + start`, the last element set to `stop`. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  const step = div > 0 ? delta / div : Number.NaN;
  for (let i = 0; i < num; i++) {
    if (div > 0) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
    else out[i] = i * delta + start;
  }
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** Karras et al. 2022 (EDM), rho = 7: interpolate sigma^(1/rho) linearly between the ends. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7.0): Float64Array {
  const ramp = linspace(0, 1, n);
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/** Log-linear sigmas from sigmaMax down to sigmaMin. */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  return linspace(Math.log(sigmaMax), Math.log(sigmaMin), n).map(Math.exp);
}

/** "Beta Sampling is All You Need" (Lee et al. 2024): sigmas at Beta(alpha, beta) quantiles. */
export function betaSigmas(sigmaMin: number, sigmaMax: number, n: number, alpha = 0.6, beta = 0.6): Float64Array {
  return linspace(0, 1, n).map((u) => sigmaMin + betaPpf(1 - u, alpha, beta) * (sigmaMax - sigmaMin));
}

/** Resolution-dependent shift (SD3 / Flux / LTX-Video): exp(mu) / (exp(mu) + (1/t - 1)^sigma). */
export function timeShiftExponential(mu: number, sigma: number, t: number): number {
  return Math.exp(mu) / (Math.exp(mu) + (1 / t - 1) ** sigma);
}

/** Linear variant: mu / (mu + (1/t - 1)^sigma). */
export function timeShiftLinear(mu: number, sigma: number, t: number): number {
  return mu / (mu + (1 / t - 1) ** sigma);
}

/**
 * The `mu` of dynamic shifting for a token count, linear between (baseSeqLen, baseShift) and
 * (maxSeqLen, maxShift), as the Flux/LTX-Video pipelines compute it.
 */
export function calculateShift(seqLen: number, baseSeqLen = 256, maxSeqLen = 4096, baseShift = 0.5, maxShift = 1.15): number {
  const m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen);
  const b = baseShift - m * baseSeqLen;
  return seqLen * m + b;
}

// ---- Beta distribution quantile (what scipy.stats.beta.ppf gives), to ~1e-15 ---------------------

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (Lanczos, g = 7). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0] ?? 0;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] ?? 0) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Inverse of I_x(a, b) by bisection (monotone, robust; a few dozen CDF evaluations). */
export function betaPpf(q: number, a: number, b: number): number {
  if (q <= 0) return 0;
  if (q >= 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200 && hi - lo > 1e-17; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    if (betaCdf(mid, a, b) < q) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
