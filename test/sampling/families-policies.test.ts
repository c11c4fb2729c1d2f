/**
 * Every cache policy on every family, through the real worker and the tiny pipelines of
 * py/sencache_fixtures/families.py: calibrate writes a profile (and MagCache ratios) for each
 * text-to-video family, SenCache (ε rule and budget mode), MagCache, EasyCache, fixed-interval and
 * TeaCache (Wan, CogVideoX) lower the NFE, budget mode hits its NFE exactly, image-to-video runs the
 * policies with one image handle per sample, and TeaCache on LTX-Video is a typed refusal.
 */
import test from "ava";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PolicyOptionsError } from "../../ts/policies/errors.js";
import { resolvePolicy } from "../../ts/policies/index.js";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { calibrate, calibrateMagcache, saveMagcacheRatios, saveProfile } from "../../ts/sensitivity/index.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";
import { familyModels, testImage } from "../helpers/families.js";

const T = 10;
const T2V = ["cogvideox-2b", "ltx", "wan2.2-ti2v"] as const;
const I2V = ["cogvideox-5b-i2v", "ltx-i2v", "wan2.1-i2v"] as const;

let worker: WorkerProcess;
let tmp: string;
const models = new Map<string, Model>();

test.before(async () => {
  const dirs = familyModels([...T2V, ...I2V]);
  tmp = mkdtempSync(join(tmpdir(), "sencache-families-policies-"));
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
  for (const [name, dir] of Object.entries(dirs)) models.set(name, await Model.load(worker.client, dir));
});

test.after.always(async () => {
  await worker?.shutdown();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const base = { prompt: "a red square moving left", negativePrompt: "", seed: 5, steps: T };

for (const name of T2V) {
  const policies = `sencache (ε and budget), magcache, easycache, fixed-interval${name === "ltx" ? "" : ", teacache"}`;
  test.serial(`${name}: calibrate, then ${policies} lower the NFE`, async (t) => {
    const m = models.get(name) as Model;
    const { profile, report } = await calibrate(m, { samples: 2, steps: T, seed: 1 });
    t.is(profile.timesteps.length, T);
    t.is(report.denoiseItems.measure, 3 * T * 2);
    const profilePath = join(tmp, `${name}-profile.json`);
    await saveProfile(profilePath, profile);
    const { ratios } = await calibrateMagcache(m, { samples: 1, steps: T });
    const ratiosPath = join(tmp, `${name}-ratios.json`);
    await saveMagcacheRatios(ratiosPath, ratios);
    const specs = [
      `sencache:profile=${profilePath},eps=10`,
      `magcache:ratiosFile=${ratiosPath},delta=10,K=2,retention=0`,
      "easycache:tau=10,warmup=2",
      "fixed-interval:k=2,warmup=1",
      ...(name === "ltx" ? [] : ["teacache:delta=100"]),
    ];
    const nfe: Record<string, number> = {};
    for (const spec of specs) {
      const run = await generate(m, { ...base, policy: resolvePolicy(spec) });
      nfe[spec.split(":")[0] as string] = run.summary.nfe;
      t.true(run.summary.nfe < T, `${spec}: NFE ${run.summary.nfe} of ${T}`);
    }
    for (const budget of [4, 6]) {
      const run = await generate(m, { ...base, policy: resolvePolicy(`sencache:profile=${profilePath},nfe=${budget}`) });
      t.is(run.summary.nfe, budget, `budget ${budget}`);
      nfe[`sencache nfe=${budget}`] = run.summary.nfe;
    }
    t.log(`${name} (${m.info.pipelineClass}), ${T} steps: NFE ${JSON.stringify(nfe)}`);
  });
}

for (const name of I2V) {
  test.serial(`${name}: image-to-video under easycache, fixed-interval${name.startsWith("ltx") ? "" : ", teacache"} lowers the NFE`, async (t) => {
    const m = models.get(name) as Model;
    const d = m.info.defaults;
    const image = testImage(d.height, d.width);
    const specs = ["easycache:tau=10,warmup=2", "fixed-interval:k=2,warmup=1", ...(name.startsWith("ltx") ? [] : ["teacache:delta=100"])];
    const nfe: Record<string, number> = {};
    for (const spec of specs) {
      const run = await generate(m, { ...base, image, policy: resolvePolicy(spec) });
      nfe[spec.split(":")[0] as string] = run.summary.nfe;
      t.true(run.summary.nfe < T, `${spec}: NFE ${run.summary.nfe}`);
    }
    t.log(`${name} (${m.info.pipelineClass}), ${T} steps: NFE ${JSON.stringify(nfe)}`);
  });
}

test.serial("time_embedding answers on every family; " +
  "TeaCache on LTX-Video is refused in one sentence (its published indicator needs activations)", async (t) => {
  for (const [name, m] of models) {
    const emb = await m.probes.timeEmbedding([999, 500, 1]);
    t.is(emb.length, 3, name);
    t.true(emb.every((e) => e.length > 0 && e.every(Number.isFinite)), name);
  }
  const ltx = models.get("ltx") as Model;
  const err = await t.throwsAsync(generate(ltx, { ...base, policy: resolvePolicy("teacache:delta=0.05") }));
  t.true(PolicyOptionsError.isInstance(err));
  t.is((err as PolicyOptionsError).code, "unsupported_model");
  t.regex(err?.message ?? "", /block 0.*reused step sends nothing/);
  const variant = await generate(ltx, { ...base, policy: resolvePolicy("teacache:delta=100,coefficients=[0,0,0,1,0]") });
  t.true(variant.summary.nfe < T);
  t.true(variant.summary.diagnostics.some((d) => /time-embedding variant/.test(d)));
});
