/**
 * The TypeScript loop against the real diffusers pipeline, through the real worker: parity of the
 * uncached loop with `WanPipeline.__call__`, and "only full evaluations cross the bridge".
 */
import test from "ava";
import { resolvePolicy } from "../../ts/policies/index.js";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";
import { diffusersReference, maxRelativeError, tinyModelDir } from "../helpers/tiny.js";

let worker: WorkerProcess;
let model: Model;
let dir: string;
const size = { height: 16, width: 16, numFrames: 5 };

test.before(async () => {
  dir = tinyModelDir();
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
  model = await Model.load(worker.client, dir);
});

test.after.always(async () => {
  await worker?.shutdown();
});

for (const guidance of [1, 4.5]) {
  test.serial(`policy none reproduces WanPipeline.__call__ (latent output) to ≤ 1e-5, guidance ${guidance}`, async (t) => {
    const prompt = "a red square moving left on a blue background";
    const ours = await generate(model, { prompt, negativePrompt: "", seed: 7, steps: 8, guidanceScale: guidance, ...size });
    const ref = diffusersReference(
      { model: dir, prompt, negativePrompt: "", seed: 7, steps: 8, guidance, height: size.height, width: size.width, frames: size.numFrames },
    );
    t.deepEqual([...ours.latentShape], ref.shape);
    const err = maxRelativeError(ours.latent, ref.latent);
    t.log(`max relative error ${err.toExponential(2)}`);
    t.true(err <= 1e-5, `max relative error ${err}`);
    t.is(ours.summary.nfe, 8);
  });
}

// The CogVideoX schedulers need their own pipeline's loop (WanPipeline cannot drive them); their
// parity with diffusers is pinned by the scheduler goldens in test/schedulers.
for (const scheduler of ["unipc", "dpm"]) {
  test.serial(`policy none driven by ${scheduler} reproduces the pipeline with the same diffusers scheduler to ≤ 1e-5`, async (t) => {
    const other = tinyModelDir(scheduler);
    const m = await Model.load(worker.client, other);
    t.not(m.info.scheduler.className, model.info.scheduler.className);
    const prompt = "a yellow triangle rotating";
    const ours = await generate(m, { prompt, negativePrompt: "", seed: 11, steps: 7, guidanceScale: 3, ...size });
    const ref = diffusersReference(
      { model: other, prompt, negativePrompt: "", seed: 11, steps: 7, guidance: 3, height: size.height, width: size.width, frames: size.numFrames },
    );
    const err = maxRelativeError(ours.latent, ref.latent);
    t.log(`${m.info.scheduler.className}: max relative error ${err.toExponential(2)}`);
    t.true(err <= 1e-5, `max relative error ${err}`);
  });
}

test.serial("fixed-interval: the worker's denoise items equal the summary, and a skipped step sends no message", async (t) => {
  const before = await worker.client.request({ op: "stats" });
  const sentBefore = worker.client.sentByOp.get("denoise") ?? 0;
  const result = await generate(
    model,
    { prompt: "a green circle", seed: 3, steps: 10, guidanceScale: 3, policy: resolvePolicy("fixed-interval:k=3,warmup=1"), ...size },
  );
  const after = await worker.client.request({ op: "stats" });
  const s = result.summary;
  t.true(s.nfe < 10 && s.reusedSteps.length > 0);
  t.is(s.nfe + s.reusedSteps.length, 10);
  t.is(s.denoiseItems, s.nfe * 2);
  t.is(after.denoiseItems - before.denoiseItems, s.denoiseItems);
  t.is((worker.client.sentByOp.get("denoise") ?? 0) - sentBefore, s.nfe, "one denoise message per computed step, none for a reused one");
  t.is(after.denoiseRequests - before.denoiseRequests, s.nfe);
  t.true(after.forwardSeconds > before.forwardSeconds, "stats time the forwards");
});

test.serial("many samples in flight: the worker merges their forwards, and every sample equals its solo run", async (t) => {
  const { runMany } = await import("../../ts/sampling/runner.js");
  const requests = [0, 1, 2, 3].map(
    (seed) => ({
      prompt: seed % 2 ? "a blue circle" : "a red square",
      seed,
      steps: 6,
      guidanceScale: 3,
      ...size,
      policy: () => resolvePolicy("easycache:tau=0.2,warmup=2"),
    }),
  );
  const before = await worker.client.request({ op: "stats" });
  const together = await runMany(model, requests, { concurrency: 4 });
  const after = await worker.client.request({ op: "stats" });
  t.true(after.forwards - before.forwards < after.denoiseRequests - before.denoiseRequests, "some requests were merged into one forward");
  for (const [i, r] of requests.entries()) {
    const { policy, ...rest } = r;
    const solo = await generate(model, { ...rest, policy: policy() });
    t.deepEqual(together[i]?.summary.computedSteps, solo.summary.computedSteps);
    t.true(maxRelativeError(together[i]?.latent as Float32Array, solo.latent) <= 1e-5);
  }
});

test.serial("streamSample against the real worker: breaking out after 3 events sends no more denoise messages", async (t) => {
  const { sample } = await import("../../ts/sampling/loop.js");
  const { streamSample } = await import("../../ts/sampling/stream.js");
  const cond = await model.encodePrompt("a red square");
  const latent = await model.prepareLatents(1, size);
  const before = await worker.client.request({ op: "stats" });
  let events = 0;
  for await (const e of streamSample({ denoiser: model, scheduler: model.scheduler(20), latent: latent.data, latentShape: model.latentShape(size), cond })) {
    if (e.type === "step" && ++events === 3) break;
  }
  // A sample left running would keep sending one denoise per step while this one runs its 20 steps.
  const { summary } = await sample({ denoiser: model, scheduler: model.scheduler(20), latent: latent.data, latentShape: model.latentShape(size), cond });
  const after = await worker.client.request({ op: "stats" });
  await model.release([cond]);
  const sent = after.denoiseRequests - before.denoiseRequests - summary.nfe;
  t.log(`${sent} denoise messages for 3 events of a 20-step stream`);
  t.true(sent <= 3, `${sent} denoise messages reached the worker`);
});

test.serial("runMany with mixed sizes of one element count: each latent travels with its own shape", async (t) => {
  const { runMany } = await import("../../ts/sampling/runner.js");
  // 32×16 and 16×32 have latents of the same element count; the sizes interleave in flight.
  const sizes = [
    { height: 32, width: 16, numFrames: 5 },
    { height: 16, width: 32, numFrames: 5 },
  ];
  const requests = sizes.map((s, seed) => ({ prompt: "a red square", seed, steps: 3, guidanceScale: 3, ...s }));
  const together = await runMany(model, requests, { concurrency: 2 });
  for (const [i, r] of requests.entries()) {
    const solo = await generate(model, r);
    t.deepEqual([...(together[i]?.latentShape ?? [])], [...solo.latentShape]);
    t.true(maxRelativeError(together[i]?.latent as Float32Array, solo.latent) <= 1e-6, `sample ${i} (${r.height}×${r.width})`);
  }
});
