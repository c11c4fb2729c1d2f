/**
 * The propagation measurement and the static-optimal search through the REAL worker and the tiny
 * random WanPipeline (T = 5, 16×16×5): finite gains at the probe steps and the documented cost; a
 * searched mask that the static-optimal policy applies unchanged; budget mode using the gain.
 */
import test from "ava";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolvePolicy } from "../../ts/policies/index.js";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { calibrate, validateProfile } from "../../ts/sensitivity/index.js";
import { loadStaticMasksSync, saveStaticMasks } from "../../ts/sensitivity/static-masks.js";
import { measurePropagation } from "../../ts/sensitivity/propagation.js";
import { searchStaticMasks } from "../../ts/sensitivity/static-search.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

const size = { height: 16, width: 16, numFrames: 5 };
const T = 5;
let worker: WorkerProcess;
let model: Model;

test.before(async () => {
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
  model = await Model.load(worker.client, tinyModelDir());
});

test.after.always(async () => {
  await worker?.shutdown();
});

test.serial("propagation: finite gains at the probe steps, P·(T + M·(T − 1)) steps, " +
  "stored and validated in the profile; budget mode uses it", async (t) => {
  const { profile } = await calibrate(model, { samples: 1, steps: T, ...size, seed: 1 });
  const before = await worker.client.request({ op: "stats" });
  const r = await measurePropagation(model, profile, { samples: 2, probes: 3, steps: T, ...size, guidanceScale: 2, seed: 4 });
  const after = await worker.client.request({ op: "stats" });
  const p = r.propagation;
  t.is(p.timesteps.length, 3);
  t.true(p.gain.every((g) => Number.isFinite(g) && g > 0), `gain ${p.gain.join(", ")}`);
  t.deepEqual(r.cost, { referenceSteps: 2 * T, propagationSteps: 2 * 3 * (T - 1) });
  t.is(after.denoiseItems - before.denoiseItems, 2 * (r.cost.referenceSteps + r.cost.propagationSteps), "two CFG items per step");
  const withGain = validateProfile({ ...profile, propagation: p });
  const run = await generate(
    model,
    { prompt: "a red square", seed: 0, steps: T, ...size, guidanceScale: 2, policy: resolvePolicy("sencache:nfe=3", { profile: withGain }) },
  );
  t.is(run.summary.nfe, 3);
  t.deepEqual(run.summary.diagnostics, []);
});

test.serial("static-optimal: the searched mask is feasible, saved, and applied unchanged by the policy; the cost is recorded", async (t) => {
  const file = await searchStaticMasks(model, { nfe: [3, 4], samples: 2, probes: 2, steps: T, ...size, guidanceScale: 2, n: 2, maxCandidates: 3, seed: 7 });
  t.deepEqual(file.masks.map((m) => m.nfe), [3, 4]);
  for (const m of file.masks) {
    t.is(m.compute[0], 0);
    t.true(Number.isFinite(m.measured!));
  }
  const c = file.search!.cost;
  t.is(c.referenceSteps, 2 * T);
  t.is(c.propagationSteps, 2 * 2 * (T - 1));
  t.true(c.candidates >= 2 && c.candidates <= 6);
  const path = join(mkdtempSync(join(tmpdir(), "sencache-static-")), "static.json");
  await saveStaticMasks(path, file);
  const loaded = loadStaticMasksSync(path);
  t.deepEqual(loaded.masks, file.masks);
  const run = await generate(
    model,
    { prompt: "a blue ball", seed: 3, steps: T, ...size, guidanceScale: 2, policy: resolvePolicy(`static-optimal:nfe=3,masks=${path}`) },
  );
  t.deepEqual(run.summary.computedSteps, [...file.masks[0]!.compute]);
});
