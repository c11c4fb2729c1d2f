/**
 * Quality of a cached video against the uncached video of the same seed, and the summary
 * statistics the benchmarks report.
 *
 * Videos are uint8 RGB laid out [F, H, W, 3].
 *
 * - `psnr`: 10·log10(peak² / MSE) with the MSE over every value of every frame (not a mean of
 *   per-frame PSNRs). Identical inputs have MSE 0 and infinite PSNR; it is reported as
 *   `PSNR_CAP` = 100 dB (and any larger value is capped too) so tables and plots stay finite.
 * - `ssim`: SSIM (Wang et al. 2004) exactly as `skimage.metrics.structural_similarity(a, b,
 *   gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255,
 *   channel_axis=-1)` computes it per frame: per channel (R, G, B computed separately and
 *   averaged — the default; `{ channels: "luma" }` uses Y = 0.299R + 0.587G + 0.114B instead),
 *   11-tap separable Gaussian (σ = 1.5, radius 5), "reflect" boundary, population covariance,
 *   K1 = 0.01, K2 = 0.03, mean over the interior with a 5-pixel margin cropped. The video's SSIM is
 *   the mean over frames. Images smaller than 11 pixels along an axis (where skimage refuses) use a
 *   window clipped to that axis: radius min(5, ⌊(n−1)/2⌋), Gaussian weights renormalised, and the
 *   same radius as crop margin. scripts/ssim-reference.py is the numpy reference and writes the
 *   golden numbers the tests check (agreement ~1e-12).
 * - `psnrLatent`: PSNR of float latents with the peak taken as the reference's own range
 *   max(a) − min(a) (`a` is the uncached latent); same 100 dB cap, −100 when the reference is
 *   constant but the other differs.
 */

