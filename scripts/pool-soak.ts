/**
 * Soak: S concurrent samplers against a pool of W local workers for M minutes, in deterministic
 * batching mode. Each sampler repeats its own (prompt, seed) generation and compares every result
 * with its first one bit for bit, so a reply delivered to the wrong request shows up as a mismatch.
 * Prints samples/s, mismatches, and worker / client memory at the start and the end.
 *
 *   nice -n 10 npx tsx scripts/pool-soak.ts [--samplers 32] [--workers 2] [--minutes 10] [--steps 6]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { generate } from "../ts/sampling/generate.js";
import { Model } from "../ts/sampling/model.js";
import { openPool } from "../ts/worker/pool.js";
import { workerScriptOptions } from "./script-args.js";

const { values } = parseArgs({
  options: {
    ...workerScriptOptions({ steps: "6" }),
    samplers: { type: "string", default: "32" },
    workers: { type: "string", default: "2" },
    minutes: { type: "string", default: "10" },
    "start-timeout-s": { type: "string", default: "600" }, // worker start-up is slow on a loaded machine
  },
});
const rssMb = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN;
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const pool = await openPool({
  spawn: Number(values.workers),
  minReady: Number(values.workers),
  startTimeoutMs: Number(values["start-timeout-s"]) * 1000,
  spawnOptions: { device: "cpu", threads: Number(values.threads), args: ["--batching", "request"] },
});
const model = await Model.load(pool, values.model as string);
const prompts = ["a red circle moving right", "a blue square growing", "a green triangle rotating", "a yellow circle shrinking"];
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
const memory = (): string => {
  const workers = pool.status.map((st, i) => rssMb(pool.processOf(i)?.pid ?? st.pid).toFixed(0)).join(" / ");
  return `workers ${workers} MB RSS, client ${mb(process.memoryUsage().rss)} MB RSS (heap ${mb(process.memoryUsage().heapUsed)} MB)`;
};

const deadline = Date.now() + Number(values.minutes) * 60_000;
let done = 0;
let mismatches = 0;
let failures = 0;
let warm = "";
const t0 = performance.now();
const lane = async (k: number): Promise<void> => {
  let first: Buffer | undefined;
  while (Date.now() < deadline) {
    try {
      const r = await generate(model, { prompt: prompts[k % prompts.length] as string, seed: 7_000 + k, steps: Number(values.steps), decode: false });
      const bytes = Buffer.from(r.latent.buffer, r.latent.byteOffset, r.latent.byteLength);
      if (first === undefined) first = Buffer.from(bytes);
      else if (Buffer.compare(first, bytes) !== 0) mismatches++;
      done++;
      if (done === Number(values.samplers)) warm = memory();
    } catch (error) {
      failures++;
      console.error(`sampler ${k}: ${String(error)}`);
    }
  }
};
// one memory line a minute, so "flat" is a series, not two points
const ticker = setInterval(() => console.log(`  ${((performance.now() - t0) / 60_000).toFixed(1)} min: ${done} samples, ${memory()}`), 60_000);
await Promise.all(Array.from({ length: Number(values.samplers) }, (_, k) => lane(k)));
clearInterval(ticker);
const seconds = (performance.now() - t0) / 1000;
console.log(`${values.samplers} samplers × pool of ${values.workers}, ${values.minutes} min, ${values.steps} steps each`);
console.log(`  samples: ${done} (${(done / seconds).toFixed(2)} samples/s), mismatched replies: ${mismatches}, failed samples: ${failures}`);
console.log(`  memory after the first round: ${warm}`);
console.log(`  memory at the end:            ${memory()}`);
await pool.close();
process.exit(mismatches === 0 && failures === 0 ? 0 : 1);
