/**
 * Calibration through the REAL worker and the tiny random WanPipeline: profiles from uncached
 * generations and from media, the 3·T·N evaluation count, the validity check of a calibrated profile
 * against runs, the official .npz import, and MagCache ratio calibration used by the magcache policy.
 */
import test from "ava";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AbortError } from "../../ts/errors.js";
import { PYTHON } from "../media/helpers.js";
import { execFileSync } from "node:child_process";
import { resolvePolicy } from "../../ts/policies/index.js";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import {
  ProfileError,
  calibrate,
  calibrateMagcache,
  compareProfiles,
  loadMagcacheRatiosSync,
  loadMediaVideo,
  loadProfile,
  makeProfile,
  saveMagcacheRatios,
  saveProfile,
  type SensitivityProfile,
} from "../../ts/sensitivity/index.js";
import { createScheduler, schedulerConfigHash } from "../../ts/schedulers/index.js";
import { fakeModel } from "../../ts/testing/fake-denoiser.js";
import type { DenoiseItem } from "../../ts/sampling/types.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const size = { height: 16, width: 16, numFrames: 5 };
const T = 5;
let worker: WorkerProcess;
let model: Model;
let tmp: string;
let fromGenerations: SensitivityProfile;

test.before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "sencache-calibrate-"));
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
  model = await Model.load(worker.client, tinyModelDir());
});

test.after.always(async () => {
  await worker?.shutdown();
});

const finitePositive = (xs: readonly number[]): boolean => xs.every((v) => Number.isFinite(v) && v > 0);

test.serial("calibration from uncached generations: " +
  "a finite positive profile of T entries, valid for the model, schedule and shape; 3·T·N measurement items", async (t) => {
  const N = 2;
  const events: number[] = [];
  const before = await worker.client.request({ op: "stats" });
  const sentBefore = worker.client.sentByOp.get("denoise") ?? 0;
  const { profile, report } = await calibrate(model, { samples: N, steps: T, ...size, seed: 3, onProgress: (e) => events.push(e.completed) });
  const after = await worker.client.request({ op: "stats" });
  t.is(profile.timesteps.length, T);
  t.true(finitePositive(profile.J_x_norm), `J_x ${profile.J_x_norm.join(", ")}`);
  t.true(finitePositive(profile.J_t_norm), `J_t ${profile.J_t_norm.join(", ")}`);
  t.deepEqual([...(profile.sampleCounts ?? [])], new Array(T).fill(N));
  t.is(profile.J_x_std?.length, T);
  // Every sample's values are stored, and their mean is the profile's value.
  t.is(profile.J_x_samples?.length, N);
  t.is(profile.J_t_samples?.[0]?.length, T);
  t.true(Math.abs(((profile.J_x_samples![0]![0]! + profile.J_x_samples![1]![0]!) / 2) - profile.J_x_norm[0]!) < 1e-9);
  t.deepEqual([...profile.timesteps], Array.from(model.scheduler(T).timesteps));
  const sch = model.info.scheduler;
  t.deepEqual(profile.validFor, {
    model: { family: model.family, source: model.identity },
    scheduler: { className: sch.className, configHash: schedulerConfigHash(sch.className, sch.config) },
    steps: T,
    latentShape: model.latentShape(size),
  });
  t.is(report.source, "generations");
  t.is(report.denoiseItems.measure, 3 * T * N);
  const counted = "the worker counted 3·T·N measurement items plus the generations'";
  t.is(after.denoiseItems - before.denoiseItems, 3 * T * N + report.denoiseItems.generate, counted);
  t.is(report.denoiseMessages, 2 * N, "two denoise messages per sample (T items, then 2T)");
  t.is((worker.client.sentByOp.get("denoise") ?? 0) - sentBefore, 2 * N + report.denoiseItems.generate / 2);
  t.is(events.at(-1), 2 * N * T, "progress reaches the total (generation steps + measured timesteps)");
  // Deterministic for a seed.
  const again = await calibrate(model, { samples: N, steps: T, ...size, seed: 3 });
  t.deepEqual(again.profile.J_x_norm, profile.J_x_norm);
  fromGenerations = profile;
});

/** Write test images with Pillow: a 24×20 gradient PNG, an 8×8 JPEG, a folder of three 32×32 PNG frames, a 4-frame GIF. */
function writeMedia(dir: string): void {
  const code = `
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
x, y = np.meshgrid(np.arange(24), np.arange(20))
Image.fromarray(np.stack([x * 10, y * 12, np.full_like(x, 128)], -1).astype(np.uint8)).save(f"{d}/a.png")
b = np.zeros((8, 8, 3), np.uint8); b[:, :4, 0] = 255; b[..., 1] = 60; b[..., 2] = 200
Image.fromarray(b).save(f"{d}/b.jpg", quality=95)
x, y = np.meshgrid(np.arange(32), np.arange(32))
frames = [Image.fromarray(np.stack([(x + 5 * i) * 8 % 256, y * 8, np.full_like(x, 40 * i)], -1).astype(np.uint8)) for i in range(4)]
for i in range(3): frames[i].save(f"{d}/clip/frame{i + 1}.png")
frames[0].save(f"{d}/moving.gif", save_all=True, append_images=frames[1:], duration=125)
`;
  execFileSync(PYTHON, ["-c", code, dir]);
}

