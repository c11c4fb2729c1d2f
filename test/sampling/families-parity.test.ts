/**
 * Every supported diffusers pipeline class, tiny and random, through the real worker: the TS loop with
 * policy `none` reproduces the pipeline's own `__call__` (output_type="latent", same seed, CPU, float32)
 * to max|Δ|/max|ref| ≤ 1e-5 — with and without guidance, with CogVideoX's dynamic CFG, Wan 2.2's two
 * experts with guidance_scale_2, and image-to-video through one encode_image handle per sample.
 */
import test from "ava";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { ReplayNoiseSource } from "../../ts/schedulers/noise.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";
import { familyModels, noiseDraws, pipelineReferences, testImage, type Reference, type ReferenceJob } from "../helpers/families.js";
import { maxRelativeError } from "../helpers/tiny.js";

interface Run {
  readonly name: string;
  readonly case: string;
  readonly guidance: number;
  readonly dynamic?: boolean;
  readonly guidance2?: number;
  /** LTX-Video's frame rate per request (`frame_rate` of __call__). */
  readonly fps?: number;
}

// One guided run per case; unguided and dynamic-CFG runs where the pipeline class first appears.
const RUNS: readonly Run[] = [
  { name: "CogVideoXPipeline 2b (DDIM, sincos positions)", case: "cogvideox-2b", guidance: 6 },
  { name: "CogVideoXPipeline 2b, no guidance", case: "cogvideox-2b", guidance: 1 },
  { name: "CogVideoXPipeline 2b, dynamic CFG", case: "cogvideox-2b", guidance: 6, dynamic: true },
  { name: "CogVideoXPipeline 5b (DPM, rotary), dynamic CFG", case: "cogvideox-5b", guidance: 6, dynamic: true },
  { name: "CogVideoXPipeline 1.5 (patch_size_t 2, padded frames)", case: "cogvideox1.5", guidance: 6 },
  { name: "CogVideoXImageToVideoPipeline 5b-I2V (learned positions)", case: "cogvideox-5b-i2v", guidance: 6 },
  { name: "CogVideoXImageToVideoPipeline 5b-I2V, dynamic CFG", case: "cogvideox-5b-i2v", guidance: 6, dynamic: true },
  { name: "CogVideoXImageToVideoPipeline 1.5 (ofs)", case: "cogvideox1.5-i2v", guidance: 6 },
  { name: "LTXPipeline (mu-shifted linspace sigmas)", case: "ltx", guidance: 3 },
  { name: "LTXPipeline, no guidance", case: "ltx", guidance: 1 },
  { name: "LTXPipeline at 12 fps (frame rate per request)", case: "ltx", guidance: 3, fps: 12 },
  { name: "LTXImageToVideoPipeline", case: "ltx-i2v", guidance: 3 },
  { name: "WanImageToVideoPipeline 2.1 (CLIP image embeddings)", case: "wan2.1-i2v", guidance: 5 },
  { name: "WanImageToVideoPipeline 2.1, no guidance", case: "wan2.1-i2v", guidance: 1 },
  { name: "WanPipeline 2.2 TI2V-5B (expand_timesteps)", case: "wan2.2-ti2v", guidance: 5 },
  { name: "WanImageToVideoPipeline 2.2 TI2V-5B (image in frame 0)", case: "wan2.2-ti2v-i2v", guidance: 5 },
  { name: "WanPipeline 2.2 A14B (two experts, guidance_scale_2)", case: "wan2.2-a14b", guidance: 5, guidance2: 3 },
  { name: "WanImageToVideoPipeline 2.2 A14B (two experts)", case: "wan2.2-a14b-i2v", guidance: 4, guidance2: 2 },
];

const PROMPT = "a red square moving left on a blue background";
const NEGATIVE = "dark";
const SEED = 7;

let worker: WorkerProcess;
const models = new Map<string, Model>();
let dirs: Record<string, string>;
let jobs: ReferenceJob[];
const refs = new Map<number, Reference>();
/** References come in batches of this many runs per Python process (each batch reports back, so a loaded machine never hits ava's inactivity timeout). */
const BATCH = 4;

function referenceOf(i: number): Reference {
  if (!refs.has(i)) {
    const start = i - (i % BATCH);
    pipelineReferences(jobs.slice(start, start + BATCH)).forEach((ref, k) => refs.set(start + k, ref));
  }
  return refs.get(i) as Reference;
}

