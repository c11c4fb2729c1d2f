/**
 * How many calibration samples does a profile need? (SenCache paper, Fig. 4: 8 videos give nearly the
 * curves of 4096.) Calibrates one model with A and with B samples from uncached generations and prints
 * a markdown table per timestep (J_x A vs B, rel diff, J_t A vs B, rel diff) and the max/mean relative
 * difference, with B as the reference.
 *
 *   npx tsx scripts/calibration-sample-size.ts [--model models/tiny-wan-t2v] [--small 8] [--large 32]
 *       [--steps T] [--height H --width W --frames F] [--seed 0] [--device auto|cpu|cuda] [--threads n]
 *       [--out-dir DIR]   (also writes profile-<A>.json, profile-<B>.json there)
 *
 * The two calibrations use different seeds (disjoint generations and noise), so the difference is the
 * sampling error of the smaller one.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BUNDLED_MODEL, ensureParent } from "../ts/cli/common.js";
import { Model } from "../ts/sampling/model.js";
import { calibrate } from "../ts/sensitivity/calibrate.js";
import { compareProfiles, comparisonMarkdown } from "../ts/sensitivity/compare.js";
import { saveProfile } from "../ts/sensitivity/profile-files.js";
import { openWorker } from "../ts/worker/open.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: BUNDLED_MODEL },
    small: { type: "string", default: "8" },
    large: { type: "string", default: "32" },
    steps: { type: "string" },
    height: { type: "string" },
    width: { type: "string" },
    frames: { type: "string" },
    seed: { type: "string", default: "0" },
    device: { type: "string", default: "auto" },
    threads: { type: "string" },
    "out-dir": { type: "string" },
  },
});

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const small = Number(values.small);
const large = Number(values.large);
const seed = Number(values.seed);
const threads = num(values.threads);
const worker = await openWorker({ device: values.device, ...(threads !== undefined ? { threads } : {}), timeoutMs: 600_000 });
try {
  const model = await Model.load(worker.client, values.model);
  const steps = num(values.steps) ?? model.info.defaults.numInferenceSteps;
  const size = {
    ...(values.height !== undefined ? { height: Number(values.height) } : {}),
    ...(values.width !== undefined ? { width: Number(values.width) } : {}),
    ...(values.frames !== undefined ? { numFrames: Number(values.frames) } : {}),
  };
  const run = async (samples: number, s: number) => {
    let last = -1;
    const r = await calibrate(model, {
      samples,
      steps,
      seed: s,
      ...size,
      onProgress: (e) => {
        const pct = Math.floor((100 * e.completed) / e.total);
        if (pct >= last + 10) {
          last = pct;
          process.stderr.write(`  ${samples} samples: ${pct}%\n`);
        }
      },
    });
    process.stderr.write(
      `  ${samples} samples: ${(r.report.wallMs / 1000).toFixed(1)} s, ${r.report.denoiseItems.measure + r.report.denoiseItems.generate} denoise items\n`,
    );
    return r.profile;
  };
  const a = await run(small, seed);
  // Disjoint seeds for the reference (generation seeds seed + s, s < small, stay unused).
  const b = await run(large, seed + small + 1000);
  if (values["out-dir"] !== undefined) {
    for (const [n, p] of [[small, a], [large, b]] as const) {
      const path = join(values["out-dir"], `profile-${n}.json`);
      ensureParent(path);
      await saveProfile(path, p);
    }
  }
  const c = compareProfiles(a, b);
  console.log(`## Calibration sample size: ${small} vs ${large} samples (${values.model}, T = ${steps}, latent [${a.validFor.latentShape?.join(", ")}])\n`);
  console.log(comparisonMarkdown(c, [String(small), String(large)]));
} finally {
  await worker.close();
}
