import test from "ava";
import {
  PolicyOptionsError,
  createSencacheBudgetPolicy,
  createSencachePolicy,
  createNonePolicy,
  createFixedIntervalPolicy,
  feasibleNfeRange,
  minComputesTable,
  resolvePolicy,
} from "../../ts/policies/index.js";
import type { CachePolicy, ComputedStep, Decision } from "../../ts/policies/types.js";
import { makeProfile } from "../../ts/sensitivity/profile-validate.js";
import type { SensitivityProfile } from "../../ts/sensitivity/profile.js";
import { FakeDenoiser, flowSchedule, runTrajectory, seededNormal } from "../../ts/testing/index.js";
import { FAKE_MODEL, ctx, linearSchedule, runInfo } from "./helpers.js";

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomProfile(T: number, seed: number, propagation = true): SensitivityProfile {
  const r = rng(seed);
  const { timesteps } = linearSchedule(T);
  const ts = Array.from(timesteps);
  return makeProfile({
    timesteps: ts,
    J_x_norm: Array.from(timesteps, () => 0.1 + 5 * r()),
    J_t_norm: Array.from(timesteps, () => 0.01 * r()),
    validFor: {},
    ...(propagation ? { propagation: { version: 1 as const, timesteps: ts, gain: ts.map(() => 0.1 + 3 * r()), samples: 2, steps: T, guidanceScale: 1 } } : {}),
  });
}

/** Drive a policy over T steps with a latent that drifts by random amounts (no model). */
async function drive(policy: CachePolicy, T: number, seed: number): Promise<{ decisions: Decision[]; computes: number[]; maxStreak: number }> {
  const r = rng(seed * 7919 + T);
  await policy.prepare?.(runInfo(T));
  let x: Float32Array = new Float32Array(4);
  let last: ComputedStep | undefined;
  let streak = 0;
  let maxStreak = 0;
  const decisions: Decision[] = [];
  const computes: number[] = [];
  for (let k = 0; k < T; k++) {
    const d = policy.decide(ctx({ step: k, T, latent: x, streak, ...(last ? { last } : {}) }));
    decisions.push(d);
    if (d.action === "compute") {
      last = { step: k, t: linearSchedule(T).timesteps[k]!, sigma: linearSchedule(T).sigmas[k]!, latent: x, outputs: [x] };
      computes.push(k);
      streak = 0;
    } else {
      streak++;
      maxStreak = Math.max(maxStreak, streak);
    }
    const burst = r() < 0.2 ? 5 : 1; // occasional jumps: the score is "random-ish"
    x = x.map((v) => v + burst * (r() - 0.5) * 0.3);
  }
  return { decisions, computes, maxStreak };
}

test("minimum computes: ceil(T/(n+1)) without forceLast, matching a brute-force count", (t) => {
  for (const T of [1, 2, 5, 7, 10, 33, 50]) {
    for (const n of [0, 1, 2, 3, 7, Infinity]) {
      const cap = Math.min(n, T);
      t.is(feasibleNfeRange(T, n, false).min, Math.ceil(T / (cap + 1)), `T ${T} n ${n}`);
      // forceLast: computes at 0 and T−1, gaps of at most n reuses in between
      const expected = T === 1 ? 1 : 1 + Math.ceil((T - 1) / (cap + 1));
      t.is(feasibleNfeRange(T, n, true).min, expected, `forceLast T ${T} n ${n}`);
    }
  }
  t.deepEqual(minComputesTable(3, 1, false), [[0, 0], [0, 1], [1, 1], [1, 2]]);
});

test("budget mode lands exactly on every feasible target for many T, n and random-ish score sequences", async (t) => {
  let runs = 0;
  for (const T of [5, 7, 10, 20, 33, 50]) {
    for (const n of [1, 2, 3, Infinity]) {
      for (const forceLast of [false, true]) {
        const { min, max } = feasibleNfeRange(T, n, forceLast);
        const stride = T >= 33 ? 4 : 1;
        for (let nfe = min; nfe <= max; nfe += stride) {
          const seed = runs;
          const policy = createSencacheBudgetPolicy(
            { profile: randomProfile(T, seed, runs % 3 !== 2), nfe, n, forceLast, placement: runs % 3 === 0 ? "early" : "propagation" },
          );
          const { computes, maxStreak, decisions } = await drive(policy, T, seed);
          runs++;
          if (computes.length !== nfe) t.fail(`T ${T} n ${n} forceLast ${forceLast} target ${nfe}: NFE ${computes.length}`);
          if (computes[0] !== 0) t.fail("first step not computed");
          if (forceLast && computes.at(-1) !== T - 1) t.fail("last step not computed");
          if (maxStreak > n) t.fail(`streak ${maxStreak} > n ${n}`);
          if (decisions.some((d) => d.reason === "budget unreachable")) t.fail("hit the unreachable branch");
        }
      }
    }
  }
  t.true(runs > 300, `${runs} runs`);
});

test("speed-up targets: NFE = round(T / speedup)", async (t) => {
  const policy = createSencacheBudgetPolicy({ profile: randomProfile(50, 1), speedup: 2.4, n: 3 });
  const { computes } = await drive(policy, 50, 3);
  t.is(computes.length, Math.round(50 / 2.4));
  t.is(resolvePolicy("sencache-budget:speedup=2", { profile: randomProfile(10, 1) }).id, "sencache-budget");
});

