import test from "ava";
import { readFileSync } from "node:fs";
import { mean, pairedDifference, psnr, psnrLatent, PSNR_CAP, ssim, ssimVideo, standardError } from "../../ts/bench/metrics.js";
import { execFileSync } from "node:child_process";
import { HAS_PYTHON, PYTHON, pseudoRandomBytes, ROOT } from "../media/helpers.js";

interface GoldenCase {
  shape: [number, number, number, number];
  psnr: number;
  ssim: number;
  ssim_per_frame: number[];
  ssim_luma: number;
}
interface Goldens {
  psnr_cap: number;
  cases: Record<string, GoldenCase>;
  latent: { n: number; psnr_latent: number };
}

// Written by `.venv/bin/python scripts/ssim-reference.py` (numpy reference of skimage's SSIM).
const golden = JSON.parse(readFileSync(`${ROOT}test/bench/metrics-goldens.json`, "utf8")) as Goldens;

// The same inputs scripts/ssim-reference.py builds.
function perturb(a: Uint8Array, seed: number, amp: number): Uint8Array {
  const r = pseudoRandomBytes(a.length, seed);
  return a.map((v, i) => Math.min(255, Math.max(0, v + (r[i]! % (2 * amp + 1)) - amp)));
}
function pattern(f: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(f * h * w * 3);
  for (let i = 0; i < f; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    out[((i * h + y) * w + x) * 3 + c] = (3 * x + 5 * y + 7 * i + 60 * c + ((x * y) >> 3)) % 256;
  }
  return out;
}
function caseInputs(name: string): [Uint8Array, Uint8Array] {
  switch (name) {
    case "noise_32": { const a = pseudoRandomBytes(2 * 32 * 32 * 3, 1); return [a, perturb(a, 2, 20)]; }
    case "pattern_quantised": { const a = pattern(3, 24, 20); return [a, a.map((v) => (v >> 4) << 4)]; }
    case "small_5x7": { const a = pseudoRandomBytes(2 * 5 * 7 * 3, 3); return [a, perturb(a, 4, 30)]; }
    case "video_9x32x32": { const a = pattern(9, 32, 32); return [a, perturb(a, 5, 6)]; }
    default: throw new Error(`no inputs for golden case ${name}`);
  }
}

test("the goldens cover every case the test knows", (t) => {
  t.deepEqual(Object.keys(golden.cases).sort(), ["noise_32", "pattern_quantised", "small_5x7", "video_9x32x32"]);
  t.is(golden.psnr_cap, PSNR_CAP);
});

for (const [name, g] of Object.entries(golden.cases)) {
  test(`PSNR and SSIM match the numpy reference: ${name}`, (t) => {
    const [a, b] = caseInputs(name);
    const [frames, height, width] = g.shape;
    const dims = { frames, height, width };
    t.true(Math.abs(psnr(a, b) - g.psnr) < 1e-8, `psnr ${psnr(a, b)} vs ${g.psnr}`);
    const r = ssimVideo(a, b, dims);
    t.true(Math.abs(r.mean - g.ssim) < 1e-9, `ssim ${r.mean} vs ${g.ssim}`);
    r.perFrame.forEach((v, i) => t.true(Math.abs(v - g.ssim_per_frame[i]!) < 1e-9));
    const luma = ssim(a, b, dims, { channels: "luma" });
    t.true(Math.abs(luma - g.ssim_luma) < 1e-9, `luma ${luma} vs ${g.ssim_luma}`);
  });
}

test("identical inputs: PSNR is the cap, SSIM is 1", (t) => {
  const a = pattern(2, 16, 12);
  t.is(psnr(a, a), PSNR_CAP);
  t.true(Math.abs(ssim(a, a, { frames: 2, height: 16, width: 12 }) - 1) < 1e-12);
  const z = new Float32Array([1, 2, 3]);
  t.is(psnrLatent(z, z), PSNR_CAP);
});

test("PSNR by hand: one value off by 255 in 4 → 10·log10(4) dB", (t) => {
  t.true(Math.abs(psnr(Uint8Array.of(0, 0, 0, 0), Uint8Array.of(255, 0, 0, 0)) - 10 * Math.log10(4)) < 1e-12);
  t.throws(() => psnr(new Uint8Array(3), new Uint8Array(4)), { instanceOf: RangeError });
});

test("psnrLatent uses the reference's own range (golden and by hand)", (t) => {
  const i = Array.from({ length: golden.latent.n }, (_, k) => k);
  const ref = Float32Array.from(i, (k) => (((k * 37) % 101) - 50) / 25);
  const other = Float32Array.from(i, (k) => ref[k]! + (((k * 13) % 7) - 3) / 200);
  t.true(Math.abs(psnrLatent(ref, other) - golden.latent.psnr_latent) < 1e-6, `${psnrLatent(ref, other)} vs ${golden.latent.psnr_latent}`);
  // Peak 2 (range of a), MSE 0.25 → 10·log10(16).
  t.true(Math.abs(psnrLatent(Float32Array.of(-1, 1), Float32Array.of(-0.5, 0.5)) - 10 * Math.log10(16)) < 1e-9);
});

test("mean, standard error and paired difference on a hand-worked example", (t) => {
  t.is(mean([1, 2, 3, 4]), 2.5);
  // SD of [1,2,3,4] = sqrt(5/3); SE = sqrt(5/3)/2.
  t.true(Math.abs(standardError([1, 2, 3, 4]) - Math.sqrt(5 / 3) / 2) < 1e-12);
  t.is(standardError([7]), 0);
  // Differences a−b = [1, 3, 2, 2]: mean 2, SD sqrt(2/3), SE sqrt(2/3)/2 = 0.40825.
  const d = pairedDifference([31, 33, 30, 29], [30, 30, 28, 27]);
  t.is(d.n, 4);
  t.is(d.mean, 2);
  t.true(Math.abs(d.se - Math.sqrt(2 / 3) / 2) < 1e-12);
  t.throws(() => pairedDifference([1], [1, 2]), { instanceOf: RangeError });
});

test("a random 32×32 frame against itself plus mild noise scores high but below 1", (t) => {
  const a = pseudoRandomBytes(32 * 32 * 3, 77);
  const b = perturb(a, 78, 3);
  const s = ssim(a, b, { frames: 1, height: 32, width: 32 });
  t.true(s > 0.99 && s < 1);
});

(HAS_PYTHON ? test : test.skip)("the committed goldens are what scripts/ssim-reference.py writes (--check)", (t) => {
  t.notThrows(() => execFileSync(PYTHON, [`${ROOT}scripts/ssim-reference.py`, "--check"], { stdio: "pipe" }));
});
