/**
 * Image-to-video on a worker pool: conditioning-image handles are the pool's own, like prompt handles, so
 * a sample whose requests land on different members (or on a member that replaced a killed one) finds its
 * image there; samples match one worker's bit for bit (deterministic batching).
 */
import test from "ava";
import { generate, type GenerateOptions } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { openPool, type PoolEvent, type WorkerPool } from "../../ts/worker/pool.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";
import { familyModels, testImage } from "../helpers/families.js";

const CASE = "wan2.2-ti2v-i2v";
let dir: string;
let pool: WorkerPool;
let single: WorkerProcess;
const events: PoolEvent[] = [];
const spawnOptions = { device: "cpu", threads: 1, args: ["--batching", "request"] } as const;

test.before(async () => {
  dir = familyModels([CASE])[CASE] as string;
  [pool, single] = await Promise.all([
    openPool({
      spawn: 2,
      minReady: 2,
      heartbeatMs: 500,
      livenessMs: 10_000,
      backoffMs: 100,
      // Slow forwards (150 ms each), so a kill lands in the middle of a sample.
      spawnOptions: { ...spawnOptions, env: { SENCACHE_WORKER_DEBUG: "1", SENCACHE_WORKER_DEBUG_DELAY_MS: "150" } },
      onEvent: (e) => events.push(e),
    }),
    WorkerProcess.start(spawnOptions),
  ]);
});

test.after.always(async () => {
  await Promise.all([pool?.close(), single?.shutdown()]);
});

const options = (seed: number): GenerateOptions => ({
  prompt: "a red square drifting",
  image: testImage(32, 32),
  seed,
  steps: 4,
  height: 32,
  width: 32,
  numFrames: 5,
  decode: false,
});

test.serial("image handles are the pool's: concurrent i2v samples over two members match one worker's", async (t) => {
  const [onPool, onOne] = await Promise.all([Model.load(pool, dir), Model.load(single.client, dir)]);
  const seeds = [1, 2, 3, 4];
  const reference: Float32Array[] = [];
  for (const seed of seeds) reference.push((await generate(onOne, options(seed))).latent);
  const before = events.length;
  // One sample alone: its requests alternate between the members (round robin), so each needs the image on both.
  for (const [i, seed] of seeds.slice(0, 2).entries()) t.deepEqual((await generate(onPool, options(seed))).latent, reference[i], `seed ${seed}`);
  const got = await Promise.all(seeds.map((seed) => generate(onPool, options(seed))));
  got.forEach((r, i) => t.deepEqual(r.latent, reference[i], `seed ${seeds[i]}`));
  t.false(events.slice(before).some((e) => e.type === "retry"), "no request needed a retry for a handle its member lacked");
  const image = await pool.request({ op: "encodeImage", model: onPool.info.model, seed: 1, height: 32, width: 32, numFrames: 5, image: testImage(32, 32) });
  t.regex(image.image, /^pi\d+$/);
  t.is((await pool.request({ op: "release", handles: [image.image] })).released, 1);
});

test.serial("a member killed mid-sample: the i2v sample finishes unchanged on the other and the new member", async (t) => {
  const [onPool, onOne] = await Promise.all([Model.load(pool, dir), Model.load(single.client, dir)]);
  const reference = (await generate(onOne, options(7))).latent;
  const victim = pool.processOf(0);
  let finished = false;
  const running = generate(onPool, options(7)).finally(() => (finished = true));
  await new Promise((r) => setTimeout(r, 500));
  t.false(finished, "the sample was still running when its worker was killed");
  victim?.kill("SIGKILL");
  t.deepEqual((await running).latent, reference);
  t.true(events.some((e) => e.type === "lost" && e.member === 0));
  await pool.waitReady(2);
  const again = await Promise.all([generate(onPool, options(7)), generate(onPool, options(7))]);
  for (const r of again) t.deepEqual(r.latent, reference);
});
