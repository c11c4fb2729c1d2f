/**
 * `sencache calibrate`: measure a SenCache sensitivity profile (or MagCache ratios) for a model, or
 * convert an official SenCache `.npz` into this package's profile JSON.
 */
import { readFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { InvalidInputError } from "../../errors.js";
import { loadImage } from "../../media/read.js";
import { calibrationImages, type CalibrationProgress } from "../../sensitivity/calibrate-inputs.js";
import { calibrateMagcache } from "../../sensitivity/calibrate-magcache.js";
import { calibrate } from "../../sensitivity/calibrate.js";
import { saveMagcacheRatios } from "../../sensitivity/magcache-ratios.js";
import { saveStaticMasks } from "../../sensitivity/static-masks.js";
import { measurePropagation } from "../../sensitivity/propagation.js";
import { searchStaticMasks } from "../../sensitivity/static-search.js";
import { loadProfile, saveProfile } from "../../sensitivity/profile-files.js";
import type { ProfileValidity, SensitivityProfile } from "../../sensitivity/profile.js";
import { ensureParent, modelOptions, sizeArgs, withModel, type ModelArgs } from "../common.js";
import { ProgressBar } from "../progress.js";
import { loadPlugins, pluginOption, type PluginArgs } from "../plugins.js";
import { COUNT, NON_NEGATIVE, WHOLE, checkNumbers } from "../args.js";

interface CalibrateArgs extends ModelArgs, PluginArgs {
  samples: number;
  steps?: number;
  height?: number;
  width?: number;
  frames?: number;
  media?: string[];
  image?: string[];
  prompts?: string;
  seed: number;
  guidance?: number;
  out: string;
  kind: "sencache" | "magcache" | "static-optimal";
  propagationSamples: number;
  addPropagation?: string;
  propagationProbes?: number;
  nfe?: string;
  n: number;
  maxCandidates: number;
  concurrency: number;
  importNpz?: string;
  validFor?: string[];
  json: boolean;
}

/** Parse `--valid-for key=value` pairs: model, family, steps, shape (1x16x21x60x104), scheduler, schedulerHash. */
export function parseValidFor(pairs: readonly string[]): ProfileValidity {
  const kv = new Map<string, string>();
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new InvalidInputError(`--valid-for takes key=value pairs (model, family, steps, shape, scheduler, schedulerHash), not "${p}".`);
    kv.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  const known = new Set(["model", "family", "steps", "shape", "scheduler", "schedulerHash"]);
  for (const k of kv.keys()) if (!known.has(k)) throw new InvalidInputError(
    `--valid-for does not know "${k}"; use model, family, steps, shape, scheduler or schedulerHash.`,
  );
  const out: { -readonly [K in keyof ProfileValidity]: ProfileValidity[K] } = {};
  const model = kv.get("model");
  const family = kv.get("family");
  if ((model === undefined) !== (family === undefined)) throw new InvalidInputError(
    "--valid-for needs both model=<source> and family=<family> (e.g. family=wan) to record the model.",
  );
  if (model !== undefined && family !== undefined) out.model = { family, source: model };
  const scheduler = kv.get("scheduler");
  const hash = kv.get("schedulerHash");
  if ((scheduler === undefined) !== (hash === undefined)) throw new InvalidInputError(
    "--valid-for needs both scheduler=<class> and schedulerHash=<hash> to record the scheduler.",
  );
  if (scheduler !== undefined && hash !== undefined) out.scheduler = { className: scheduler, configHash: hash };
  const steps = kv.get("steps");
  if (steps !== undefined) {
    const n = Number(steps);
    if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`--valid-for steps must be a positive integer, not "${steps}".`);
    out.steps = n;
  }
  const shape = kv.get("shape");
  if (shape !== undefined) {
    const dims = shape.split(/[x,]/).map(Number);
    if (dims.some((d) => !Number.isInteger(d) || d < 1)) throw new InvalidInputError(`--valid-for shape must look like 1x16x21x60x104, not "${shape}".`);
    out.latentShape = dims;
  }
  return out;
}

const fmt = (v: number): string => (Math.abs(v) >= 1000 ? v.toExponential(3) : v.toPrecision(4));

