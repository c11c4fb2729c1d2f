/**
 * Benchmark outputs in one folder: `results.json` (every record, the aggregates and the
 * environment), `results.md` (tables), `pareto.png` / `pareto.svg` (PSNR vs mean NFE with the paired
 * differences at the NFE points and the speed-up against its bound) and `output-change.png` / `.svg`
 * (the change of consecutive denoiser outputs along the uncached runs, the SenCache paper's Fig. 5),
 * drawn by matplotlib (../plots).
 */
import { readFileSync } from "node:fs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidInputError } from "../errors.js";
import { drawPlot, outputChangePlotSpec, paretoPlotSpec, speedupsAboveBound } from "../plots/index.js";
import type { MeanSe } from "./aggregate.js";
import type { BenchResult } from "./harness.js";
import { formatMeanSe, formatNumber, markdownTable } from "./table.js";

export interface BenchFiles {
  readonly json: string;
  readonly markdown: string;
  readonly svg: string;
  readonly png: string;
  /** The Fig. 5 plot (absent when the results hold no output-change curves). */
  readonly outputChange?: { readonly svg: string; readonly png: string };
  /** Why the plots were not drawn (the JSON and markdown are written regardless). */
  readonly plotError?: string;
}

const ms = (v: MeanSe | null, decimals: number): string =>
  v === null ? "–" : v.n > 1 ? formatMeanSe(v.mean, v.se, decimals) : formatNumber(v.mean, decimals);
const signed = (mean: number, se: number, decimals = 2): string => `${mean >= 0 ? "+" : ""}${formatMeanSe(mean, se, decimals)}`;

export function benchMarkdown(result: BenchResult): string {
  const env = result.environment;
  const a = result.aggregates;
  const lpipsNote = result.lpips.available ? "LPIPS: AlexNet, local weights." : `LPIPS: unavailable — ${result.lpips.reason}`;
  const lines: string[] = [
    "# sencache bench",
    "",
    `- Model: \`${env.model.source}\` (${env.model.family}, ${env.model.pipelineClass}, ${env.model.scheduler})`,
    `- T = ${env.steps} steps, guidance ${env.guidanceScale}, ${env.size.width}×${env.size.height}×${env.size.numFrames}`,
    `- ${env.prompts.length} prompt(s) × ${env.seeds.length} seed(s) = ${result.clips.length} clips; seeds ${env.seeds.join(", ")}`,
    `- Machine: ${env.machine.cpu} (${env.machine.cores} cores), ${env.machine.platform} ${env.machine.release}, Node ${env.machine.node}; ${env.date}`,
    `- Timing: ${env.timing}`,
    `- ${lpipsNote}`,
    "",
    "Quality is measured against the uncached output of the same clip; values are mean ± standard error over clips.",
    "",
    "## Settings",
    "",
    markdownTable(
      ["Setting", "Policy", "NFE", "NFE speed-up", "Wall speed-up", "PSNR (dB)", "SSIM", "Latent PSNR (dB)", "LPIPS"],
      a.settings.map((s) => [
        s.setting,
        s.policy,
        s.exactNfe !== null ? String(s.exactNfe) : formatMeanSe(s.nfe.mean, s.nfe.se, 1),
        `×${formatNumber(s.nfeSpeedup, 2)}`,
        s.speedup === null ? "–" : `×${ms(s.speedup, 2)}`,
        ms(s.psnr, 2),
        ms(s.ssim, 4),
        ms(s.latentPsnr, 2),
        result.lpips.available ? ms(s.lpips, 4) : "unavailable",
      ]),
      { align: ["left", "left", "right", "right", "right", "right", "right", "right", "right"] },
    ),
    "",
  ];
  if (a.paired.length > 0) {
    lines.push(
      "## Paired differences at the nearest NFE",
      "",
      "Each setting against every other policy's setting with the nearest mean NFE: mean of the per-clip differences (this − other) ± its standard error.",
      "",
      markdownTable(
        ["Setting", "NFE", "vs", "vs NFE", "Same NFE", "ΔPSNR (dB)", "ΔSSIM", "ΔLatent PSNR (dB)", "n"],
        a.paired.map((p) => [
          p.setting,
          formatNumber(p.nfe, 1),
          p.vs,
          formatNumber(p.vsNfe, 1),
          p.matchedNfe ? "yes" : "no",
          signed(p.psnr.mean, p.psnr.se),
          signed(p.ssim.mean, p.ssim.se, 4),
          signed(p.latentPsnr.mean, p.latentPsnr.se),
          String(p.psnr.n),
        ]),
        { align: ["left", "right", "left", "right", "center", "right", "right", "right", "right"] },
      ),
      "",
    );
  }
  if (a.nfePoints.length > 0) {
    lines.push(
      "## Quality at NFE points",
      "",
      "Each policy's curve (settings sorted by mean NFE) read at the NFE: a setting that made exactly that NFE on every clip, else a linear " +
        "interpolation of the per-clip values of its two neighbours.",
      "",
      markdownTable(
        ["NFE", "Policy", "PSNR (dB)", "SSIM", "How", "From"],
        a.nfePoints.map(
          (p) => [
            String(p.nfe),
            p.policy,
            ms(p.psnr, 2),
            ms(p.ssim, 4),
            p.kind === "interpolated" ? `interpolated (w = ${formatNumber(p.weight, 2)})` : p.kind,
            p.from.join(" ↔ "),
          ],
        ),
        { align: ["right", "left", "right", "right", "left", "left"] },
      ),
      "",
    );
    if (a.nfePointComparisons.length > 0) {
      lines.push(
        "Paired PSNR differences at the NFE points (per-clip values as above):",
        "",
        markdownTable(
          ["NFE", "A", "B", "ΔPSNR A − B (dB)", "Both exact", "n"],
          a.nfePointComparisons.map((c) => [String(c.nfe), c.a, c.b, signed(c.psnr.mean, c.psnr.se), c.kind === "exact" ? "yes" : "no", String(c.psnr.n)]),
          { align: ["right", "left", "left", "right", "center", "right"] },
        ),
        "",
      );
    }
  }
  const noisy = speedupsAboveBound(result);
  if (noisy.length > 0) {
    lines.push(
      "## Speed-ups above the NFE bound",
      "",
      "Caching only skips evaluations, so a wall-clock speed-up cannot exceed T / NFE; these measured ones do, which is timing noise (the machine's load " +
        "changed between the runs), not a gain:",
      "",
      markdownTable(
        ["Setting", "NFE", "Wall speed-up", "Bound T / NFE"],
        noisy.map((n) => [n.setting, formatNumber(n.nfe, 1), `×${formatNumber(n.speedup, 3)}`, `×${formatNumber(n.bound, 3)}`]),
        { align: ["left", "right", "right", "right"] },
      ),
      "",
    );
  }
  const diagnostics = [...new Set(result.records.flatMap((r) => r.diagnostics.map((d) => `${r.setting}: ${d}`)))];
  if (diagnostics.length > 0) lines.push("## Policy diagnostics", "", ...diagnostics.map((d) => `- ${d}`), "");
  return `${lines.join("\n")}\n`;
}

