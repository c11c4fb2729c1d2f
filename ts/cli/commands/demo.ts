/**
 * `sencache demo`: the main job. Generates a few prompts with the bundled trained model on CPU,
 * uncached and with each cache policy, writes a video per run (MP4 by default, or GIF) and a side-by-side grid (PNG), and prints a
 * table (policy, NFE, wall time, speed-up, PSNR / SSIM against the uncached output of the same seed).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { mean, psnr, ssim } from "../../bench/metrics.js";
import { markdownTable } from "../../bench/table.js";
import { InvalidInputError } from "../../errors.js";
import { writeGrid, writeVideo } from "../../media/index.js";
import { resolvePolicyForModel } from "../../policies/model-files.js";
import { generate, type GenerateResult } from "../../sampling/generate.js";
import { ensureParent, modelOptions, withModel, type ModelArgs } from "../common.js";
import { ProgressBar } from "../progress.js";
import { loadPlugins, pluginOption, type PluginArgs } from "../plugins.js";
import { COUNT, WHOLE, checkNumbers } from "../args.js";

interface DemoArgs extends ModelArgs, PluginArgs {
  prompt?: string[];
  seed: number;
  steps?: number;
  policy?: string[];
  out: string;
  format: "mp4" | "gif";
}

/** Prompts the bundled model never saw in training (held-out attribute combinations), unless the model names its own. */
const FALLBACK_PROMPTS = [
  "a blue triangle moving right on a yellow background",
  "a white circle shrinking on a red background",
  "a green circle moving down on a black background",
];

/**
 * The policies the demo compares. `{model}` is replaced by the model folder (where the bundled model
 * keeps its sensitivity profile and MagCache ratios, both calibrated by `sencache calibrate`).
 */
const DEFAULT_POLICIES = [
  "none",
  "sencache:profile={model}/sensitivity.json,preset=fast",
  "sencache:profile={model}/sensitivity.json,nfe=18",
  "teacache:delta=0.08",
  "magcache:ratiosFile={model}/magcache-ratios.json",
  "easycache:tau=0.05",
  "fixed-interval:k=3,warmup=2",
];

interface ModelDemoConfig {
  readonly demo_prompts?: string[];
  readonly demo_policies?: string[];
}

