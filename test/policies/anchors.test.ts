import test from "ava";
import {
  createEasycachePolicy,
  createFixedIntervalPolicy,
  createMagcachePolicy,
  createNonePolicy,
  createTeacachePolicy,
  easycacheWarmup,
  polyval,
  publishedRatiosByBranch,
  resampleRatios,
} from "../../ts/policies/index.js";
import { magnitudeRatios } from "../../ts/sensitivity/index.js";
import { FakeDenoiser, runTrajectory, seededNormal } from "../../ts/testing/index.js";
import { computed, ctx, runInfo } from "./helpers.js";

const z = (n = 4) => new Float32Array(n);
const actions = (p: ReturnType<typeof createFixedIntervalPolicy>, T: number) =>
  Array.from(
    { length: T },
    (_, k) => (p.decide(ctx({ step: k, T, latent: z(), ...(k > 0 ? { last: computed(k - 1, T, z()) } : {}) })).action === "compute" ? "C" : "r"),
  ).join("");

test("none computes every step", (t) => {
  t.is(actions(createNonePolicy() as never, 5), "CCCCC");
});

test("fixed-interval: warm-up, every k-th step, T not a multiple of k, optional forced last step", (t) => {
  t.is(actions(createFixedIntervalPolicy({ k: 3 }), 10), "CrrCrrCrrC");
  t.is(actions(createFixedIntervalPolicy({ k: 3 }), 8), "CrrCrrCr");
  t.is(actions(createFixedIntervalPolicy({ k: 3, forceLast: true }), 8), "CrrCrrCC");
  t.is(actions(createFixedIntervalPolicy({ k: 3, warmup: 2 }), 11), "CCCrrCrrCrr");
  t.is(actions(createFixedIntervalPolicy({ k: 1 }), 4), "CCCC");
});

test("teacache: accumulates poly4(rel_L1) of the time embedding, resets on compute; first and last computed", async (t) => {
  // Embeddings chosen so rel_L1 between neighbours is 0.1 each step: e_k = 1.1^k (all entries).
  const T = 8;
  const emb = Array.from({ length: T }, (_, k) => new Float32Array(3).fill(1.1 ** k));
  const p = createTeacachePolicy({ coefficients: [0, 0, 0, 1, 0], delta: 0.25 }); // poly = x → each step adds ≈ 0.0909 (mean|Δ|/mean|prev|) = 0.1 exactly
  await p.prepare!(runInfo(T, { probes: { timeEmbedding: async () => emb } }));
  let last = computed(0, T, z());
  const seq: string[] = [];
  for (let k = 0; k < T; k++) {
    const d = p.decide(ctx({ step: k, T, latent: z(), ...(k > 0 ? { last } : {}) }));
    seq.push(d.action === "compute" ? "C" : "r");
    if (d.action === "compute") last = computed(k, T, z());
  }
  // A after a compute: 0.1, 0.2 (< 0.25 reuse), 0.3 → compute. Last step forced.
  t.is(seq.join(""), "CrrCrrCC");
  t.is(polyval([2396.76752, -1311.10545, 201.331979, -8.29855975, 0.137887774], 0), 0.137887774);
  t.deepEqual(p.diagnostics!(), []);
});

test("teacache: a NaN indicator computes loudly; a missing probe says so", async (t) => {
  const T = 5;
  const emb = Array.from({ length: T }, () => new Float32Array(3)); // zeros → 0/0 = NaN
  const p = createTeacachePolicy({ delta: 0.1 });
  await p.prepare!(runInfo(T, { probes: { timeEmbedding: async () => emb } }));
  const d = p.decide(ctx({ step: 2, T, latent: z(), last: computed(1, T, z()) }));
  t.is(d.action, "compute");
  t.regex(p.diagnostics!().join(), /NaN/);
  const q = createTeacachePolicy();
  await q.prepare!(runInfo(T));
  t.is(q.decide(ctx({ step: 2, T, latent: z(), last: computed(1, T, z()) })).action, "compute");
  t.regex(q.diagnostics!().join(), /probe failed/);
});

