import test from "ava";
import { PolicyOptionsError, resolvePolicy } from "../../ts/policies/index.js";
import { createMaskPolicy, createStaticOptimalPolicy } from "../../ts/policies/static-optimal.js";
import { probeSteps } from "../../ts/sensitivity/propagation.js";
import { dpMask, maskFeasible, maskMoves } from "../../ts/sensitivity/static-mask-math.js";
import { validateStaticMasks, type StaticMasksFile } from "../../ts/sensitivity/static-masks.js";
import { ctx, runInfo } from "./helpers.js";

/** Brute force over all masks of K computes (step 0 computed, ≤ n consecutive reuses). */
function brute(T: number, K: number, n: number, cost: (r: number, j: number) => number): number {
  let best = Infinity;
  for (let bits = 0; bits < 1 << (T - 1); bits++) {
    const mask = [0];
    for (let i = 1; i < T; i++) if (bits & (1 << (i - 1))) mask.push(i);
    if (mask.length !== K || !maskFeasible(T, mask, n)) continue;
    let c = 0;
    for (let i = 0; i < mask.length; i++) for (let j = mask[i]! + 1; j < (mask[i + 1] ?? T); j++) c += cost(mask[i]!, j);
    best = Math.min(best, c);
  }
  return best;
}

test("dpMask is exact: matches brute force on random costs", (t) => {
  let a = 7;
  const rnd = () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const T of [6, 9, 11]) {
    for (const n of [1, 2, 3]) {
      const table = Array.from({ length: T }, () => Array.from({ length: T }, () => rnd()));
      const cost = (r: number, j: number) => table[r]![j]! * (j - r);
      for (let K = Math.ceil(T / (n + 1)); K <= T; K++) {
        const dp = dpMask(T, K, n, cost)!;
        t.is(dp.compute.length, K);
        t.true(maskFeasible(T, dp.compute, n));
        t.true(Math.abs(dp.cost - brute(T, K, n, cost)) < 1e-9, `T ${T} n ${n} K ${K}`);
      }
      t.is(dpMask(T, Math.ceil(T / (n + 1)) - 1, n, cost), undefined);
    }
  }
});

test("maskMoves keep masks feasible and the count fixed; probeSteps spread over 1..T−1", (t) => {
  const moves = maskMoves(10, [0, 3, 6, 9], 3);
  t.true(moves.length > 0);
  for (const m of moves) {
    t.is(m.length, 4);
    t.true(maskFeasible(10, m, 3));
  }
  t.deepEqual(probeSteps(50, 16).length, 16);
  t.is(probeSteps(50, 16)[0], 1);
  t.is(probeSteps(50, 16).at(-1), 49);
  t.deepEqual(probeSteps(4, 16), [1, 2, 3]);
});

const file = (): StaticMasksFile =>
  validateStaticMasks(
    {
      format: "sencache-static-masks",
      version: 1,
      validFor: {},
      steps: 8,
      n: 3,
      guidanceScale: 5,
      samples: 2,
      masks: [{ nfe: 3, compute: [0, 3, 6] }, { nfe: 4, compute: [0, 2, 4, 6] }],
    },
  );

test("static-optimal computes exactly its mask's steps", async (t) => {
  const p = createStaticOptimalPolicy({ nfe: 3, masks: file() });
  await p.prepare!(runInfo(8));
  const actions = Array.from({ length: 8 }, (_, k) =>
    p.decide(
      ctx(
        {
          step: k,
          T: 8,
          latent: new Float32Array(4),
          ...(k > 0 ? { last: { step: 0, t: 1000, sigma: 1, latent: new Float32Array(4), outputs: [new Float32Array(4)] } } : {}),
        },
      ),
    ).action,
  );
  t.deepEqual(actions.map((a, k) => (a === "compute" ? k : -1)).filter((k) => k >= 0), [0, 3, 6]);
  t.is(resolvePolicy("static-optimal:nfe=4", { masks: file() }).id, "static-optimal");
  t.deepEqual(createMaskPolicy([0, 2]).options.compute, [0, 2]);
});

test("static-optimal: typed errors for a missing NFE, another step count and bad files", async (t) => {
  const e1 = t.throws(() => createStaticOptimalPolicy({ nfe: 5, masks: file() }));
  t.true(PolicyOptionsError.isInstance(e1));
  t.regex(e1!.message, /no mask for nfe 5 \(it has 3, 4\)/);
  const p = createStaticOptimalPolicy({ nfe: 3, masks: file() });
  t.regex(t.throws(() => p.prepare!(runInfo(10)))!.message, /searched for 8 steps but the run has 10/);
  t.regex(t.throws(() => createStaticOptimalPolicy({ nfe: 3 }))!.message, /needs a mask file/);
  t.regex(t.throws(() => validateStaticMasks({ ...file(), masks: [{ nfe: 2, compute: [1, 3] }] }))!.message, /does not compute step 0/);
  t.regex(t.throws(() => validateStaticMasks({ ...file(), masks: [{ nfe: 2, compute: [0, 9] }] }))!.message, /ascending integers/);
  t.regex(t.throws(() => createStaticOptimalPolicy({ nfe: 3, masks: "/nonexistent/masks.json" }))!.message, /cannot be read/);
});
