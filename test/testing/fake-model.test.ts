/** `FakeModel` from sencache/testing: generate() and runMany() without a worker. */
import test from "ava";
import { generate, resolvePolicy, runMany } from "sencache";
import { FakeModel } from "sencache/testing";

test("generate runs a cached sample on the fake model, decodes it, and gives the prompt handles back", async (t) => {
  const model = new FakeModel();
  const r = await generate(model, { prompt: "a red square", seed: 1, steps: 9, policy: resolvePolicy("fixed-interval:k=3"), decode: true });
  t.deepEqual(r.summary.computedSteps, [0, 3, 6]);
  t.is(model.denoiser.batches, 3);
  t.deepEqual(r.latentShape, [1, 4, 2, 4, 4]);
  t.deepEqual(r.video?.shape, [5, 32, 32, 3]);
  t.is(model.handles.size, 0, "handles released");
  const again = await generate(new FakeModel(), { prompt: "a red square", seed: 1, steps: 9, policy: resolvePolicy("fixed-interval:k=3") });
  t.deepEqual(again.latent, r.latent, "deterministic");
  const other = await generate(new FakeModel(), { prompt: "a blue circle", seed: 1, steps: 9, policy: resolvePolicy("fixed-interval:k=3") });
  t.notDeepEqual(other.latent, r.latent, "the prompt matters");
});

test("runMany on the fake model: each sample equals its solo run", async (t) => {
  const model = new FakeModel({ steps: 6 });
  const requests = [0, 1, 2].map((seed) => ({ prompt: `prompt ${seed}`, seed, policy: () => resolvePolicy("easycache:tau=0.2,warmup=2") }));
  const together = await runMany(model, requests, { concurrency: 3 });
  for (const [i, { policy, ...rest }] of requests.entries()) {
    const solo = await generate(new FakeModel({ steps: 6 }), { ...rest, policy: policy() });
    t.deepEqual(together[i]?.latent, solo.latent);
  }
});

test("the fake model refuses a size it cannot take, in one sentence", async (t) => {
  await t.throwsAsync(generate(new FakeModel(), { prompt: "x", seed: 0, height: 30 }), { message: /multiples of 8/ });
});