test("teacache on the fake denoiser's sinusoidal time embedding skips some steps", async (t) => {
  const den = new FakeDenoiser();
  const r = await runTrajectory(
    {
      policy: createTeacachePolicy({ coefficients: [0, 0, 0, 1, 0], delta: 1.7 }),
      denoiser: den,
      latent: seededNormal(16, 1),
      steps: 20,
      probes: { timeEmbedding: (ts) => den.timeEmbedding(ts) },
    },
  );
  t.true(r.nfe < 20 && r.nfe > 2, `NFE ${r.nfe}`);
  t.deepEqual(r.diagnostics, []);
});

test("magcache: nearest-index resampling per branch matches numpy's round-half-even", (t) => {
  const wan = publishedRatiosByBranch("wan2.1-t2v-1.3b");
  t.is(wan.length, 2);
  t.is(wan[0]!.length, 50);
  t.deepEqual(wan[0]!.slice(0, 3), [1.0, 1.0124, 1.00166]);
  t.deepEqual(wan[1]!.slice(0, 3), [1.0, 1.02213, 1.0041]);
  // T = 50 → identity; T = 25: idx = round(i·49/24) = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 25 (24.5 → 24? no: 12·49/24 = 24.5 → 24), …]
  t.deepEqual(resampleRatios(wan[0]!, 50), wan[0]);
  const idx = (T: number, L: number) => Array.from({ length: T }, (_, i) => {
    const x = (i * (L - 1)) / (T - 1);
    const r = Math.round(x);
    return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 === 1 ? r - 1 : r;
  });
  t.is(idx(25, 50)[12], 24); // 24.5 rounds to even
  t.deepEqual(resampleRatios(wan[0]!, 25), idx(25, 50).map((i) => wan[0]![i]!));
  t.deepEqual(resampleRatios([1, 2, 3, 4, 5], 3), [1, 3, 5]);
  t.deepEqual(resampleRatios([1, 2, 3, 4], 1), [4]);
  t.deepEqual(resampleRatios([1, 2], 4), [1, 1, 2, 2]); // idx = round([0, 1/3, 2/3, 1]) = [0, 0, 1, 1]
});

test("magcache: Γ *= γ; E += |1 − Γ|; reuse iff E < δ and k ≤ K; retention steps computed", async (t) => {
  const T = 10;
  const ratios = [1, 1, 1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9];
  const p = createMagcachePolicy({ ratios, delta: 0.5, K: 2, retention: 0.2 });
  await p.prepare!(runInfo(T));
  let last = computed(0, T, z());
  const seq: string[] = [];
  const scores: (number | undefined)[] = [];
  for (let k = 0; k < T; k++) {
    const d = p.decide(ctx({ step: k, T, latent: z(), ...(k > 0 ? { last } : {}) }));
    seq.push(d.action === "compute" ? "C" : "r");
    scores.push(d.score);
    if (d.action === "compute") last = computed(k, T, z());
  }
  // steps 0,1 retention; step 2: Γ=1, E=0 → r; 3: Γ=.9, E=.1 → r (k=2); 4: k=3 > K → C;
  // 5: Γ=.9 E=.1 r; 6: Γ=.81 E=.29 r; 7: k=3 → C; 8: r (.1); 9: r (.29)
  t.is(seq.join(""), "CCrrCrrCrr");
  t.true(Math.abs(scores[6]! - 0.29) < 1e-12);
  // error threshold: δ = 0.2 → step 6's E = 0.29 ≥ δ computes
  const q = createMagcachePolicy({ ratios, delta: 0.2, K: 9, retention: 0 });
  await q.prepare!(runInfo(T));
  t.is(q.decide(ctx({ step: 6, T, latent: z(), last: computed(4, T, z()) })).action, "compute");
  t.is(q.decide(ctx({ step: 5, T, latent: z(), last: computed(4, T, z()) })).action, "reuse");
});

