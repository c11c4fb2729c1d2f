/**
 * GPU check, TS side (scripts/gpu-check.sh): the per-step time of the TS loop driving a model through the
 * bridge (spawned worker, ipc), policy none, guidance 5 (both branches in one denoise message), as JSON.
 * `--connect` drives a running worker instead (the context-parallel section: a worker under torchrun),
 * `--save` writes the final latent (float32, raw) for comparing two runs, `--shutdown` stops the worker after.
 *
 *   node --import tsx scripts/gpu-check.ts --model DIR --device cuda --dtype bfloat16 --steps 10 [--connect EP] [--save F]
 */
import { writeFileSync } from "node:fs";
import { pipelineTimestepOptions } from "../ts/sampling/family.js";
import { sample } from "../ts/sampling/loop.js";
import { SeededNoiseSource } from "../ts/schedulers/noise.js";
import { Model } from "../ts/sampling/model.js";
import { openWorker } from "../ts/worker/open.js";

const has = (name: string): boolean => process.argv.includes(`--${name}`);
function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const steps = Number(arg("steps", "10"));
const connect = has("connect") ? { connect: arg("connect") } : {};
const worker = await openWorker({ device: arg("device", "cuda"), timeoutMs: 600_000, startTimeoutMs: 600_000, ...connect });
try {
  const model = await Model.load(worker.client, arg("model"), { dtype: arg("dtype", "bfloat16") });
  const d = model.info.defaults;
  const size = { height: d.height, width: d.width, numFrames: d.numFrames };
  const cond = await model.encodePrompt("a red square", { maxSequenceLength: 8 });
  const uncond = await model.encodePrompt("", { maxSequenceLength: 8 });
  const latents = await model.prepareLatents(0, size);
  const stamps: number[] = [];
  const result = await sample({
    denoiser: model,
    scheduler: model.scheduler(steps + 2, pipelineTimestepOptions(model.info, steps + 2, latents.shape)),
    noise: new SeededNoiseSource(0),
    latent: latents.data,
    latentShape: latents.shape,
    cond,
    uncond,
    guidanceScale: 5,
    experts: model.experts,
    onStep: (e) => stamps.push(e.elapsedMs),
  });
  const per = stamps.slice(2).map((s, i) => s - stamps[i + 1]!).sort((a, b) => a - b);
  const median = per.length % 2 ? per[(per.length - 1) / 2]! : (per[per.length / 2 - 1]! + per[per.length / 2]!) / 2;
  if (has("save")) writeFileSync(arg("save"), Buffer.from(result.latent.buffer, result.latent.byteOffset, result.latent.byteLength));
  if (has("shutdown")) await worker.client.request({ op: "shutdown" });
  console.log(JSON.stringify({ ms_per_step: median, steps: per.length, latent: latents.shape, wire: model.info.wireDtype, device: worker.hello.device }));
} finally {
  await worker.close();
}
