/**
 * Prompt handles are shared and kept for reuse (real worker, the bundled trained model): samples with
 * the same prompt encode it once, results are the same as with no cache, and handles past the cache
 * size are released in the worker.
 */
import test from "ava";
import { BUNDLED_MODEL } from "../../ts/cli/common.js";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { runMany } from "../../ts/sampling/runner.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";

let worker: WorkerProcess;
test.before(async () => {
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
});
test.after.always(async () => {
  await worker?.shutdown();
});

const conds = async (): Promise<number> => (await worker.client.request({ op: "stats" })).conds;
const run = { prompt: "a red square moving left on a blue background", steps: 6 };

test.serial("the same prompt is encoded once across samples; results equal those of an uncached model", async (t) => {
  const cached = await Model.load(worker.client, BUNDLED_MODEL);
  const plain = await Model.load(worker.client, BUNDLED_MODEL, { promptCache: 0 });
  const before = await conds();
  // one at a time: a batched forward differs from a single one in the last bits
  const a = await runMany(cached, [0, 1, 2, 3].map((seed) => ({ ...run, seed })), { concurrency: 1 });
  t.is(cached.promptEncodes, 2, "the prompt and the negative prompt, once each");
  t.is(await conds(), before + 2, "both kept in the worker for the next sample");
  for (const seed of [0, 3]) {
    const b = await generate(plain, { ...run, seed });
    t.deepEqual(Array.from(b.latent), Array.from(a[seed]!.latent));
  }
  t.is(plain.promptEncodes, 4);
  t.is(await conds(), before + 2, "promptCache 0 releases at once");
});

test.serial("handles nobody holds beyond promptCache are released in the worker, least recently used first", async (t) => {
  const model = await Model.load(worker.client, BUNDLED_MODEL, { promptCache: 1 });
  const before = await conds();
  const h1 = await model.encodePrompt("a red square");
  const h2 = await model.encodePrompt("a blue circle");
  t.is(await model.encodePrompt("a red square"), h1, "a second user shares the handle");
  t.is(await conds(), before + 2);
  t.is(await model.release([h1]), 0, "one user of h1 remains");
  t.is(await model.release([h2]), 0, "h2 idle, within the cache");
  t.is(await model.release([h1]), 1, "h1 idle too: the least recently used idle one (h2) goes");
  t.is(await conds(), before + 1);
  t.is(await model.encodePrompt("a red square"), h1, "kept");
  t.not(await model.encodePrompt("a blue circle"), h2, "released, so encoded again");
  t.is(model.promptEncodes, 3);
});