test.serial("calibration from media: images, a GIF and a folder of frames, read and resized by the worker; exactly 3·T·N items", async (t) => {
  const dir = join(tmp, "media");
  mkdirSync(join(dir, "clip"), { recursive: true });
  writeMedia(dir);
  const video = await loadMediaVideo(model, join(dir, "clip"), size);
  t.deepEqual(video.shape, [size.numFrames, size.height, size.width, 3]);
  t.is((await loadMediaVideo(worker.client, join(dir, "moving.gif"), size)).data.length, size.numFrames * size.height * size.width * 3);
  const N = 4;
  const before = await worker.client.request({ op: "stats" });
  const { profile, report } = await calibrate(
    model,
    { samples: N, steps: T, ...size, media: [join(dir, "a.png"), join(dir, "b.jpg"), join(dir, "clip"), join(dir, "moving.gif")] },
  );
  const after = await worker.client.request({ op: "stats" });
  t.is(report.source, "media");
  t.is(after.denoiseItems - before.denoiseItems, 3 * T * N);
  t.is(report.denoiseItems.generate, 0);
  t.is(profile.timesteps.length, T);
  t.true(finitePositive(profile.J_x_norm) && finitePositive(profile.J_t_norm));
  t.deepEqual(profile.validFor.latentShape, model.latentShape(size));
  const err = await t.throwsAsync(calibrate(model, { samples: 1, steps: T, ...size, media: [join(dir, "missing.gif")] }));
  t.regex(err.message, /does not exist/);
  writeFileSync(join(dir, "broken.png"), "not a png");
  const bad = await t.throwsAsync(calibrate(model, { samples: 1, steps: T, ...size, media: [join(dir, "broken.png")] }));
  t.regex(bad.message, /broken\.png cannot be read as an image/);
});

test.serial("a calibrated profile used with another step count or latent shape is a typed error; with resample it runs and logs", async (t) => {
  const path = join(tmp, "profile.json");
  await saveProfile(path, fromGenerations);
  const base = { prompt: "a red square", seed: 1, guidanceScale: 3, ...size };
  const ok = await generate(model, { ...base, steps: T, policy: resolvePolicy(`sencache:profile=${path},eps=0.1`) });
  t.is(ok.summary.totalSteps, T);
  const steps = await t.throwsAsync(generate(model, { ...base, steps: T + 2, policy: resolvePolicy(`sencache:profile=${path}`) }));
  t.true(ProfileError.isInstance(steps));
  t.is((steps as ProfileError).code, "profile_timesteps_mismatch");
  const shape = await t.throwsAsync(generate(model, { ...base, steps: T, height: 32, policy: resolvePolicy(`sencache:profile=${path}`) }));
  t.is((shape as ProfileError).code, "profile_shape_mismatch");
  const logs: string[] = [];
  const resampled = await generate(model, { ...base, steps: T + 2, policy: resolvePolicy(`sencache:profile=${path},resample=true`), log: (m) => logs.push(m) });
  t.is(resampled.summary.totalSteps, T + 2);
  t.true(logs.some((m) => /resampled it by nearest timestep/.test(m)), logs.join("\n"));
});