test("infeasible targets are a typed error in prepare, or clamped with a diagnostic", async (t) => {
  const tooFew = createSencacheBudgetPolicy({ profile: randomProfile(10, 1), nfe: 2, n: 2 }); // needs ≥ ceil(10/3) = 4
  const err = await t.throwsAsync(Promise.resolve(tooFew.prepare!(runInfo(10))));
  t.true(PolicyOptionsError.isInstance(err));
  t.is((err as PolicyOptionsError).code, "budget_infeasible");
  t.regex(err!.message, /feasible: 4–10/);
  const tooMany = createSencacheBudgetPolicy({ profile: randomProfile(10, 1), nfe: 12 });
  t.is(((await t.throwsAsync(Promise.resolve(tooMany.prepare!(runInfo(10))))) as PolicyOptionsError).code, "budget_infeasible");
  const clamped = createSencacheBudgetPolicy({ profile: randomProfile(10, 1), nfe: 2, n: 2, onInfeasible: "clamp" });
  const { computes } = await drive(clamped, 10, 1);
  t.is(computes.length, 4);
  t.regex(clamped.diagnostics!().join(), /clamped the target to 4/);
  t.is(t.throws(() => createSencacheBudgetPolicy({ profile: randomProfile(10, 1) }))!.constructor.name, "PolicyOptionsError");
});

test("every budget decision reports score and threshold; reuse iff score ≤ threshold when both are free", async (t) => {
  const policy = createSencacheBudgetPolicy({ profile: randomProfile(20, 2), nfe: 9, n: 3 });
  const { decisions } = await drive(policy, 20, 2);
  for (const d of decisions.slice(1)) {
    t.true(d.score !== undefined && d.threshold !== undefined && d.reason !== undefined, JSON.stringify(d));
    if (d.reason?.startsWith("budget plan")) t.is(d.action === "reuse", d.score! <= d.threshold!);
  }
});

test("placement (default early weighting): at equal NFE no worse than fixed-interval or plain SenCache on the fake denoiser", async (t) => {
  const T = 30;
  const shift = 3;
  const { timesteps } = flowSchedule(T, shift);
  const ts = Array.from(timesteps);
  const profile = makeProfile(
    {
      timesteps: ts,
      J_x_norm: ts.map((_, k) => 0.5 + 0.004 * k),
      J_t_norm: ts.map(() => 0.015),
      validFor: { model: FAKE_MODEL },
      propagation: { version: 1, timesteps: ts, gain: ts.map(() => 1), samples: 1, steps: T, guidanceScale: 3 },
    },
  );
  const err = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length);
  const totals = { budget: 0, fixed: 0, plain: 0, budgetVsPlain: 0 };
  for (const seed of [1, 2, 3]) {
    const latent = seededNormal(128, seed);
    const run = (policy: CachePolicy) => runTrajectory({ policy, denoiser: new FakeDenoiser(), latent, steps: T, shift, guidanceScale: 3 });
    const ref = await run(createNonePolicy());
    for (const k of [2, 3]) {
      const fixed = await run(createFixedIntervalPolicy({ k }));
      const budget = await run(createSencacheBudgetPolicy({ profile, nfe: fixed.nfe, n: 3 }));
      t.is(budget.nfe, fixed.nfe);
      t.deepEqual(budget.diagnostics, []);
      totals.fixed += err(fixed.latent, ref.latent);
      totals.budget += err(budget.latent, ref.latent);
    }
    for (const eps of [0.1, 0.2]) {
      const plain = await run(createSencachePolicy({ profile, epsStart: eps / 10, epsMain: eps, n: 3 }));
      const budget = await run(createSencacheBudgetPolicy({ profile, nfe: plain.nfe, n: 3 }));
      t.is(budget.nfe, plain.nfe);
      totals.plain += err(plain.latent, ref.latent);
      totals.budgetVsPlain += err(budget.latent, ref.latent);
    }
  }
  t.log(
    `final-latent RMS error, summed: fixed ${totals.fixed.toExponential(3)}, budget ${totals.budget.toExponential(3)}; plain ` +
      `${totals.plain.toExponential(3)}, budget ${totals.budgetVsPlain.toExponential(3)}`,
  );
  t.true(totals.budget <= totals.fixed * 1.02);
  // The default ("rule") is plain SenCache with ε searched to meet the budget: at the NFE plain
  // SenCache itself lands on, it should do at least as well (measured: 7.47e-2 vs 7.90e-2).
  t.true(totals.budgetVsPlain <= totals.plain * 1.02);
});

test("one policy, one option set: sencache:nfe= and sencache-budget: take the same options; each mode refuses the other's", (t) => {
  const profile = randomProfile(10, 1);
  const a = resolvePolicy("sencache:nfe=4,n=2,onInfeasible=clamp", { profile });
  const b = resolvePolicy("sencache-budget:nfe=4,n=2,onInfeasible=clamp", { profile });
  t.is(a.id, "sencache-budget");
  t.deepEqual(a.options, b.options);
  const e1 = t.throws(() => resolvePolicy("sencache:nfe=4,eps=0.1", { profile }));
  t.true(PolicyOptionsError.isInstance(e1));
  t.regex(e1!.message, /epsMain of the ε rule does not apply in budget mode/);
  t.regex(t.throws(() => resolvePolicy("sencache:eps=0.1,onInfeasible=clamp", { profile }))!.message, /onInfeasible applies only to budget mode/);
  t.regex(t.throws(() => resolvePolicy("sencache-budget:nfe=4,earlyWeight=3", { profile }))!.message, /earlyWeight/);
});

test("without a propagation measurement every step weighs the same, with a diagnostic", async (t) => {
  const policy = createSencacheBudgetPolicy({ profile: randomProfile(12, 3, false), nfe: 6, placement: "propagation" });
  const { computes } = await drive(policy, 12, 3);
  t.is(computes.length, 6);
  t.regex(policy.diagnostics!().join(), /no propagation measurement/);
});
