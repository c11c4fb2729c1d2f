/**
 * Two experts are two models for every policy: a fake two-expert denoiser (Wan 2.2 A14B routing,
 * t ≥ boundary → "transformer", below → "transformer_2") whose experts give very different outputs.
 * For each built-in policy and for a plugin that always asks to reuse, no reused step takes an output
 * the other expert computed; the first step after the switch is computed; the policy is reset and
 * prepared again with the new expert; the summary shows the switch.
 */
import test from "ava";
import { resolvePolicy } from "../../ts/policies/index.js";
import type { CachePolicy, RunInfo } from "../../ts/policies/types.js";
import { describeExperts, expertOf, expertSpans } from "../../ts/sampling/experts.js";
import { sample } from "../../ts/sampling/loop.js";
import type { Denoiser, DenoiseItem, StepEvent } from "../../ts/sampling/types.js";
import { splitBudget } from "../../ts/policies/budget-plan.js";
import { createScheduler } from "../../ts/schedulers/index.js";
import { FakeDenoiser, fakeModel, seededNormal } from "../../ts/testing/index.js";
import { expertProfile, withExpertSections } from "../../ts/sensitivity/profile-experts.js";
import { makeProfile } from "../../ts/sensitivity/profile-validate.js";
import { validateMagcacheRatios, withExpertRatios } from "../../ts/sensitivity/magcache-ratios.js";

const BOUNDARY = 875;
const EXPERTS = [
  { name: "transformer", tMin: BOUNDARY, tMax: 1000 },
  { name: "transformer_2", tMin: 0, tMax: BOUNDARY },
];
const shape = [1, 2, 1, 3, 4];
const spec = { className: "FlowMatchEulerDiscreteScheduler", config: { num_train_timesteps: 1000, shift: 5.0 } };

/** Expert 1 is the fake model; expert 2 the fake model plus 50 (reusing one on the other's steps shows at once). */
class TwoExperts implements Denoiser {
  readonly served: { t: number; expert: string }[] = [];
  readonly fake = new FakeDenoiser();
  async denoise(items: readonly DenoiseItem[]): Promise<Float32Array[]> {
    return items.map((it) => {
      const expert = it.t >= BOUNDARY ? "transformer" : "transformer_2";
      this.served.push({ t: it.t, expert });
      const out = fakeModel(it.x, it.t, it.branch, it.cond);
      if (expert === "transformer_2") for (let i = 0; i < out.length; i++) out[i] = out[i]! + 50;
      return out;
    });
  }
  timeEmbedding(ts: readonly number[]): Promise<Float32Array[]> {
    return this.fake.timeEmbedding(ts);
  }
}

const T = 12;
const schedule = createScheduler(spec, T);
const spans = expertSpans(EXPERTS, schedule.timesteps);
const switchStep = spans[1]!.firstStep;

const flat = (jx: number, jt: number) => makeProfile(
  {
    timesteps: Array.from(schedule.timesteps),
    J_x_norm: Array.from(schedule.timesteps, () => jx),
    J_t_norm: Array.from(schedule.timesteps, () => jt),
    validFor: {},
  },
);

async function run(policy: CachePolicy, guidance = 3) {
  const denoiser = new TwoExperts();
  const events: StepEvent[] = [];
  const result = await sample({
    denoiser,
    scheduler: createScheduler(spec, T),
    latent: seededNormal(24, 3),
    latentShape: shape,
    cond: "prompt",
    uncond: "",
    guidanceScale: guidance,
    policy,
    experts: EXPERTS,
    probes: { timeEmbedding: (ts) => denoiser.timeEmbedding(ts) },
    onStep: (e) => events.push(e),
  });
  return { ...result, events, denoiser };
}

/** For every reused step, the last computed step before it is served by the same expert. */
function assertNoCrossing(t: import("ava").ExecutionContext, events: readonly StepEvent[]): void {
  let lastComputed = -1;
  for (const e of events) {
    if (e.action === "compute") lastComputed = e.step;
    else {
      t.true(lastComputed >= 0);
      t.is(
        expertOf(EXPERTS, events[lastComputed]!.t),
        expertOf(EXPERTS, e.t),
        `step ${e.step} reused the output of step ${lastComputed}, computed by the other expert`,
      );
    }
  }
}

test("the schedule splits at the boundary; t = boundary goes to the high-noise expert", (t) => {
  t.is(spans.length, 2);
  t.true(switchStep > 1 && switchStep < T - 2, `switch at ${switchStep}`);
  t.is(expertOf(EXPERTS, BOUNDARY), 0);
  t.is(expertOf(EXPERTS, BOUNDARY - 1e-6), 1);
  t.deepEqual([spans[0]!.firstStep, spans[0]!.lastStep, spans[1]!.lastStep], [0, switchStep - 1, T - 1]);
});