test("magcache: published Wan ratios for T = 50 and resampled for T = 20 (diagnostic says so)", async (t) => {
  const p = createMagcachePolicy({});
  await p.prepare!(runInfo(20, { guidance: true }));
  t.regex(p.diagnostics!().join(), /ratios for 50 steps resampled to 20/);
  const r = await runTrajectory({ policy: createMagcachePolicy({}), denoiser: new FakeDenoiser(), latent: seededNormal(16, 2), steps: 50, guidanceScale: 4 });
  t.true(r.nfe < 50, `NFE ${r.nfe}`);
  t.is(r.computedSteps.slice(0, 10).join(), "0,1,2,3,4,5,6,7,8,9");
});

test("magcache: ratios from calibration outputs are mean ‖out_k‖/‖out_{k−1}‖ over samples", (t) => {
  const out = (v: number) => Float32Array.from([v, 0]);
  const { ratios, std } = magnitudeRatios([
    [out(1), out(2), out(1)],
    [out(1), out(4), out(4)],
  ]);
  t.deepEqual(ratios, [1, 3, 0.75]);
  t.is(std[1], Math.SQRT2);
});

test("easycache: rate k, accumulated change and the transformed output o_n = x_n + (o_c − x_c)", (t) => {
  const T = 20;
  const p = createEasycachePolicy({ tau: 0.5, warmup: 2, forceLast: true });
  // two computed steps: x_c' = 0, o_c' = 1; x_c = 1, o_c = 3 → k = mean|3−1| / mean|1−0| = 2
  const previous = computed(0, T, Float32Array.from([0, 0]), [Float32Array.from([1, 1])]);
  const last = computed(1, T, Float32Array.from([1, 1]), [Float32Array.from([3, 3])]);
  t.is(p.decide(ctx({ step: 0, T, latent: Float32Array.from([0, 0]) })).action, "compute");
  t.is(p.decide(ctx({ step: 1, T, latent: Float32Array.from([1, 1]), last: previous })).action, "compute");
  // step 2: x_2 = 1.25 → E = 2·0.25/3 = 1/6 < 0.5 → reuse with o = 1.25 + (3 − 1) = 3.25
  const d = p.decide(ctx({ step: 2, T, latent: Float32Array.from([1.25, 1.25]), last, previous }));
  t.is(d.action, "reuse");
  t.true(Math.abs(d.score! - 1 / 6) < 1e-7);
  t.deepEqual(d.action === "reuse" ? Array.from(d.outputs![0]!) : [], [3.25, 3.25]);
  // step 3: x_3 = 1.75 → E += 2·0.5/3 → 0.5 ≥ τ → compute
  const e = p.decide(ctx({ step: 3, T, latent: Float32Array.from([1.75, 1.75]), last, previous, streak: 1 }));
  t.is(e.action, "compute");
  t.true(Math.abs(e.score! - 0.5) < 1e-7);
});

test("easycache: warm-up default min(10, max(2, round(0.2·T))), last step computed, NaN rate loud", async (t) => {
  t.deepEqual([5, 10, 20, 50, 100].map(easycacheWarmup), [2, 2, 4, 10, 10]);
  const r = await runTrajectory(
    { policy: createEasycachePolicy({ tau: 0.2 }), denoiser: new FakeDenoiser(), latent: seededNormal(16, 3), steps: 30, guidanceScale: 4 },
  );
  t.is(r.computedSteps.slice(0, 6).join(), "0,1,2,3,4,5");
  t.is(r.computedSteps.at(-1), 29);
  t.true(r.nfe < 30, `NFE ${r.nfe}`);
  const p = createEasycachePolicy({ warmup: 2 });
  const same = Float32Array.from([1, 1]);
  p.decide(ctx({ step: 1, T: 10, latent: same, last: computed(0, 10, same) }));
  const d = p.decide(ctx({ step: 2, T: 10, latent: same, last: computed(1, 10, same), previous: computed(0, 10, same) }));
  t.is(d.action, "compute"); // 0/0 rate
  t.regex(p.diagnostics!().join(), /NaN/);
});
