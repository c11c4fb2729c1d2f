/**
 * Kill test of the worker pool: N generations on a pool of spawned workers in deterministic batching
 * mode (`--batching request`), first undisturbed, then again while a killer `kill -9`s a random ready
 * worker at random moments. Prints kills survived, requests retried, samples lost and how many
 * disturbed samples are bit-identical to their undisturbed run.
 *
 *   nice -n 10 npx tsx scripts/pool-kill-test.ts [--generations 100] [--workers 2] [--steps 10]
 *     [--concurrency 4] [--kill-every-ms 1500-4000] [--model models/tiny-wan-t2v]
 */
import { parseArgs } from "node:util";
import { generate } from "../ts/sampling/generate.js";
import { Model } from "../ts/sampling/model.js";
import { openPool, type PoolEvent } from "../ts/worker/pool.js";
import { workerScriptOptions } from "./script-args.js";

const { values } = parseArgs({
  options: {
    ...workerScriptOptions({ steps: "10" }),
    generations: { type: "string", default: "100" },
    workers: { type: "string", default: "2" },
    concurrency: { type: "string", default: "4" },
    "kill-every-ms": { type: "string", default: "1500-4000" },
  },
});
const N = Number(values.generations);
const steps = Number(values.steps);
const concurrency = Number(values.concurrency);
const [killMin, killMax] = (values["kill-every-ms"] as string).split("-").map(Number) as [number, number];
const prompts = ["a red circle moving right", "a blue square growing", "a green triangle rotating", "a yellow circle shrinking"];

const events: PoolEvent[] = [];
const pool = await openPool({
  spawn: Number(values.workers),
  minReady: Number(values.workers),
  heartbeatMs: 500,
  livenessMs: 10_000,
  backoffMs: 100,
  spawnOptions: { device: "cpu", threads: Number(values.threads), args: ["--batching", "request"] },
  onEvent: (e) => events.push(e),
});
const model = await Model.load(pool, values.model as string);

async function runAll(label: string): Promise<{ latents: (Float32Array | undefined)[]; lost: number; seconds: number }> {
  const latents: (Float32Array | undefined)[] = new Array(N);
  let next = 0;
  let lost = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < N) {
      const i = next++;
      try {
        const r = await generate(model, { prompt: prompts[i % prompts.length] as string, seed: 1000 + i, steps, decode: false });
        latents[i] = r.latent;
      } catch (error) {
        lost++;
        console.error(`${label}: generation ${i} failed: ${String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { latents, lost, seconds: (performance.now() - t0) / 1000 };
}

const reference = await runAll("undisturbed");
console.log(`undisturbed: ${N - reference.lost}/${N} in ${reference.seconds.toFixed(1)} s`);

let kills = 0;
let stop = false;
const killer = (async () => {
  while (!stop) {
    await new Promise((r) => setTimeout(r, killMin + Math.random() * (killMax - killMin)));
    if (stop) break;
    const ready = pool.status.flatMap((s, i) => (s.state === "ready" ? [i] : []));
    if (ready.length < pool.size) continue; // one down at a time: wait for the last victim to come back
    const victim = pool.processOf(ready[Math.floor(Math.random() * ready.length)] as number);
    if (victim?.alive) {
      victim.kill("SIGKILL");
      kills++;
    }
  }
})();
const retriesBefore = pool.retries;
const disturbed = await runAll("disturbed");
stop = true;
await killer;

let identical = 0;
for (let i = 0; i < N; i++) {
  const a = reference.latents[i];
  const b = disturbed.latents[i];
  if (a && b && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0) identical++;
}
console.log(`disturbed: ${N - disturbed.lost}/${N} complete in ${disturbed.seconds.toFixed(1)} s`);
console.log(
  `kills (kill -9): ${kills}; members lost: ${events.filter((e) => e.type === "lost").length}; requests retried: ${pool.retries - retriesBefore}; ` +
    `samples lost: ${disturbed.lost}`,
);
console.log(`bit-identical to the undisturbed run: ${identical}/${N}`);
await pool.close();
process.exit(identical === N && disturbed.lost === 0 ? 0 : 1);
