/** `load(source)`: one call opens a supervised worker and the model; a killed worker is replaced; close() ends it. */
import test from "ava";
import { generate, load } from "sencache";
import { tinyModelDir } from "../helpers/tiny.js";

test("load() spawns, supervises and restarts the worker behind the model; close() shuts it down", async (t) => {
  const model = await load(tinyModelDir(), { device: "cpu", threads: 1, load: { maxRestarts: 1 } });
  try {
    const opts = { prompt: "a red square", seed: 2, steps: 3, height: 16, width: 16, numFrames: 5, guidanceScale: 1 } as const;
    const first = await generate(model, opts);
    const process = model.worker.process!;
    process.kill("SIGKILL");
    await process.waitForExit();
    const second = await generate(model, opts);
    t.is(model.restarts, 1, "the dead worker was replaced");
    t.deepEqual(second.latent, first.latent);
  } finally {
    await model.close();
  }
  t.false(model.worker.process!.alive, "close() ended the worker");
});