const greedy = (): CachePolicy & { prepared: RunInfo[]; resets: number } => {
  const p = {
    id: "always-reuse",
    apiVersion: 1,
    options: {},
    prepared: [] as RunInfo[],
    resets: 0,
    prepare(run: RunInfo) {
      p.prepared.push(run);
    },
    reset() {
      p.resets++;
    },
    decide: () => ({ action: "reuse" as const }),
  };
  return p;
};

test("a plugin forced to reuse cannot cross the boundary: the switch step is computed, by the second expert", async (t) => {
  const policy = greedy();
  const { summary, denoiser, events } = await run(policy);
  t.deepEqual(summary.computedSteps, [0, switchStep]);
  // The output of the step after the boundary came from transformer_2 (two items: cond + uncond).
  t.deepEqual(denoiser.served.slice(2).map((s) => s.expert), ["transformer_2", "transformer_2"]);
  t.regex(summary.diagnostics.join("\n"), new RegExp(`step ${switchStep}, the first step of expert "transformer_2"`));
  t.is(policy.prepared.length, 2);
  t.is(policy.prepared[1]!.expert?.name, "transformer_2");
  t.is(policy.prepared[0]!.experts?.length, 2);
  t.is(policy.resets, 2); // once before the sample, once at the switch
  t.deepEqual(summary.expertSwitches, [{ step: switchStep, t: schedule.timesteps[switchStep]!, from: "transformer", to: "transformer_2" }]);
  t.deepEqual(summary.experts?.map((e) => e.nfe), [1, 1]);
  t.is(events[switchStep]!.expert, "transformer_2");
  t.regex(describeExperts(summary), /transformer steps 0–\d+ \(NFE 1\) → transformer_2 steps \d+–11 \(NFE 1, switch at t = /);
  assertNoCrossing(t, events);
});

const policies: [string, () => CachePolicy][] = [
  ["none", () => resolvePolicy("none")],
  ["fixed-interval", () => resolvePolicy("fixed-interval:k=4")],
  ["sencache", () => resolvePolicy({ id: "sencache", options: { profile: flat(0, 0), epsMain: 1, n: 100 } })],
  ["sencache budget", () => resolvePolicy({ id: "sencache", options: { profile: flat(1, 1), nfe: 4 } })],
  ["magcache", () => resolvePolicy({ id: "magcache", options: { ratios: Array.from({ length: T }, () => 1), delta: 10, K: 100, retention: 0 } })],
  ["teacache", () => resolvePolicy({ id: "teacache", options: { delta: 1e9 } })],
  ["easycache", () => resolvePolicy({ id: "easycache", options: { tau: 1e9, warmup: 2, forceLast: false } })],
];

for (const [name, make] of policies) {
  test(`${name}: nothing is reused across the expert boundary and the switch step is computed`, async (t) => {
    const { summary, events } = await run(make());
    t.true(summary.computedSteps.includes(switchStep), `computed ${summary.computedSteps.join(",")}`);
    assertNoCrossing(t, events);
    t.is(summary.expertSwitches?.length, 1);
  });
}

test("budget mode hits its NFE exactly on two experts: the budget is split per expert, each span planned on its own", async (t) => {
  const lens = spans.map((s) => s.lastStep - s.firstStep + 1);
  const { min, max } = splitBudget(1, spans, 3, false);
  t.is(min, Math.ceil(lens[0]! / 4) + Math.ceil(lens[1]! / 4));
  t.is(max, T);
  for (let nfe = min; nfe <= T; nfe++) {
    const { summary, events } = await run(resolvePolicy({ id: "sencache", options: { profile: flat(1, 1), nfe } }));
    t.is(summary.nfe, nfe, `nfe=${nfe}: ran ${summary.computedSteps.join(",")}`);
    t.deepEqual(summary.experts?.map((e) => e.nfe), splitBudget(nfe, spans, 3, false).targets, `nfe=${nfe}`);
    t.false(summary.diagnostics.some((d) => /off-budget|overruled|asked to reuse/.test(d)), summary.diagnostics.join("; "));
    assertNoCrossing(t, events);
  }
  // Proportional to the spans' lengths, the total exact.
  const split = splitBudget(6, spans, 3, false).targets;
  t.is(split[0]! + split[1]!, 6);
  t.true(Math.abs(split[0]! - (6 * lens[0]!) / T) <= 1, `split ${split.join("+")} of spans ${lens.join("+")}`);
  // forceLast counts only on the span that ends the schedule.
  const forced = await run(resolvePolicy({ id: "sencache", options: { profile: flat(1, 1), nfe: min + 1, forceLast: true } }));
  t.is(forced.summary.nfe, min + 1);
  t.true(forced.summary.computedSteps.includes(T - 1));
});

test("an infeasible budget on two experts names the minimum: each expert computes its first step", async (t) => {
  const { min } = splitBudget(1, spans, 3, false);
  const policy = resolvePolicy({ id: "sencache", options: { profile: flat(1, 1), nfe: min - 1 } });
  const err = await t.throwsAsync(run(policy));
  t.regex(err!.message, new RegExp(`the minimum is ${min}\\b`));
  t.regex(err!.message, /over 2 experts \(each computes its first step; fewest per expert: transformer \d+ of \d+ steps, transformer_2 \d+ of \d+ steps\)/);
  const clamped = await run(resolvePolicy({ id: "sencache", options: { profile: flat(1, 1), nfe: 1, onInfeasible: "clamp" } }));
  t.is(clamped.summary.nfe, min);
});

test("without guidance too, the switch step is computed and the next one may reuse again", async (t) => {
  const { events } = await run(greedy(), 1);
  t.is(events[switchStep]!.action, "compute");
  t.is(events[switchStep + 1]!.action, "reuse");
});

test("guidanceAt gives the low-noise expert its own scale (Wan 2.2 guidance_scale_2)", async (t) => {
  const scales: [number, string][] = [];
  await sample({
    denoiser: new TwoExperts(),
    scheduler: createScheduler(spec, T),
    latent: seededNormal(24, 3),
    latentShape: shape,
    cond: "prompt",
    uncond: "",
    guidanceScale: 4,
    experts: EXPERTS,
    guidanceAt: (step, _t, expert) => {
      scales.push([step, expert]);
      return expert === "transformer_2" ? 3 : 4;
    },
  });
  t.is(scales.length, T);
  t.deepEqual(scales[switchStep], [switchStep, "transformer_2"]);
  t.deepEqual(scales[switchStep - 1], [switchStep - 1, "transformer"]);
});

test("a per-expert profile: sections by expert, J_t across the switch replaced, lookup confined to the expert", (t) => {
  const ts = Array.from(schedule.timesteps);
  const whole = makeProfile(
    { timesteps: ts, J_x_norm: ts.map((x) => (x >= BOUNDARY ? 1 : 100)), J_t_norm: ts.map((_, k) => (k === switchStep - 1 ? 1e6 : 2)), validFor: { steps: T } },
  );
  const p = withExpertSections(whole, EXPERTS, ts);
  t.is(p.version, 2);
  t.deepEqual(p.experts?.map((e) => e.timesteps.length), [switchStep, T - switchStep]);
  t.is(p.experts![0]!.J_t_norm.at(-1), 2, "the J_t measured across the switch is not kept");
  const low = expertProfile(p, EXPERTS[1]!);
  t.is(low.version, 1);
  t.true(low.J_x_norm.every((v) => v === 100));
  // A version-1 profile is confined to the expert's range.
  t.true(expertProfile(whole, EXPERTS[0]!).timesteps.every((x) => x >= BOUNDARY));
  t.throws(() => expertProfile(p, { name: "transformer_3", tMin: 0, tMax: 1 }), { message: /no.*|not for "transformer_3"/ });
  // Round trip through validation; a tampered top level is refused.
  t.throws(() => makeProfile({ ...p, J_x_norm: p.J_x_norm.map(() => 1) }), { message: /concatenated/ });
});

test("sencache uses each expert's own section: a huge α on the low-noise expert stops its reuse only there", async (t) => {
  const ts = Array.from(schedule.timesteps);
  const p = withExpertSections(
    makeProfile({ timesteps: ts, J_x_norm: ts.map((x) => (x >= BOUNDARY ? 0 : 1e9)), J_t_norm: ts.map((x) => (x >= BOUNDARY ? 0 : 1e9)), validFor: {} }),
    EXPERTS,
    ts,
  );
  const { summary } = await run(resolvePolicy({ id: "sencache", options: { profile: p, epsStart: 1, epsMain: 1, n: 100 } }));
  t.deepEqual(summary.experts?.map((e) => e.nfe), [1, T - switchStep]);
});

test("MagCache ratios per expert: the ratio across the switch is padding, each expert resampled on its own", async (t) => {
  const ratios = Array.from({ length: T }, (_, k) => (k === switchStep ? 100 : 1));
  const file = validateMagcacheRatios({ format: "sencache-magcache-ratios", version: 1, validFor: {}, steps: T, ratios, std: ratios.map(() => 0), samples: 1 });
  const split = withExpertRatios(file, spans);
  t.is(split.version, 2);
  t.is(split.experts![1]!.ratios[0], 1);
  t.is(split.ratios[switchStep], 1);
});
