/** The sampling loop on a fake denoiser: events, the stream, the summary, abort and bad outputs. */
import test from "ava";
import { AbortError, InvalidInputError, SencacheError } from "../../ts/errors.js";
import { resolvePolicy } from "../../ts/policies/index.js";
import type { CachePolicy } from "../../ts/policies/types.js";
import { sample } from "../../ts/sampling/loop.js";
import { streamSample, type SampleEvent } from "../../ts/sampling/stream.js";
import type { Denoiser } from "../../ts/sampling/types.js";
import { createScheduler } from "../../ts/schedulers/index.js";
import { FakeDenoiser, seededNormal } from "../../ts/testing/index.js";

const shape = [1, 2, 1, 3, 4];
const spec = { className: "FlowMatchEulerDiscreteScheduler", config: { num_train_timesteps: 1000, shift: 3.0 } };
const base = (steps: number, denoiser: Denoiser = new FakeDenoiser()) => ({
  denoiser,
  scheduler: createScheduler(spec, steps),
  latent: seededNormal(24, 5),
  latentShape: shape,
  cond: "prompt",
  uncond: "",
  guidanceScale: 3,
});

test("onStep sees every step with its decision; the summary counts what the denoiser saw", async (t) => {
  const fake = new FakeDenoiser();
  const events: SampleEvent[] = [];
  const { summary } = await sample({ ...base(9, fake), policy: resolvePolicy("fixed-interval:k=3"), onStep: (e) => events.push(e) });
  t.is(events.length, 9);
  t.deepEqual(
    events.map((e) => (e.type === "step" ? e.action : "done")),
    ["compute", "reuse", "reuse", "compute", "reuse", "reuse", "compute", "reuse", "reuse"],
  );
  t.is(summary.nfe, 3);
  t.deepEqual(summary.computedSteps, [0, 3, 6]);
  t.is(fake.calls.length, summary.denoiseItems);
  t.deepEqual(new Set(fake.calls.map((c) => c.branch)), new Set(["cond", "uncond"]));
});

test("the stream yields the same step events, then one done event with the result", async (t) => {
  const seen: SampleEvent[] = [];
  for await (const e of streamSample({ ...base(6), policy: resolvePolicy("fixed-interval:k=2") })) seen.push(e);
  t.is(seen.length, 7);
  const last = seen.at(-1);
  t.is(last?.type, "done");
  if (last?.type === "done") t.is(last.result.summary.nfe, 3);
});

test("an aborted signal stops the loop with AbortError", async (t) => {
  const controller = new AbortController();
  const run = sample({ ...base(20), signal: controller.signal, onStep: (e) => e.step === 4 && controller.abort() });
  await t.throwsAsync(run, { instanceOf: AbortError, message: /step 5 of 20/ });
});

test("a policy that asks to reuse before anything was computed is overruled, and the summary says so", async (t) => {
  const greedy: CachePolicy = { id: "always-reuse", apiVersion: 1, options: {}, reset() {}, decide: () => ({ action: "reuse" }) };
  const { summary } = await sample({ ...base(4), policy: greedy });
  t.deepEqual(summary.computedSteps, [0]);
  t.regex(summary.diagnostics[0] ?? "", /always-reuse.*step 0.*computed/);
});

test("a non-finite model output is a typed error naming the step", async (t) => {
  const broken: Denoiser = {
    denoise: async (items) => items.map((it) => (it.t < 500 ? new Float32Array(it.x.length).fill(Number.NaN) : new Float32Array(it.x.length))),
  };
  const error = await t.throwsAsync(sample(base(10, broken)));
  t.true(SencacheError.isInstance(error) && error.code === "non_finite_output");
  t.regex(error?.message ?? "", /non-finite value at step \d+/);
});

test("wrong latent sizes, NaN latents and guidance without a negative condition are refused before any call", async (t) => {
  const fake = new FakeDenoiser();
  await t.throwsAsync(sample({ ...base(3, fake), latent: new Float32Array(5) }), { instanceOf: InvalidInputError, message: /shape/ });
  await t.throwsAsync(sample({ ...base(3, fake), latent: new Float32Array(24).fill(Number.NaN) }), { instanceOf: InvalidInputError, message: /non-finite/ });
  const { uncond: _drop, ...noUncond } = base(3, fake);
  await t.throwsAsync(sample(noUncond), { instanceOf: InvalidInputError, message: /negative-prompt/ });
  t.is(fake.calls.length, 0);
});

test("leaving the stream's for-await early cancels the sample: no denoise call after the loop is left", async (t) => {
  const fake = new FakeDenoiser();
  let seen = 0;
  for await (const e of streamSample({ ...base(20, fake) })) {
    if (e.type === "step") seen++;
    if (seen === 3) break;
  }
  const atBreak = fake.batches;
  t.true(atBreak <= 3, `${atBreak} denoise calls by the time the loop was left (3 steps seen)`);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.is(fake.batches, atBreak, "the sample stopped: no call after the loop was left");
});

test("the stream's sample stops when the caller's signal aborts, with AbortError", async (t) => {
  const controller = new AbortController();
  const error = await t.throwsAsync(async () => {
    for await (const e of streamSample({ ...base(20), signal: controller.signal })) if (e.type === "step" && e.step === 2) controller.abort();
  });
  t.true(AbortError.isInstance(error), String(error));
});