/** The profile as a fixed-width table: k, t, J_x mean ± std, J_t mean ± std, n. */
export function profileTable(p: SensitivityProfile): string {
  const rows = p.timesteps.map((t, k) => [
    String(k),
    String(+t.toFixed(3)),
    p.J_x_std ? `${fmt(p.J_x_norm[k]!)} ± ${fmt(p.J_x_std[k]!)}` : fmt(p.J_x_norm[k]!),
    p.J_t_std ? `${fmt(p.J_t_norm[k]!)} ± ${fmt(p.J_t_std[k]!)}` : fmt(p.J_t_norm[k]!),
    p.sampleCounts ? String(p.sampleCounts[k]) : "-",
  ]);
  const head = ["k", "t", "J_x (mean ± std)", "J_t (mean ± std)", "n"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i < 2 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function readPrompts(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new InvalidInputError(`The prompts file "${path}" cannot be read; pass a text file with one prompt per line.`);
  }
  const prompts = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  if (prompts.length === 0) throw new InvalidInputError(`The prompts file "${path}" holds no prompt; write one prompt per line.`);
  return prompts;
}

async function run(args: CalibrateArgs): Promise<void> {
  if (args.importNpz !== undefined) {
    const validFor = parseValidFor(args.validFor ?? []);
    const profile = await loadProfile(args.importNpz, { validFor });
    ensureParent(args.out);
    await saveProfile(args.out, profile);
    if (args.json) console.log(JSON.stringify(profile, null, 1));
    else console.log(profileTable(profile));
    const missing = ["model", "scheduler", "steps", "latentShape"].filter((k) => (profile.validFor as Record<string, unknown>)[k] === undefined);
    if (missing.length > 0) console.log(
      `note: the profile records no ${missing.join(", ")}; runs cannot be checked against those (pass --valid-for key=value).`,
    );
    console.log(`imported ${args.importNpz} (${profile.timesteps.length} timesteps) → ${args.out}`);
    return;
  }
  if (args.validFor !== undefined && args.validFor.length > 0) throw new InvalidInputError(
    "--valid-for only applies to --import-npz; a calibrated profile records what it is valid for itself.",
  );
  const prompts = args.prompts !== undefined ? readPrompts(args.prompts) : undefined;
  const media = args.media ?? [];
  if (args.kind !== "sencache" && media.length > 0) throw new InvalidInputError(
    `${args.kind === "magcache" ? "MagCache calibration" : "The static search"} runs uncached generations; pass --prompts instead of --media.`,
  );
  await withModel(args, async (model) => {
    const steps = args.steps ?? model.info.defaults.numInferenceSteps;
    const d = model.info.defaults;
    calibrationImages(model, args.image, media.length > 0); // one sentence before any work when an I2V model has none
    const imageSize = { height: args.height ?? d.height, width: args.width ?? d.width };
    const images = await Promise.all((args.image ?? []).map((file) => loadImage(model, file, imageSize)));
    const common = {
      samples: args.samples,
      steps,
      seed: args.seed,
      ...sizeArgs(args),
      ...(args.guidance !== undefined ? { guidanceScale: args.guidance } : {}),
      ...(prompts !== undefined ? { prompts } : {}),
      ...(images.length > 0 ? { images } : {}),
    };
    let bar: ProgressBar | undefined;
    const onProgress = (e: CalibrationProgress): void => {
      bar ??= new ProgressBar({ total: e.total, label: `calibrate ${args.kind}`, stream: process.stderr });
      bar.tick(e.completed - bar.value, `sample ${e.sample + 1}/${e.samples} · ${e.phase}`);
    };
    ensureParent(args.out);
    const measureOptions = { ...common, concurrency: args.concurrency, ...(args.propagationProbes !== undefined ? { probes: args.propagationProbes } : {}) };
    if (args.kind === "static-optimal") {
      const nfe = (args.nfe ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "").map(Number);
      if (nfe.length === 0 || nfe.some(
        (v) => !Number.isInteger(v) || v < 1,
      )) throw new InvalidInputError('--kind static-optimal needs --nfe with the evaluation counts to search, e.g. --nfe 15,18,21.');
      const file = await searchStaticMasks(model, { ...measureOptions, nfe, n: args.n, maxCandidates: args.maxCandidates });
      await saveStaticMasks(args.out, file);
      if (args.json) console.log(JSON.stringify(file, null, 1));
      else {
        for (const m of file.masks) {
          const measured = m.measured !== undefined ? `  (measured log10 rel. error ${m.measured.toFixed(3)})` : "";
          console.log(`nfe ${m.nfe}: compute ${m.compute.join(",")}${measured}`);
        }
        const c = file.search!.cost;
        console.log(
          `${file.samples} samples × ${file.steps} steps: ${c.referenceSteps} + ${c.propagationSteps} + ${c.refineSteps} = ` +
            `${c.referenceSteps + c.propagationSteps + c.refineSteps} denoiser steps (reference + propagation probes + ${c.candidates} candidate runs), ` +
            `${((file.search!.wallMs ?? 0) / 1000).toFixed(1)} s → ${args.out}`,
        );
        console.log(`use it with --policy "static-optimal:nfe=${file.masks[0]!.nfe},masks=${args.out}"`);
      }
      return;
    }
    if (args.addPropagation !== undefined) {
      const old = await loadProfile(args.addPropagation);
      const p = await measurePropagation(model, old, { ...measureOptions, samples: Math.max(1, args.propagationSamples), seed: args.seed + 1_000 });
      await saveProfile(args.out, { ...old, propagation: p.propagation });
      if (args.json) console.log(JSON.stringify(p, null, 1));
      else {
        console.log(["t", "gain (± std)"].join("\t"));
        p.propagation.timesteps.forEach((t, i) => console.log(`${+t.toFixed(3)}\t${fmt(p.propagation.gain[i]!)} ± ${fmt(p.propagation.gainStd?.[i] ?? 0)}`));
        console.log(
          `propagation of ${args.addPropagation}: ${p.propagation.timesteps.length} probes × ${p.propagation.samples} runs, ` +
            `${p.cost.referenceSteps + p.cost.propagationSteps} denoiser steps, ${(p.wallMs / 1000).toFixed(1)} s → ${args.out}`,
        );
      }
      return;
    }
    if (args.kind === "magcache") {
      const { ratios, report } = await calibrateMagcache(model, { ...common, onProgress });
      bar?.done();
      await saveMagcacheRatios(args.out, ratios);
      if (args.json) console.log(JSON.stringify({ ...ratios, report }, null, 1));
      else {
        console.log(["k", "γ cond (mean ± std)", ...(ratios.uncondRatios ? ["γ uncond (mean ± std)"] : [])].join("\t"));
        ratios.ratios.forEach((r, k) => {
          const u = ratios.uncondRatios ? `\t${fmt(ratios.uncondRatios[k]!)} ± ${fmt(ratios.uncondStd?.[k] ?? 0)}` : "";
          console.log(`${k}\t${fmt(r)} ± ${fmt(ratios.std[k]!)}${u}`);
        });
        console.log(
          `${report.samples} samples × ${report.steps} steps, ${report.denoiseItems} denoise items, ${(report.wallMs / 1000).toFixed(1)} s → ${args.out}`,
        );
        console.log(`use it with --policy "magcache:ratiosFile=${args.out}"`);
      }
      return;
    }
    const calibrated = await calibrate(model, { ...common, ...(media.length > 0 ? { media } : {}), onProgress });
    bar?.done();
    const report = calibrated.report;
    let profile = calibrated.profile;
    let propagationNote = "";
    if (args.propagationSamples > 0) {
      const p = await measurePropagation(model, profile, { ...measureOptions, samples: args.propagationSamples, seed: args.seed + 1_000 });
      profile = { ...profile, propagation: p.propagation };
      propagationNote =
        `; propagation: ${p.propagation.timesteps.length} probes × ${p.propagation.samples} runs, ` +
        `${p.cost.referenceSteps + p.cost.propagationSteps} denoiser steps, ${(p.wallMs / 1000).toFixed(1)} s`;
    }
    await saveProfile(args.out, profile);
    if (args.json) console.log(JSON.stringify({ profile, report }, null, 1));
    else {
      console.log(profileTable(profile));
      const dropped = report.dropped.reduce((a, b) => a + b, 0);
      console.log(
        `${report.samples} samples (${report.source}) × ${report.steps} timesteps, latent [${report.latentShape.join(", ")}]: ` +
          `${report.denoiseItems.measure} measurement items in ${report.denoiseMessages} messages` +
          `${report.denoiseItems.generate > 0 ? ` + ${report.denoiseItems.generate} generation items` : ""}, ` +
          `${(report.wallMs / 1000).toFixed(1)} s${propagationNote} → ${args.out}`,
      );
      if (dropped > 0) console.log(`warning: ${dropped} non-finite measurement(s) were dropped`);
      console.log(`use it with --policy "sencache:profile=${args.out}"`);
    }
  }, sizeArgs(args));
}

export const calibrateCommand: CommandModule<object, CalibrateArgs> = {
  command: "calibrate",
  describe: "Calibrate a sensitivity profile (SenCache) or magnitude ratios (MagCache) for a model, or import an official .npz",
  builder: (y) =>
    pluginOption(modelOptions(y))
      .option("samples", { type: "number", default: 8, describe: "calibration samples N (3·T·N full evaluations)" })
      .option("steps", { type: "number", describe: "inference steps T to calibrate (default: the model's)" })
      .option("height", { type: "number" })
      .option("width", { type: "number" })
      .option("frames", { type: "number", describe: "number of video frames" })
      .option(
        "media",
        { type: "string", array: true, describe: "clean samples: images, GIFs, videos (.mp4, …) or folders of image frames (default: uncached generations)" },
      )
      .option("prompts", { type: "string", describe: "text file, one prompt per line (generations' prompts / the condition)" })
      .option("image", {
        type: "string",
        array: true,
        describe: "image-to-video models: conditioning image file(s), one per sample, cycled with the prompts (required there unless --media)",
      })
      .option("seed", { type: "number", default: 0, describe: "base seed of generations and calibration noise" })
      .option("guidance", { type: "number", describe: "guidance scale of the uncached generations (default: the model's)" })
      .option("out", { type: "string", default: "profile.json", describe: "output JSON" })
      .option(
        "kind",
        {
          type: "string",
          choices: ["sencache", "magcache", "static-optimal"],
          default: "sencache",
          describe: "what to calibrate: a SenCache profile, MagCache ratios, or static-optimal masks",
        },
      )
      .option(
        "propagation-samples",
        { type: "number", default: 4, describe: "sencache: uncached runs for the propagation gain budget mode weighs steps by (0 = skip)" },
      )
      .option(
        "add-propagation",
        { type: "string", describe: "measure only the propagation gain for this existing profile (its schedule) and write the profile with it to --out" },
      )
      .option("propagation-probes", { type: "number", describe: "steps probed for the propagation gain (default min(16, T − 1))" })
      .option("nfe", { type: "string", describe: "static-optimal: evaluation counts to search masks for, e.g. 15,18,21" })
      .option("n", { type: "number", default: 3, describe: "static-optimal: maximum consecutive reuses of a mask" })
      .option(
        "max-candidates",
        { type: "number", default: 24, describe: "static-optimal: cached candidate runs per NFE in the measured local search (0 = DP only)" },
      )
      .option("concurrency", { type: "number", default: 4, describe: "runs in flight during the propagation / static measurements" })
      .option("import-npz", { type: "string", describe: "convert an official SenCache .npz to profile JSON (no model is loaded)" })
      .option("valid-for", { type: "string", array: true, describe: "with --import-npz: key=value (model, family, steps, shape, scheduler, schedulerHash)" })
      .option("json", { type: "boolean", default: false, describe: "print the result as JSON" })
      .check(checkNumbers({ samples: COUNT, steps: COUNT, guidance: NON_NEGATIVE, seed: WHOLE, height: COUNT, width: COUNT, frames: COUNT })) as never,
  handler: async (args) => {
    await loadPlugins(args.plugin);
    await run(args);
  },
};
