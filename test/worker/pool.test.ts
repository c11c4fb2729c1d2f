/**
 * The worker pool: requests spread over two spawned workers; a worker killed with requests in flight
 * is replaced and its requests answered by the other one, bit-identical (deterministic batching);
 * models and prompt handles are re-created on the new worker; a Model samples on a pool as on one worker.
 */
import test from "ava";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { float32Tensor, type Tensor } from "../../ts/worker/tensors.js";
import { openPool, type PoolEvent, type WorkerPool } from "../../ts/worker/pool.js";
import { tinyModelDir } from "../helpers/tiny.js";

let pool: WorkerPool;
const events: PoolEvent[] = [];
let model: string;
let cond: string;
let latents: Tensor<Float32Array>;

test.before(async () => {
  pool = await openPool({
    spawn: 2,
    minReady: 2,
    heartbeatMs: 500,
    livenessMs: 10_000,
    backoffMs: 100,
    spawnOptions: { device: "cpu", threads: 1, args: ["--batching", "request"], env: { SENCACHE_WORKER_DEBUG: "1", SENCACHE_WORKER_DEBUG_DELAY_MS: "150" } },
    onEvent: (e) => events.push(e),
  });
  model = (await pool.request({ op: "load", source: tinyModelDir() })).model;
  cond = (await pool.request({ op: "encodePrompt", model, text: "a red square" })).cond;
  latents = (await pool.request({ op: "prepareLatents", model, seed: 3, height: 32, width: 32, numFrames: 5 })).latents;
});

test.after.always(async () => {
  await pool?.close();
});

const denoise = (t: number): Promise<Float32Array> =>
  pool.request({ op: "denoise", model, items: [{ cond, t, branch: "cond" }], x: float32Tensor(latents.data, latents.shape) }).then((r) => r.out.data);

test.serial("requests spread over the members; handles are the pool's own", async (t) => {
  t.regex(model, /^pm\d+$/);
  t.regex(cond, /^pc\d+$/);
  const before = await pool.request({ op: "stats" });
  await Promise.all(Array.from({ length: 6 }, (_, i) => denoise(100 + i)));
  const after = await pool.request({ op: "stats" });
  t.is(after.denoiseRequests - before.denoiseRequests, 6);
  t.true(after.forwards - before.forwards >= 6, "request batching: one forward per request");
  t.is(pool.ready, 2);
});

test.serial("a member killed with requests in flight: every request answered, bit-identical, and the member comes back", async (t) => {
  const ts = Array.from({ length: 8 }, (_, i) => 50 + 100 * i);
  const reference: Float32Array[] = [];
  for (const tt of ts) reference.push(await denoise(tt));
  const victim = pool.processOf(0);
  const oldPid = victim?.pid;
  const inFlight = ts.map((tt) => denoise(tt));
  await new Promise((r) => setTimeout(r, 200));
  victim?.kill("SIGKILL");
  const got = await Promise.all(inFlight);
  got.forEach((out, i) => t.deepEqual(out, reference[i], `t=${ts[i]}`));
  t.true(events.some((e) => e.type === "lost" && e.member === 0));
  await pool.waitReady(2);
  t.not(pool.processOf(0)?.pid, oldPid);
  // the new member re-creates the model and the prompt handle on demand
  const again = await Promise.all(ts.map((tt) => denoise(tt)));
  again.forEach((out, i) => t.deepEqual(out, reference[i]));
  t.true(pool.status.every((s) => s.state === "ready"));
});

test.serial("a Model samples on a pool as on one worker", async (t) => {
  const m = await Model.load(pool, tinyModelDir());
  const a = await generate(m, { prompt: "a blue circle", seed: 5, steps: 4, height: 32, width: 32, numFrames: 5, decode: false });
  const b = await generate(m, { prompt: "a blue circle", seed: 5, steps: 4, height: 32, width: 32, numFrames: 5, decode: false });
  t.deepEqual(a.latent, b.latent);
});
