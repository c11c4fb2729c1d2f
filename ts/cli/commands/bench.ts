/** `sencache bench`: quality vs speed of cache policies on any model and prompt set. */
import { readFileSync, writeFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { InvalidInputError } from "../../errors.js";
import { PolicyOptionsError, parseSpec } from "../../policies/index.js";
import { missingProfileMessage, modelPolicyDefaults } from "../../policies/model-files.js";
import { runBench } from "../../bench/harness.js";
import { expandSettings, parseSweep, type PlanEntry } from "../../bench/plan.js";
import { benchMarkdown, readBenchResult, writeBenchOutputs, writeBenchPlots, type BenchFiles } from "../../bench/report.js";
import { writeVideo } from "../../media/index.js";
import { dirname, join } from "node:path";
import { modelOptions, sizeArgs, withModel, type ModelArgs } from "../common.js";
import { ProgressBar } from "../progress.js";
import { loadPlugins, pluginOption, type PluginArgs } from "../plugins.js";
import { COUNT, NON_NEGATIVE, WHOLE, checkNumbers } from "../args.js";

interface BenchArgs extends ModelArgs, PluginArgs {
  prompts?: string;
  prompt?: string[];
  negativePrompt: string;
  seeds?: string;
  seedsCount?: number;
  steps?: number;
  guidance?: number;
  height?: number;
  width?: number;
  frames?: number;
  policy?: string[];
  sweep?: string[];
  profile?: string;
  atNfe?: string;
  out: string;
  concurrency: number;
  timingClips?: number;
  repeats: number;
  lpips: string;
  json: boolean;
  replot?: string;
  videos: string;
}

const SWEEP_HELP =
  `Sweep syntax: "id:key=v1,v2,v3[,other=value…]" — the first key is swept over every value that follows it ` +
  `(a..b or a..b..step for integer ranges); later key=value options are shared. Examples: "sencache:eps=0.05,0.1,0.2", ` +
  `"sencache:nfe=14..26..4,n=3", "fixed-interval:k=2..5", "teacache:delta=0.05,0.1".`;

function numberList(text: string, what: string): number[] {
  const values = text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (values.length === 0 || values.some(
    (v) => !Number.isFinite(v),
  )) throw new InvalidInputError(`${what} must be a comma-separated list of numbers, not "${text}".`);
  return values;
}

/** The prompts, seeds and policy entries from the command-line arguments. */
export function planFromArgs(
  args: Pick<BenchArgs, "prompts" | "prompt" | "seeds" | "seedsCount" | "policy" | "sweep" | "profile">,
): { prompts: string[]; seeds: number[]; settings: PlanEntry[] } {
  const prompts: string[] = [];
  if (args.prompts !== undefined) {
    let text: string;
    try {
      text = readFileSync(args.prompts, "utf8");
    } catch (error) {
      throw new InvalidInputError(`Cannot read the prompt file ${args.prompts} (${(error as Error).message}); pass a text file with one prompt per line.`);
    }
    prompts.push(...text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#")));
  }
  prompts.push(...(args.prompt ?? []));
  if (prompts.length === 0) throw new InvalidInputError("Give prompts with --prompts FILE (one per line) or --prompt TEXT (repeatable).");
  if (args.seeds !== undefined && args.seedsCount !== undefined) throw new InvalidInputError("Pass --seeds or --seeds-count, not both.");
  const seeds = args.seeds !== undefined ? numberList(args.seeds, "--seeds") : Array.from({ length: args.seedsCount ?? 4 }, (_, i) => i);
  if (seeds.length === 0) throw new InvalidInputError("--seeds-count must be at least 1.");
  const settings: PlanEntry[] = [...(args.policy ?? []), ...(args.sweep ?? []).map(parseSweep)];
  if (settings.length === 0) {
    settings.push(parseSweep("fixed-interval:k=2..4"));
    if (args.profile !== undefined) settings.push(parseSweep("sencache:eps=0.05,0.1,0.2"));
  }
  return { prompts, seeds, settings };
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: "bench",
  describe:
    "Benchmark cache policies: quality (PSNR, SSIM, latent PSNR, LPIPS if available) vs NFE and wall-clock speed-up, " +
    "against the uncached run of each prompt and seed",
  builder: (y) =>
    pluginOption(modelOptions(y))
      .option("prompts", { type: "string", describe: "text file with one prompt per line (blank lines and # comments skipped)" })
      .option("prompt", { type: "string", array: true, describe: "a prompt (repeatable; added after --prompts)" })
      .option("negative-prompt", { type: "string", default: "", describe: "negative prompt (unconditional branch)" })
      .option("seeds", { type: "string", describe: 'seeds, e.g. "0,1,2"' })
      .option("seeds-count", { type: "number", describe: "use seeds 0..N-1 (default 4)" })
      .option("steps", { type: "number", describe: "denoising steps T (default: the model's)" })
      .option("guidance", { type: "number", describe: "classifier-free guidance scale (default: the model's)" })
      .option("height", { type: "number" })
      .option("width", { type: "number" })
      .option("frames", { type: "number", describe: "number of video frames" })
      .option(
        "policy",
        { type: "string", array: true, describe: 'a policy setting (repeatable), e.g. "sencache:eps=0.1,n=2", "fixed-interval:k=3", "sencache:nfe=21"' },
      )
      .option("sweep", { type: "string", array: true, describe: `a sweep of one option (repeatable). ${SWEEP_HELP}` })
      .option("profile", { type: "string", describe: "default sensitivity profile (.json/.npz) for settings whose policy takes one and names none" })
      .option("at-nfe", { type: "string", describe: 'NFE points to read every policy\'s curve at, e.g. "18,21"' })
      .option("out", { type: "string", default: "out/bench", describe: "output folder: results.json, results.md, pareto.png/.svg, output-change.png/.svg" })
      .option(
        "videos",
        { type: "string", default: "none", choices: ["none", "mp4", "gif"], describe: "also write every scored run's video to OUT/videos/ (MP4: H.264)" },
      )
      .option(
        "replot",
        { type: "string", describe: "redraw the plots (and results.md) from a results.json without running anything; writes next to it unless --out is given" },
      )
      .option("concurrency", { type: "number", default: 1, describe: "samples in flight in the quality pass; > 1 adds a serial timing pass for speed-ups" })
      .option("timing-clips", { type: "number", describe: "with --concurrency > 1: clips of the serial timing pass (default 2; 0 skips it)" })
      .option("repeats", { type: "number", default: 1, describe: "timed runs per wall-time measurement; the median is used (extra runs are not decoded)" })
      .option(
        "lpips",
        {
          type: "string",
          default: "auto",
          describe: 'LPIPS: "auto" (if the lpips package and its weights are local), "off", or a TORCH_HOME folder holding the backbone weights',
        },
      )
      .option("json", { type: "boolean", default: false, describe: "print the aggregates as JSON on stdout" })
      .check(
        checkNumbers(
          {
            "seeds-count": COUNT,
            steps: COUNT,
            guidance: NON_NEGATIVE,
            height: COUNT,
            width: COUNT,
            frames: COUNT,
            concurrency: COUNT,
            "timing-clips": WHOLE,
            repeats: COUNT,
          },
        ),
      )
      .epilog(
        `${SWEEP_HELP}\n\nWithout --policy/--sweep the plan is "fixed-interval:k=2..4" (plus "sencache:eps=0.05,0.1,0.2" when --profile is given). The ` +
          `uncached reference (policy none) always runs. See docs/benchmark.md.`,
      ) as never,
  handler: async (args) => {
    if (args.replot !== undefined) {
      const result = readBenchResult(args.replot);
      const dir = process.argv.some((a) => a === "--out" || a.startsWith("--out=")) ? args.out : dirname(args.replot);
      const files = { ...(await writeBenchPlots(result, dir)) };
      const md = join(dir, "results.md");
      writeFileSync(md, benchMarkdown(result));
      report(files, [md]);
      return;
    }
    await loadPlugins(args.plugin);
    const { prompts, seeds, settings } = planFromArgs(args);
    const nfePoints = args.atNfe !== undefined ? numberList(args.atNfe, "--at-nfe") : [];
    const noted = new Set<string>();
    const defaultsFor = (spec: string): Readonly<Record<string, unknown>> => {
      const d = modelPolicyDefaults(spec, { source: args.model });
      if (d.missingProfile && args.profile === undefined) {
        const id = parseSpec(spec).id;
        throw new PolicyOptionsError(
          "missing_profile",
          id,
          missingProfileMessage(id, { source: args.model }).replace("add profile=", "pass --profile FILE, add profile="),
          "profile",
        );
      }
      for (const n of d.notes) if (args.profile === undefined || !n.includes("sensitivity profile")) noted.add(n);
      return d.overrides;
    };
    expandSettings({ settings, ...(args.profile !== undefined ? { profile: args.profile } : {}), defaultsFor }); // every spec resolves before the worker starts
    for (const n of noted) console.error(`note: ${n}`);
    const lpips = args.lpips === "off" ? { enabled: false } : args.lpips === "auto" ? {} : { torchHome: args.lpips };
    await withModel(args, async (model) => {
      let bar: ProgressBar | undefined;
      const result = await runBench(
        model,
        {
          settings,
          prompts,
          seeds,
          ...(args.steps !== undefined ? { steps: args.steps } : {}),
          ...(args.guidance !== undefined ? { guidanceScale: args.guidance } : {}),
          negativePrompt: args.negativePrompt,
          ...sizeArgs(args),
          ...(args.profile !== undefined ? { profile: args.profile } : {}),
          defaultsFor,
          nfePoints,
        },
        {
          concurrency: args.concurrency,
          repeats: args.repeats,
          ...(args.timingClips !== undefined ? { timingClips: args.timingClips } : {}),
          lpips,
          ...(args.videos !== "none" ? {
            onVideo: async (setting, clip, video) => void (await writeVideo(
              model,
              join(args.out, "videos", `c${clip.index}-${setting.label.replace(/[^A-Za-z0-9=.,_-]+/g, "_")}.${args.videos}`),
              video,
            )),
          } : {}),
          log: (m) => process.stderr.write(`${m}\n`),
          onProgress: (p) => {
            bar ??= new ProgressBar({ total: p.total, label: "bench", stream: process.stderr });
            bar.tick(1, `${p.phase} · ${p.setting} · clip ${p.clip} · NFE ${p.nfe}`);
          },
        },
      );
      bar?.done();
      const files = await writeBenchOutputs(result, args.out);
      if (args.json) {
        console.log(JSON.stringify({ files, lpips: result.lpips, aggregates: result.aggregates }, null, 2));
      } else {
        for (const s of result.aggregates.settings) {
          const speedup = s.speedup ? `  ×${s.speedup.mean.toFixed(2)} wall` : "";
          console.log(
            `${s.setting.padEnd(32)} NFE ${s.nfe.mean.toFixed(1).padStart(5)}  ` +
              `PSNR ${s.psnr.mean.toFixed(2)} ± ${s.psnr.se.toFixed(2)} dB  SSIM ${s.ssim.mean.toFixed(4)}${speedup}`,
          );
        }
        if (!result.lpips.available) console.log(`LPIPS unavailable: ${result.lpips.reason}`);
        report(files, [files.json, files.markdown]);
      }
      if (files.plotError) console.error(`warning: ${files.plotError} The results are saved; draw the plots later with: sencache bench --replot ${files.json}`);
    });
  },
};

function report(files: Partial<BenchFiles>, first: string[]): void {
  const drawn = files.plotError ? [] : [files.png, files.svg, files.outputChange?.png, files.outputChange?.svg].filter((f): f is string => f !== undefined);
  console.log(`wrote ${[...first, ...drawn].join(", ")}`);
}
