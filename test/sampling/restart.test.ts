/**
 * A worker that dies mid-sample costs the evaluation in flight only: the model starts a fresh worker,
 * loads itself again, re-encodes the prompt handles in use and retries, and the sample finishes with
 * exactly the result of an uninterrupted run (real worker, real ZeroMQ, the bundled trained model).
 */
import test from "ava";
import { WorkerDiedError } from "../../ts/errors.js";
import { createFixedIntervalPolicy } from "../../ts/policies/fixed-interval.js";
import { generate } from "../../ts/sampling/generate.js";
import { Model, type RestartEvent } from "../../ts/sampling/model.js";
import { runMany } from "../../ts/sampling/runner.js";
import { openWorker, type OpenedWorker } from "../../ts/worker/open.js";
import { isWorkerDied } from "../../ts/worker/supervisor.js";
import { BUNDLED_MODEL } from "../../ts/cli/common.js";

const bundledModelDir = (): string => BUNDLED_MODEL;

const T = 10;
const base = { prompt: "a red square moving left on a blue background", seed: 3, steps: T };
// Each forward sleeps 150 ms (a test-only switch of the worker), so a kill lands inside a request.
const spawnOptions = { device: "cpu", threads: 1, args: ["--debug-delay-ms", "150"], env: { SENCACHE_WORKER_DEBUG: "1" } } as const;

let worker: OpenedWorker;
let reference: Float32Array;
let referenceCached: Float32Array;

test.before(async () => {
  worker = await openWorker(spawnOptions);
  const model = await Model.load(worker.client, bundledModelDir());
  reference = (await generate(model, base)).latent;
  referenceCached = (await generate(model, { ...base, policy: createFixedIntervalPolicy({ k: 2 }) })).latent;
});

test.after.always(async () => {
  await worker?.close();
});

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test.serial("a worker killed mid-sample is replaced and the sample finishes exactly as an uninterrupted one", async (t) => {
  const events: RestartEvent[] = [];
  const model = await Model.load(worker.client, bundledModelDir(), { restart: worker.restart!, onRestart: (e) => events.push(e) });
  const firstPid = worker.process!.pid;
  let killed = false;
  const result = await generate(model, {
    ...base,
    policy: createFixedIntervalPolicy({ k: 2 }),
    onStep: (e) => {
      if (e.step === 4 && !killed) {
        killed = true;
        worker.process!.kill("SIGKILL"); // the next computed step's request is in flight when it lands
      }
    },
  });
  t.true(killed);
  t.is(model.restarts, 1);
  t.is(events.length, 1);
  t.true(WorkerDiedError.isInstance(events[0]!.error));
  t.not(worker.process!.pid, firstPid, "a new worker process serves the model");
  t.is(result.summary.nfe, 5);
  t.is(maxAbsDiff(result.latent, referenceCached), 0, "resumed sample differs from the uninterrupted one");
});

test.serial("many samples in flight share one restart and all finish unchanged", async (t) => {
  const model = await Model.load(worker.client, bundledModelDir(), { restart: worker.restart! });
  let killed = false;
  const results = await runMany(
    model,
    [0, 1, 2].map(() => ({
      ...base,
      onStep: (e: { step: number }) => {
        if (e.step === 6 && !killed) {
          killed = true;
          worker.process!.kill("SIGKILL");
        }
      },
    })),
    { concurrency: 3 },
  );
  t.is(model.restarts, 1);
  // The worker merges concurrent requests into one forward; how they group after the restart can
  // differ from before, and a batched forward differs from a single one in the last bits.
  for (const r of results) t.true(maxAbsDiff(r.latent, reference) < 1e-4, String(maxAbsDiff(r.latent, reference)));
});

test.serial("without restarts (or past maxRestarts) the WorkerDiedError reaches the caller", async (t) => {
  const noRestart = await Model.load(worker.client, bundledModelDir());
  const kill = (step: number) => (e: { step: number }) => {
    if (e.step === step) worker.process!.kill("SIGKILL");
  };
  const error = await t.throwsAsync(generate(noRestart, { ...base, onStep: kill(2) }));
  t.true(isWorkerDied(error));
  // the dead worker is replaced by hand so the next test has one
  await worker.restart!();
  const once = await Model.load(worker.client, bundledModelDir(), { restart: worker.restart!, maxRestarts: 1 });
  let kills = 0;
  const error2 = await t.throwsAsync(
    generate(once, {
      ...base,
      onStep: (e) => {
        if ((e.step === 2 && kills === 0) || (e.step === 6 && kills === 1)) {
          kills++;
          worker.process!.kill("SIGKILL");
        }
      },
    }),
  );
  t.is(kills, 2);
  t.true(isWorkerDied(error2));
  t.regex(error2!.message, /already been restarted 1 time/);
});