/** Draw pareto.png/.svg and (when the results have its data) output-change.png/.svg into `dir`. */
export async function writeBenchPlots(result: BenchResult, dir: string): Promise<Pick<BenchFiles, "svg" | "png" | "outputChange">> {
  mkdirSync(dir, { recursive: true });
  await drawPlot(paretoPlotSpec(result, join(dir, "pareto")));
  const change = outputChangePlotSpec(result, join(dir, "output-change"));
  if (change) await drawPlot(change);
  return {
    svg: join(dir, "pareto.svg"),
    png: join(dir, "pareto.png"),
    ...(change ? { outputChange: { svg: join(dir, "output-change.svg"), png: join(dir, "output-change.png") } } : {}),
  };
}

/**
 * Write results.json and results.md, then the plots, into `dir` (created). A plot that cannot be drawn
 * (no Python environment here) does not lose the results: its reason is in `plotError`, and
 * `sencache bench --replot DIR/results.json` draws it later.
 */
export async function writeBenchOutputs(result: BenchResult, dir: string, options: { plots?: boolean } = {}): Promise<BenchFiles> {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, "results.json");
  const markdown = join(dir, "results.md");
  writeFileSync(json, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(markdown, benchMarkdown(result));
  const base = { json, markdown, svg: join(dir, "pareto.svg"), png: join(dir, "pareto.png") };
  if (options.plots === false) return base;
  try {
    return { ...base, ...(await writeBenchPlots(result, dir)) };
  } catch (error) {
    return { ...base, plotError: (error as Error).message };
  }
}

/** Read a bench `results.json` (checked to be one). */
export function readBenchResult(path: string): BenchResult {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new InvalidInputError(
      `Cannot read the bench results ${path} (${(error as Error).message.split("\n")[0]}); pass the results.json a \`sencache bench\` wrote.`,
    );
  }
  const r = value as Partial<BenchResult> | null;
  if (r === null || typeof r !== "object" || r.format !== "sencache-bench" || r.aggregates === undefined) {
    throw new InvalidInputError(
      `${path} is not a sencache bench results.json (no "format": "sencache-bench" with aggregates); pass the results.json a \`sencache bench\` wrote.`,
    );
  }
  return r as BenchResult;
}