test.before(async () => {
  dirs = familyModels([...new Set(RUNS.map((r) => r.case))]);
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
  for (const [name, dir] of Object.entries(dirs)) models.set(name, await Model.load(worker.client, dir));
  jobs = RUNS.map((r) => {
    const m = models.get(r.case) as Model;
    const d = m.info.defaults;
    const args: Record<string, unknown> = {
      prompt: PROMPT, negative_prompt: NEGATIVE, seed: SEED, height: d.height, width: d.width, num_frames: d.numFrames,
      num_inference_steps: d.numInferenceSteps, guidance_scale: r.guidance, max_sequence_length: d.maxSequenceLength,
    };
    if (r.dynamic) args["use_dynamic_cfg"] = true;
    if (r.guidance2 !== undefined) args["guidance_scale_2"] = r.guidance2;
    if (r.fps !== undefined) args["frame_rate"] = r.fps;
    return { model: dirs[r.case] as string, args, ...(m.info.imageToVideo ? { image: testImage(d.height, d.width) } : {}) };
  });
});

test.after.always(async () => {
  await worker?.shutdown();
});

RUNS.forEach((r, i) => {
  test.serial(`policy none reproduces ${r.name} to ≤ 1e-5 (guidance ${r.guidance}${r.dynamic ? ", dynamic" : ""})`, async (t) => {
    const m = models.get(r.case) as Model;
    const ref = referenceOf(i);
    const d = m.info.defaults;
    const numel = ref.shape.reduce((a, b) => a * b, 1);
    const ours = await generate(m, {
      prompt: PROMPT, negativePrompt: NEGATIVE, seed: SEED, guidanceScale: r.guidance,
      ...(r.dynamic ? { dynamicCfg: true } : {}),
      ...(r.guidance2 !== undefined ? { guidanceScale2: r.guidance2 } : {}),
      ...(r.fps !== undefined ? { fps: r.fps } : {}),
      ...(m.info.imageToVideo ? { image: testImage(d.height, d.width) } : {}),
      ...(ref.noise ? { noise: new ReplayNoiseSource(noiseDraws(ref.noise, numel)) } : {}),
    });
    t.deepEqual([...ours.latentShape], ref.shape);
    const err = maxRelativeError(ours.latent, ref.latent);
    t.log(`${m.info.pipelineClass} (${r.case}): max relative error ${err.toExponential(2)}`);
    t.true(err <= 1e-5, `max relative error ${err}`);
    t.is(ours.summary.nfe, d.numInferenceSteps);
  });
});

test.serial("LTX fps is a per-request option: another frame rate changes the output, the default is the model's, and it is validated in TS", async (t) => {
  const m = models.get("ltx") as Model;
  const base = { prompt: PROMPT, negativePrompt: NEGATIVE, seed: SEED, guidanceScale: 3 };
  const run = (fps?: number) => generate(m, { ...base, ...(fps !== undefined ? { fps } : {}) });
  const byDefault = await run();
  const explicit = await run(m.info.defaults.fps);
  t.is(maxRelativeError(explicit.latent, byDefault.latent), 0, "fps = the model's default is the default");
  const other = await run(12);
  const change = maxRelativeError(other.latent, byDefault.latent);
  t.log(`LTX latent at 12 fps vs 25 fps: max relative difference ${change.toExponential(2)}`);
  t.true(change > 1e-3, `12 fps changed the output by only ${change}`);
  for (const bad of [0, -3, Number.NaN, 5000]) await t.throwsAsync(run(bad), { message: /^fps must be a number in \(0, 1000\], not/ });
  const wan = models.get("wan2.2-ti2v") as Model;
  const refused = /^WanPipeline is not conditioned on the frame rate \(only LTX-Video is\)/;
  await t.throwsAsync(generate(wan, { prompt: PROMPT, seed: SEED, fps: 12 }), { message: refused });
});

test.serial("the load result reports each family's experts, guidance, geometry and schedule", (t) => {
  const a14b = (models.get("wan2.2-a14b") as Model).info;
  t.deepEqual((a14b.experts ?? []).map((e) => [e.name, e.tMin, e.tMax]), [["transformer", 875, 1000], ["transformer_2", 0, 875]]);
  t.is(a14b.guidance?.scale2, 3);
  const ltx = (models.get("ltx") as Model).info;
  t.deepEqual(ltx.setTimesteps, { sigmas: "linspace", mu: "sequence_length" });
  t.is(ltx.defaults.fps, 25);
  t.is(ltx.geometry?.maxLatent, undefined);
  const cog = (models.get("cogvideox1.5") as Model).info;
  t.deepEqual(cog.geometry?.patch, [2, 2, 2]);
  t.false(cog.guidance?.dynamic);
  t.deepEqual((models.get("cogvideox-5b-i2v") as Model).info.geometry?.fixedSize, [32, 32]);
  for (const m of models.values()) t.is(m.info.imageToVideo === true, m.info.pipelineClass.includes("ImageToVideo"));
});
