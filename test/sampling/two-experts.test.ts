/**
 * A real two-expert WanPipeline (Wan 2.2 A14B-shaped: transformer + transformer_2, boundary_ratio 0.875, tiny random
 * weights built locally, test/fixtures/python/two_experts.py) through the real worker. Its experts give very
 * different outputs, so a reuse across the boundary would show; the uncached loop reproduces the pipeline's own
 * __call__; a policy forced to reuse cannot cross the boundary; calibration writes per-expert sections.
 */
import test from "ava";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CachePolicy } from "../../ts/policies/types.js";
import { resolvePolicy } from "../../ts/policies/index.js";
import { expertSpans } from "../../ts/sampling/experts.js";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import type { DenoiseItem, StepEvent } from "../../ts/sampling/types.js";
import { calibrateMagcache } from "../../ts/sensitivity/calibrate-magcache.js";
import { calibrate } from "../../ts/sensitivity/calibrate.js";
import type { SensitivityProfile } from "../../ts/sensitivity/profile.js";
import { splitBudget } from "../../ts/policies/budget-plan.js";
import { relativeL1 } from "../../ts/policies/teacache.js";
import { PACKAGE_ROOT, WorkerProcess, defaultPython } from "../../ts/worker/supervisor.js";
import { diffusersReference, fixturesHash, maxRelativeError } from "../helpers/tiny.js";

const FIXTURE = join(PACKAGE_ROOT, "test", "fixtures", "python", "two_experts.py");

