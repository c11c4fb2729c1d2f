/**
 * What merging buys: 8 samples one after another vs the same 8 concurrently on one worker, in the
 * worker's two batching modes (merge: waiting denoise requests share a forward; request: one forward
 * per request). Prints samples/s ratios and how far the concurrent outputs are from the sequential
 * ones (max |Δ|; deterministic mode must be 0), measured in one run.
 *
 *   nice -n 10 npx tsx scripts/bench-batching.ts [--samples 8] [--steps 10] [--threads 2]
 */
import { parseArgs } from "node:util";
import { runMany, type RunRequest } from "../ts/sampling/runner.js";
import { Model } from "../ts/sampling/model.js";
import { WorkerProcess } from "../ts/worker/supervisor.js";
import { workerScriptOptions } from "./script-args.js";

const { values } = parseArgs({
  options: {
    ...workerScriptOptions({ steps: "10", threads: "2" }),
    samples: { type: "string", default: "8" },
  },
});
const n = Number(values.samples);
const prompts = ["a red circle moving right", "a blue square growing", "a green triangle rotating", "a yellow circle shrinking"];
const requests: RunRequest[] = Array.from({ length: n }, (_, i) => ({
  prompt: prompts[i % prompts.length] as string, seed: 100 + i, steps: Number(values.steps), decode: false,
}));

const rows: string[] = [];
for (const mode of ["merge", "request"]) {
  // each mode in its own try: a failure of one (e.g. a slow start on a loaded machine) still prints the other's row
  let worker: WorkerProcess | undefined;
  try {
    worker = await WorkerProcess.start({ device: "cpu", threads: Number(values.threads), args: ["--batching", mode], startTimeoutMs: 600_000 });
    const model = await Model.load(worker.client, values.model as string);
    await runMany(model, requests.slice(0, 1), { concurrency: 1 }); // warm-up
    const s0 = await worker.client.request({ op: "stats" });
    let t0 = performance.now();
    const seq = await runMany(model, requests, { concurrency: 1 });
    const tSeq = (performance.now() - t0) / 1000;
    const s1 = await worker.client.request({ op: "stats" });
    t0 = performance.now();
    const con = await runMany(model, requests, { concurrency: n });
    const tCon = (performance.now() - t0) / 1000;
    const s2 = await worker.client.request({ op: "stats" });
    let maxDiff = 0;
    seq.forEach((r, i) => {
      const other = (con[i] as typeof r).latent;
      r.latent.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - (other[j] as number)))));
    });
    const forwards = `${s2.forwards - s1.forwards} forwards for ${s2.denoiseRequests - s1.denoiseRequests} requests`;
    rows.push(`| ${mode} | ${(n / tSeq).toFixed(2)} (${tSeq.toFixed(1)} s, ${s1.forwards - s0.forwards} forwards) | ${(n / tCon).toFixed(2)} `
      + `(${tCon.toFixed(1)} s, ${forwards}) | ${(tSeq / tCon).toFixed(2)}× | ${maxDiff.toExponential(2)} |`);
    console.log(rows[rows.length - 1]);
  } catch (error) {
    rows.push(`| ${mode} | failed: ${String(error).split("\n")[0]} | | | |`);
    console.log(rows[rows.length - 1]);
  } finally {
    await worker?.shutdown().catch(() => undefined);
  }
}
console.log(`\n${n} samples × ${values.steps} steps, torch threads ${values.threads} (goal: merge ≥ 1.5× and max |Δ| ≤ 1e-5; request: max |Δ| = 0)\n`);
console.log("| --batching | one after another, samples/s | all concurrent, samples/s | speed-up | max \\|concurrent − sequential\\| |");
console.log("|---|---|---|---|---|");
for (const row of rows) console.log(row);
process.exit(0);