test.serial("the official .npz imports to a profile that round-trips through JSON", async (t) => {
  const reference = JSON.parse(readFileSync(join(FIXTURES, "sensitivity-sample.json"), "utf8")) as Record<string, { values: number[] }>;
  const validFor = { model: { family: "wan", source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" }, steps: 50 };
  const imported = await loadProfile(join(FIXTURES, "sensitivity-sample.npz"), { validFor });
  t.is(imported.timesteps.length, 50);
  t.deepEqual([...imported.timesteps], reference.timesteps!.values);
  for (const key of ["J_x_norm", "J_t_norm"] as const) {
    const want = reference[key]!.values;
    t.true(imported[key].every((v, i) => Math.abs(v - want[i]!) <= 1e-6 * Math.abs(want[i]!)), key);
  }
  const path = join(tmp, "imported.json");
  await saveProfile(path, imported);
  const back = await loadProfile(path);
  t.deepEqual(back, imported);
  t.deepEqual(back.validFor, validFor);
  t.regex(back.origin ?? "", /^npz:/);
  const cmp = compareProfiles(back, imported);
  t.is(cmp.maxRel.jx, 0);
  t.is(cmp.maxRel.jt, 0);
});

test("compareProfiles gives per-timestep relative differences against the reference", (t) => {
  const validFor = {};
  const b = makeProfile({ timesteps: [900, 500, 100], J_x_norm: [2, 4, 8], J_t_norm: [1, 1, 1], validFor });
  const a = makeProfile({ timesteps: [900, 500, 100], J_x_norm: [2, 5, 6], J_t_norm: [1.1, 1, 0.9], validFor });
  const c = compareProfiles(a, b);
  t.deepEqual(c.rows.map((r) => r.t), [900, 500, 100]);
  t.deepEqual(c.rows.map((r) => +r.jxRel.toFixed(6)), [0, 0.25, 0.25]);
  t.deepEqual(c.rows.map((r) => +r.jtRel.toFixed(6)), [0.1, 0, 0.1]);
  t.is(+c.maxRel.jx.toFixed(6), 0.25);
  t.is(+c.meanRel.jt.toFixed(6), +(0.2 / 3).toFixed(6));
});

test.serial("MagCache calibration: ratios of length T per branch, saved, and the magcache policy runs with them", async (t) => {
  const { ratios, report } = await calibrateMagcache(model, { samples: 2, steps: T, ...size, guidanceScale: 3 });
  t.is(ratios.ratios.length, T);
  t.is(ratios.uncondRatios?.length, T);
  t.is(ratios.ratios[0], 1);
  t.true(ratios.ratios.every((r) => Number.isFinite(r) && r > 0));
  t.is(report.denoiseItems, 2 * T * 2);
  t.deepEqual(ratios.validFor.latentShape, model.latentShape(size));
  const path = join(tmp, "ratios.json");
  await saveMagcacheRatios(path, ratios);
  t.deepEqual(loadMagcacheRatiosSync(path).ratios, ratios.ratios);
  const policy = resolvePolicy(`magcache:ratiosFile=${path},delta=10,K=2,retention=0`);
  t.deepEqual(policy.options as unknown as { ratios: number[] }, { ...(policy.options as object), ratios: ratios.ratios });
  const run = await generate(model, { prompt: "a blue circle", seed: 2, steps: T, guidanceScale: 3, ...size, policy });
  t.true(run.summary.nfe < T, `NFE ${run.summary.nfe}`);
  t.deepEqual(run.summary.diagnostics, []);
  const bad = t.throws(() => resolvePolicy(`magcache:ratiosFile=${join(tmp, "nope.json")}`));
  t.regex(bad.message, /cannot be read/);
});

test.serial("an aborted calibration stops with AbortError", async (t) => {
  const controller = new AbortController();
  const p = calibrate(model, { samples: 4, steps: T, ...size, signal: controller.signal, onProgress: () => controller.abort() });
  const err = await t.throwsAsync(p);
  t.true(err instanceof AbortError || err.name === "AbortError", err.message);
});

test("non-flow schedulers (CogVideoX DDIM, v-prediction): addNoise and a fresh scheduler step, on a fake model", async (t) => {
  const spec = {
    className: "CogVideoXDDIMScheduler",
    config: {
      num_train_timesteps: 1000,
      beta_start: 0.00085,
      beta_end: 0.012,
      beta_schedule: "scaled_linear",
      clip_sample: false,
      set_alpha_to_one: true,
      steps_offset: 0,
      prediction_type: "v_prediction",
      timestep_spacing: "trailing",
      rescale_betas_zero_snr: true,
      snr_shift_scale: 3.0,
    },
  };
  const shape = [1, 4, 2, 3, 3];
  const numel = 72;
  let items = 0;
  const fake = {
    family: "cogvideox",
    source: "fake",
    identity: "fake",
    info: {
      scheduler: spec,
      defaults: { height: 24, width: 24, numFrames: 5, guidanceScale: 6, numInferenceSteps: 6 },
      latent: { channels: 4, spatialScale: 8, temporalScale: 4 },
    },
    scheduler: (steps: number) => createScheduler(spec, steps),
    latentShape: () => shape,
    encodePrompt: async () => "c",
    encodeMedia: async () => ({ dtype: "float32", shape, data: Float32Array.from({ length: numel }, (_, i) => Math.sin(i)) }),
    denoise: async (xs: readonly DenoiseItem[]) => {
      items += xs.length;
      return xs.map((it) => fakeModel(it.x, it.t, it.branch, it.cond));
    },
    release: async () => 1,
    // the worker's read_media, faked: a grey 24×24 clip of 5 frames
    client: { request: async () => ({ video: { dtype: "uint8", shape: [5, 24, 24, 3], data: new Uint8Array(5 * 24 * 24 * 3).fill(90) } }) },
  } as unknown as Model;
  const png = join(mkdtempSync(join(tmpdir(), "sencache-cal-fake-")), "x.png");
  writeFileSync(png, "read by the fake client, never decoded here");
  const { profile, report } = await calibrate(fake, { samples: 2, steps: 6, media: [png], maxItemsPerMessage: 4 });
  t.is(createScheduler(spec, 6).predictionType, "v_prediction");
  t.is(profile.timesteps.length, 6);
  t.true(finitePositive(profile.J_x_norm) && finitePositive(profile.J_t_norm), `${profile.J_x_norm} / ${profile.J_t_norm}`);
  t.is(items, 3 * 6 * 2);
  t.is(report.denoiseMessages, 2 * 2 * 3, "blocks of 2 timesteps: 2 + 4 items per block");
});