export const PSNR_CAP = 100;

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: inputs differ in length (${a.length} vs ${b.length}).`);
  if (a.length === 0) throw new RangeError(`${what}: inputs are empty.`);
}

function psnrFromMse(mse: number, peak: number): number {
  if (mse === 0) return PSNR_CAP;
  return Math.min(PSNR_CAP, 10 * Math.log10((peak * peak) / mse));
}

function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s / a.length;
}

/** PSNR in dB over all values of `a` and `b` (same length), capped at PSNR_CAP (also for identical inputs). */
export function psnr(a: Uint8Array, b: Uint8Array, peak = 255): number {
  checkPair(a, b, "psnr");
  return psnrFromMse(mse(a, b), peak);
}

/** PSNR of float latents, peak = range (max − min) of the reference `a`; capped at ±PSNR_CAP. */
export function psnrLatent(a: Float32Array, b: Float32Array): number {
  checkPair(a, b, "psnrLatent");
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const e = mse(a, b);
  if (e === 0) return PSNR_CAP;
  if (hi - lo === 0) return -PSNR_CAP;
  return psnrFromMse(e, hi - lo);
}

export interface VideoDims {
  readonly frames: number;
  readonly height: number;
  readonly width: number;
}

export interface SsimOptions {
  /** "rgb" (default): per channel, averaged; "luma": on Y = 0.299R + 0.587G + 0.114B. */
  readonly channels?: "rgb" | "luma";
  /** Dynamic range of the values (default 255). */
  readonly dataRange?: number;
}

export interface SsimResult {
  /** Mean over frames. */
  readonly mean: number;
  readonly perFrame: readonly number[];
}

const SIGMA = 1.5;
const MAX_RADIUS = 5; // int(3.5 * 1.5 + 0.5), skimage's 11-tap window

function taps(radius: number): Float64Array {
  const t = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) {
    const v = Math.exp((-0.5 / (SIGMA * SIGMA)) * k * k);
    t[k + radius] = v;
    sum += v;
  }
  for (let i = 0; i < t.length; i++) t[i] = t[i]! / sum;
  return t;
}

function reflect(i: number, n: number): number {
  if (i < 0) return -i - 1;
  if (i >= n) return 2 * n - i - 1;
  return i;
}

/** Separable Gaussian filter of a row-major [h, w] plane: along rows (y) first, then columns (x). */
function gaussian2d(src: Float64Array, h: number, w: number, ry: number, rx: number): Float64Array {
  const ty = taps(ry);
  const tx = taps(rx);
  const tmp = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = -ry; k <= ry; k++) acc += ty[k + ry]! * src[reflect(y + k, h) * w + x]!;
      tmp[y * w + x] = acc;
    }
  }
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = -rx; k <= rx; k++) acc += tx[k + rx]! * tmp[y * w + reflect(x + k, w)]!;
      out[y * w + x] = acc;
    }
  }
  return out;
}

/** Mean SSIM of two [h, w] float planes (see the module comment for the exact definition). */
export function ssimPlane(x: Float64Array, y: Float64Array, h: number, w: number, dataRange = 255): number {
  const ry = Math.min(MAX_RADIUS, (h - 1) >> 1);
  const rx = Math.min(MAX_RADIUS, (w - 1) >> 1);
  const n = h * w;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const ux = gaussian2d(x, h, w, ry, rx);
  const uy = gaussian2d(y, h, w, ry, rx);
  const uxx = gaussian2d(xx, h, w, ry, rx);
  const uyy = gaussian2d(yy, h, w, ry, rx);
  const uxy = gaussian2d(xy, h, w, ry, rx);
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  let sum = 0;
  let count = 0;
  for (let r = ry; r < h - ry; r++) {
    for (let c = rx; c < w - rx; c++) {
      const i = r * w + c;
      const mx = ux[i]!;
      const my = uy[i]!;
      const vx = uxx[i]! - mx * mx;
      const vy = uyy[i]! - my * my;
      const vxy = uxy[i]! - mx * my;
      sum += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return sum / count;
}

function planeOf(frame: Uint8Array, n: number, mode: "r" | "g" | "b" | "luma"): Float64Array {
  const out = new Float64Array(n);
  if (mode === "luma") {
    for (let p = 0; p < n; p++) out[p] = frame[3 * p]! * 0.299 + frame[3 * p + 1]! * 0.587 + frame[3 * p + 2]! * 0.114;
  } else {
    const c = mode === "r" ? 0 : mode === "g" ? 1 : 2;
    for (let p = 0; p < n; p++) out[p] = frame[3 * p + c]!;
  }
  return out;
}

/** SSIM of two uint8 RGB videos [F, H, W, 3], per frame and averaged over frames. */
export function ssimVideo(a: Uint8Array, b: Uint8Array, dims: VideoDims, options: SsimOptions = {}): SsimResult {
  const { frames, height: h, width: w } = dims;
  if (![frames, h, w].every((v) => Number.isInteger(v) && v > 0)) throw new RangeError("ssim: frames, height and width must be positive integers.");
  if (a.length !== frames * h * w * 3 || b.length !== a.length) {
    throw new RangeError(`ssim: [${frames}, ${h}, ${w}, 3] needs ${frames * h * w * 3} bytes per video; got ${a.length} and ${b.length}.`);
  }
  const range = options.dataRange ?? 255;
  const modes = options.channels === "luma" ? (["luma"] as const) : (["r", "g", "b"] as const);
  const n = h * w;
  const perFrame: number[] = [];
  for (let f = 0; f < frames; f++) {
    const fa = a.subarray(f * n * 3, (f + 1) * n * 3);
    const fb = b.subarray(f * n * 3, (f + 1) * n * 3);
    let s = 0;
    for (const m of modes) s += ssimPlane(planeOf(fa, n, m), planeOf(fb, n, m), h, w, range);
    perFrame.push(s / modes.length);
  }
  return { mean: mean(perFrame), perFrame };
}

/** Mean SSIM over frames of two uint8 RGB videos [F, H, W, 3]. */
export function ssim(a: Uint8Array, b: Uint8Array, dims: VideoDims, options: SsimOptions = {}): number {
  return ssimVideo(a, b, dims, options).mean;
}

// ---------------------------------------------------------------- summary statistics

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median: no values.");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("mean: no values.");
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1 denominator); 0 for a single value. */
export function standardDeviation(xs: readonly number[]): number {
  const m = mean(xs);
  if (xs.length < 2) return 0;
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/** Standard error of the mean: sample SD / √n (0 for a single value). */
export function standardError(xs: readonly number[]): number {
  return standardDeviation(xs) / Math.sqrt(xs.length);
}

export interface PairedDifference {
  /** Mean of a[i] − b[i]. */
  readonly mean: number;
  /** Standard error of that mean (SD of the differences / √n). */
  readonly se: number;
  readonly n: number;
}

/**
 * Paired per-clip differences a[i] − b[i] (e.g. PSNR of policy A vs policy B on the same seeds and
 * prompts): mean and standard error of the differences, which is tighter than comparing two
 * independent means because clip difficulty cancels.
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) throw new RangeError(`pairedDifference: ${a.length} vs ${b.length} values; pairs need equal lengths.`);
  const d = a.map((v, i) => v - b[i]!);
  return { mean: mean(d), se: standardError(d), n: d.length };
}
