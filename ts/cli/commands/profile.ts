/**
 * `sencache profile show|plot|compare FILE…`: what a sensitivity profile is valid for and its J_x / J_t
 * table; plots of J_x and J_t against t with the per-sample spread (PNG + SVG, matplotlib); an overlay
 * of several profiles with their relative differences (e.g. 8 vs 32 calibration samples, the SenCache
 * paper's Fig. 4). Needs no model and no worker.
 */
import { basename, extname } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { InvalidInputError } from "../../errors.js";
import { drawPlot, profilePlotSpec, type LabelledProfile } from "../../plots/index.js";
import { compareProfiles, comparisonMarkdown } from "../../sensitivity/compare.js";
import { loadProfile } from "../../sensitivity/profile-files.js";
import type { SensitivityProfile } from "../../sensitivity/profile.js";
import { profileTable } from "./calibrate.js";

interface ProfileArgs {
  action: "show" | "plot" | "compare";
  files: string[];
  out?: string;
  label?: string[];
  title?: string;
  json: boolean;
}

/** Calibration samples behind a profile (the largest per-timestep count), if it says. */
export function profileSamples(p: SensitivityProfile): number | undefined {
  if (p.J_x_samples) return p.J_x_samples.length;
  return p.sampleCounts ? Math.max(...p.sampleCounts) : undefined;
}

/** What a profile is valid for, one line per item, in words. */
export function profileSummary(path: string, p: SensitivityProfile): string {
  const v = p.validFor;
  const n = profileSamples(p);
  const ts = p.timesteps;
  return [
    `profile ${path}`,
    `  model:      ${v.model ? `${v.model.source} (family ${v.model.family})` : "not recorded (any model: not checked)"}`,
    `  scheduler:  ${v.scheduler ? `${v.scheduler.className}, config hash ${v.scheduler.configHash}` : "not recorded (not checked)"}`,
    `  steps:      ${v.steps ?? ts.length} (timesteps ${+ts[0]!.toFixed(3)} … ${+ts[ts.length - 1]!.toFixed(3)})`,
    `  shape:      ${v.latentShape ? `latent [${v.latentShape.join(", ")}]` : "not recorded (not checked)"}`,
    `  samples:    ${n ?? "not recorded"}${p.J_x_samples ? " (every sample's values stored)" : p.J_x_std ? " (mean ± std stored)" : ""}`,
    ...(p.origin ? [`  origin:     ${p.origin}`] : []),
    ...(p.createdAt ? [`  created:    ${p.createdAt}`] : []),
  ].join("\n");
}

async function load(files: readonly string[]): Promise<SensitivityProfile[]> {
  return Promise.all(files.map((f) => loadProfile(f)));
}

function labels(files: readonly string[], profiles: readonly SensitivityProfile[], given: readonly string[] | undefined): string[] {
  if (given && given.length > 0 && given.length !== files.length) throw new InvalidInputError(
    `Give one --label per file (${files.length}), not ${given.length}.`,
  );
  return files.map((f, i) => {
    if (given && given.length > 0) return given[i]!;
    const n = profileSamples(profiles[i]!);
    return `${basename(f, extname(f))}${n !== undefined ? ` (${n} samples)` : ""}`;
  });
}

export const profileCommand: CommandModule<object, ProfileArgs> = {
  command: "profile <action> <files..>",
  describe: "Show, plot or compare sensitivity profiles: what they are valid for, their J_x / J_t, the per-sample spread",
  builder: (y: Argv) =>
    y
      .positional(
        "action",
        {
          choices: ["show", "plot", "compare"] as const,
          describe: "show: validity and table; plot: J_x and J_t against t (PNG + SVG); compare: overlay and relative differences against the last file",
        },
      )
      .positional("files", { type: "string", array: true, describe: "profile files (.json; .npz imports are shown without validity)" })
      .option("out", { type: "string", describe: "plot path without extension (default: out/profile-<name> or out/profile-compare)" })
      .option("label", { type: "string", array: true, describe: "legend label per file (default: file name and sample count)" })
      .option("title", { type: "string", describe: "plot title" })
      .option("json", { type: "boolean", default: false, describe: "show: print the profile as JSON; compare: the comparison as JSON" })
      .example("sencache profile show models/tiny-wan-t2v/sensitivity.json", "")
      .example("sencache profile plot models/tiny-wan-t2v/sensitivity.json --out docs/img/profile", "")
      .example("sencache profile compare p8.json p32.json --out out/p8-vs-p32", "the last file is the reference") as never,
  handler: async (args) => {
    const files = args.files;
    const profiles = await load(files);
    if (args.action === "show") {
      files.forEach((f, i) => {
        if (args.json) console.log(JSON.stringify(profiles[i], null, 1));
        else console.log(`${profileSummary(f, profiles[i]!)}\n\n${profileTable(profiles[i]!)}\n`);
      });
      return;
    }
    const names = labels(files, profiles, args.label);
    const labelled: LabelledProfile[] = profiles.map((profile, i) => ({ label: names[i]!, profile }));
    if (args.action === "plot") {
      for (const [i, lp] of labelled.entries()) {
        const out = args.out !== undefined
          ? (files.length === 1 ? args.out : `${args.out}-${i + 1}`)
          : `out/profile-${basename(files[i]!, extname(files[i]!))}`;
        const title = args.title ?? `Sensitivity profile ${names[i]} — ${profiles[i]!.validFor.model?.source ?? "model not recorded"}`;
        const written = await drawPlot(profilePlotSpec([lp], out, title));
        console.log(`wrote ${written.join(", ")}`);
      }
      return;
    }
    if (files.length < 2) throw new InvalidInputError("profile compare needs at least two files; the last one is the reference.");
    const reference = profiles[profiles.length - 1]!;
    const comparisons = profiles.slice(0, -1).map((p) => compareProfiles(p, reference));
    if (args.json) console.log(
      JSON.stringify({ reference: files[files.length - 1], comparisons: comparisons.map((c, i) => ({ file: files[i], ...c })) }, null, 1),
    );
    else comparisons.forEach(
      (c, i) => console.log(`${names[i]} against ${names[names.length - 1]}:\n\n${comparisonMarkdown(c, [names[i]!, names[names.length - 1]!])}\n`),
    );
    const out = args.out ?? "out/profile-compare";
    const written = await drawPlot(profilePlotSpec(labelled, out, args.title ?? `Sensitivity profiles: ${names.join(" vs ")}`));
    console.error(`wrote ${written.join(", ")}`);
  },
};