function twoExpertDir(): string {
  const key = fixturesHash().update(readFileSync(FIXTURE)).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), `sencache-two-experts-${key}`);
  if (existsSync(join(dir, "model_index.json"))) return dir;
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  execFileSync(defaultPython(), [FIXTURE, staging], { env: { ...process.env, HF_HUB_OFFLINE: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

let worker: WorkerProcess;
let model: Model;
let dir: string;
const size = { height: 16, width: 16, numFrames: 5 };
const steps = 8;
const prompt = "a red square moving left on a blue background";

test.before(async () => {
  dir = twoExpertDir();
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
  model = await Model.load(worker.client, dir);
});

test.after.always(async () => {
  await worker?.shutdown();
});

const spans = () => expertSpans(model.experts, model.scheduler(steps).timesteps);

test.serial("the model has two experts split at boundary_ratio·1000, and the schedule crosses it", (t) => {
  t.deepEqual(model.experts.map((e) => [e.name, e.tMin]), [["transformer", 875], ["transformer_2", 0]]);
  t.is(spans().length, 2);
});

test.serial("policy none reproduces the two-expert WanPipeline.__call__ to ≤ 1e-5, with guidance", async (t) => {
  const ours = await generate(model, { prompt, negativePrompt: "", seed: 3, steps, guidanceScale: 4, ...size });
  const ref = diffusersReference(
    { model: dir, prompt, negativePrompt: "", seed: 3, steps, guidance: 4, height: size.height, width: size.width, frames: size.numFrames },
  );
  const err = maxRelativeError(ours.latent, ref.latent);
  t.log(`max relative error ${err.toExponential(2)}`);
  t.true(err <= 1e-5, `max relative error ${err}`);
  t.deepEqual(ours.summary.expertSwitches?.map((s) => [s.from, s.to, s.step]), [["transformer", "transformer_2", spans()[1]!.firstStep]]);
});

test.serial("a policy forced to reuse cannot cross: " +
  "the step after the boundary is computed by transformer_2, whose output differs far from the last reusable one", async (t) => {
  const seen: { t: number; out: Float32Array }[] = [];
  const recording = {
    experts: model.experts,
    info: model.info,
    denoise: async (items: readonly DenoiseItem[], signal?: AbortSignal) => {
      const outs = await model.denoise(items, signal);
      seen.push({ t: items[0]!.t, out: outs[0]! });
      return outs;
    },
  };
  const greedy: CachePolicy = { id: "always-reuse", apiVersion: 1, options: {}, reset() {}, decide: () => ({ action: "reuse" }) };
  const switchStep = spans()[1]!.firstStep;
  for (const policy of [greedy, resolvePolicy("fixed-interval:k=100")]) {
    seen.length = 0;
    const { summary } = await generate(
      Object.assign(Object.create(model) as Model, { denoise: recording.denoise }),
      { prompt, seed: 3, steps, guidanceScale: 1, ...size, policy },
    );
    t.deepEqual(summary.computedSteps, [0, switchStep], policy.id);
    t.true(seen[1]!.t < 875, "the computed step after the boundary ran on transformer_2's side of it");
    const rel = maxRelativeError(seen[1]!.out, seen[0]!.out);
    t.true(rel > 0.5, `the experts' outputs differ by ${rel} (relative), so reusing one on the other's steps would show`);
  }
});

test.serial("TeaCache per expert: each timestep is embedded by its own expert, and teacache runs without reuse across the switch", async (t) => {
  // Across the boundary the embedder changes: the relative change there is far above the one between neighbours inside an expert.
  const [high, above, below, deep] = await model.probes.timeEmbedding([876.5, 875.5, 874.5, 873.5]);
  const across = relativeL1(below!, above!);
  const inside = Math.max(relativeL1(above!, high!), relativeL1(deep!, below!));
  t.log(`time embedding relative L1 over Δt = 1: across the boundary ${across.toExponential(2)}, inside an expert ≤ ${inside.toExponential(2)}`);
  t.true(across > 4 * inside, `across ${across}, inside ${inside}`);
  const [alone] = await model.probes.timeEmbedding([874.5]);
  t.true(maxRelativeError(alone!, below!) < 1e-5, "the embedding does not depend on the other rows of the call");
  const events: StepEvent[] = [];
  const policy = resolvePolicy("teacache:delta=100");
  const { summary } = await generate(model, { prompt, seed: 3, steps, guidanceScale: 1, ...size, policy, onStep: (e) => events.push(e) });
  t.log(`teacache:delta=100 NFE ${summary.nfe}/${steps}, computed ${summary.computedSteps.join(",")}`);
  const sp = spans();
  t.true(summary.nfe < steps, `NFE ${summary.nfe}`);
  t.true(summary.computedSteps.includes(sp[1]!.firstStep));
  t.false(summary.diagnostics.some((d) => /asked to reuse/.test(d)), summary.diagnostics.join("; "));
  t.true(summary.diagnostics.some((d) => /each expert uses its own time embedding/.test(d)));
  let lastComputed = -1;
  for (const e of events) {
    if (e.action === "compute") lastComputed = e.step;
    else t.is(e.expert, events[lastComputed]!.expert, `step ${e.step} reused step ${lastComputed}`);
  }
});

let calibrated: SensitivityProfile | undefined;

test.serial("calibrate writes a version-2 profile and MagCache ratios with one section per expert; sencache runs on them", async (t) => {
  const { profile, report } = await calibrate(model, { samples: 1, steps, ...size, prompts: [prompt] });
  calibrated = profile;
  t.is(profile.version, 2);
  t.deepEqual(profile.experts?.map((e) => e.name), ["transformer", "transformer_2"]);
  t.is(report.denoiseItems.measure, 3 * steps);
  const { ratios } = await calibrateMagcache(model, { samples: 1, steps, ...size, prompts: [prompt], guidanceScale: 1 });
  t.is(ratios.version, 2);
  t.is(ratios.experts?.[1]?.ratios[0], 1);
  const policies = [
    resolvePolicy({ id: "sencache", options: { profile, epsMain: 10, epsStart: 10, n: 3 } }),
    resolvePolicy({ id: "magcache", options: { ratios: [...ratios.ratios], delta: 10, K: 3, retention: 0 } }),
  ];
  for (const policy of policies) {
    const { summary } = await generate(model, { prompt, seed: 4, steps, guidanceScale: 1, ...size, policy });
    t.true(summary.computedSteps.includes(spans()[1]!.firstStep), policy.id);
    t.true(summary.nfe < steps, `${policy.id} NFE ${summary.nfe}`);
  }
});

test.serial("budget mode hits its NFE exactly on two experts (split per expert, each on its own section); no reuse crosses the switch", async (t) => {
  const profile = calibrated ?? (await calibrate(model, { samples: 1, steps, ...size, prompts: [prompt] })).profile;
  const sp = spans();
  const { min } = splitBudget(1, sp, 3, false);
  const hits: string[] = [];
  for (let nfe = min; nfe <= steps; nfe++) {
    const events: StepEvent[] = [];
    const policy = resolvePolicy(`sencache:nfe=${nfe}`, { profile });
    const { summary } = await generate(model, { prompt, seed: 5, steps, guidanceScale: 1, ...size, policy, onStep: (e) => events.push(e) });
    hits.push(`${nfe}→${summary.nfe} (${summary.experts!.map((e) => e.nfe).join("+")})`);
    t.is(summary.nfe, nfe, `nfe=${nfe}: computed ${summary.computedSteps.join(",")}`);
    t.true(summary.computedSteps.includes(sp[1]!.firstStep));
    let lastComputed = -1;
    for (const e of events) {
      if (e.action === "compute") lastComputed = e.step;
      else t.is(e.expert, events[lastComputed]!.expert, `step ${e.step} reused step ${lastComputed}`);
    }
  }
  t.log(`spans ${sp.map((s) => `${s.name} ${s.firstStep}–${s.lastStep}`).join(", ")}; nfe → NFE (per expert): ${hits.join(", ")}`);
  const tooFew = resolvePolicy(`sencache:nfe=${min - 1}`, { profile });
  const err = await t.throwsAsync(generate(model, { prompt, seed: 5, steps, guidanceScale: 1, ...size, policy: tooFew }));
  t.regex(err!.message, new RegExp(`the minimum is ${min}`));
});
