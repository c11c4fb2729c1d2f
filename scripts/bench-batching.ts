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
const requests: RunRequest[] = Array.from({ length: n }, (_, i) => ({ prompt: prompts[i % prompts.length] as string, seed: 100 + i, steps: Number(values.steps), decode: false }));

for (const mode of ["merge", "request"]) {
  const worker = await WorkerProcess.start({ device: "cpu", threads: Number(values.threads), args: ["--batching", mode] });
  try {
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
    console.log(`--batching ${mode}: ${n} samples × ${values.steps} steps, torch threads ${values.threads}`);
    console.log(`  one after another: ${(n / tSeq).toFixed(2)} samples/s (${tSeq.toFixed(1)} s, ${s1.forwards - s0.forwards} forwards)`);
    console.log(`  ${n} concurrent:      ${(n / tCon).toFixed(2)} samples/s (${tCon.toFixed(1)} s, ${s2.forwards - s1.forwards} forwards for ${s2.denoiseRequests - s1.denoiseRequests} requests)`);
    console.log(`  speed-up ${(tSeq / tCon).toFixed(2)}× (goal ≥ 1.5× with merging); max |concurrent − sequential| = ${maxDiff.toExponential(2)}${mode === "request" ? " (must be 0)" : " (≤ 1e-5)"}`);
  } finally {
    await worker.shutdown();
  }
}
process.exit(0);