function readDemoConfig(modelDir: string): ModelDemoConfig {
  const file = join(modelDir, "sencache.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ModelDemoConfig) : {};
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: "demo",
  describe: "Generate with the bundled model, uncached and with each cache policy; write a video per run, a grid and a table",
  builder: (y) =>
    pluginOption(modelOptions(y))
      .option("prompt", { type: "string", array: true, describe: "prompts (default: the model's demo prompts)" })
      .option("seed", { type: "number", default: 0 })
      .option("steps", { type: "number", describe: "denoising steps (default: the model's, 50 for the bundled one)" })
      .option(
        "policy",
        {
          type: "string",
          array: true,
          describe: "policies to compare (default: none, SenCache, its budget mode, TeaCache, MagCache, EasyCache, fixed-interval)",
        },
      )
      .option("out", { type: "string", default: "out/demo", describe: "output folder" })
      .option("format", { type: "string", default: "mp4", choices: ["mp4", "gif"], describe: "file format of each run's video (MP4: H.264 yuv420p)" })
      .check(checkNumbers({ steps: COUNT, seed: WHOLE })) as never,
  handler: async (args) => {
    await loadPlugins(args.plugin);
    const config = readDemoConfig(args.model);
    const prompts = args.prompt?.length ? args.prompt : (config.demo_prompts ?? FALLBACK_PROMPTS);
    const specs = (args.policy?.length ? args.policy : (config.demo_policies ?? DEFAULT_POLICIES)).map((s) => s.replaceAll("{model}", args.model));
    if (!specs.includes("none")) specs.unshift("none");
    const resolved = new Map(specs.map((s) => [s, resolvePolicyForModel(s, { source: args.model })] as const)); // fails before the worker starts
    for (const n of new Set([...resolved.values()].flatMap((r) => r.notes))) console.error(`note: ${n}`);
    await withModel(args, async (model) => {
      const steps = args.steps ?? model.info.defaults.numInferenceSteps;
      const { height, width, numFrames } = model.info.defaults;
      const bar = new ProgressBar({ total: prompts.length * specs.length * steps, label: "demo", stream: process.stderr });
      const runs: { prompt: number; spec: string; result: GenerateResult; file: string }[] = [];
      for (const [p, prompt] of prompts.entries()) {
        for (const [k, spec] of specs.entries()) {
          const policy = resolvePolicyForModel(spec, { source: args.model }).policy;
          const result = await generate(model, {
            prompt,
            seed: args.seed + p,
            steps,
            policy,
            decode: true,
            onStep: (e) => bar.tick(1, `${policy.id} NFE ${e.nfe}`),
            log: (m) => console.error(`note: ${m}`),
          });
          const file = join(args.out, `p${p + 1}-${k}-${slug(spec.split(":")[0] ?? spec)}.${args.format}`);
          ensureParent(file);
          await writeVideo(model, file, result.video as NonNullable<GenerateResult["video"]>);
          runs.push({ prompt: p, spec, result, file });
        }
      }
      bar.done();

      const video = (r: GenerateResult): Uint8Array => (r.video as NonNullable<GenerateResult["video"]>).data;
      const reference = (p: number): GenerateResult => (runs.find((r) => r.prompt === p && r.spec === "none") as (typeof runs)[number]).result;
      const dims = { frames: numFrames, height, width };
      const rows = specs.map((spec) => {
        const mine = runs.filter((r) => r.spec === spec);
        const walls = mine.map((r) => r.result.summary.wallMs);
        const refWalls = mine.map((r) => reference(r.prompt).summary.wallMs);
        const psnrs = mine.map((r) => psnr(video(r.result), video(reference(r.prompt))));
        const ssims = mine.map((r) => ssim(video(r.result), video(reference(r.prompt)), dims));
        const warnings = mine.flatMap((r) => r.result.summary.diagnostics);
        for (const w of new Set(warnings)) console.error(`warning (${spec}): ${w}`);
        return [
          spec.replace(args.model, "<model>"),
          mean(mine.map((r) => r.result.summary.nfe)).toFixed(1),
          (mean(walls) / 1000).toFixed(2),
          (mean(refWalls) / mean(walls)).toFixed(2),
          spec === "none" ? "ref" : mean(psnrs).toFixed(2),
          spec === "none" ? "ref" : mean(ssims).toFixed(4),
        ];
      });

      const gridPath = join(args.out, "grid.png");
      await writeGrid(
        model,
        gridPath,
        runs.map((r) => {
          const quality = r.spec === "none" ? " (reference)" : ` · PSNR ${psnr(video(r.result), video(reference(r.prompt))).toFixed(1)} dB`;
          return {
            label: `prompt ${r.prompt + 1} · ${r.result.summary.policy} · NFE ${r.result.summary.nfe}${quality}`,
            video: r.result.video as NonNullable<GenerateResult["video"]>,
          };
        }),
        { title: `sencache demo: ${steps} steps, cached vs uncached (row groups = prompts 1 to ${prompts.length})`, scale: 3 },
      );

      console.log(`\nprompts (seed = ${args.seed} + index):`);
      prompts.forEach((p, i) => console.log(`  ${i + 1}. ${p}`));
      console.log(`\n${markdownTable(["policy", "NFE", "wall s", "speed-up", "PSNR dB", "SSIM"], rows)}`);
      console.log(`\nPSNR / SSIM: decoded frames against the uncached output of the same prompt and seed; speed-up: uncached wall / policy wall, same run.`);
      console.log(`wrote ${runs.length} ${args.format.toUpperCase()} files under ${args.out}/ and ${gridPath}`);
      if (runs.some((r) => !existsSync(r.file))) throw new InvalidInputError("A video was not written; check that the output folder is writable.");
    });
  },
};
