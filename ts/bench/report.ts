/**
 * Benchmark outputs in one folder: `results.json` (every record, the aggregates and the
 * environment), `results.md` (tables), `pareto.svg` / `pareto.png` (PSNR vs mean NFE, one curve
 * per policy, ± SE bars).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MeanSe } from "./aggregate.js";
import type { BenchResult } from "./harness.js";
import { plotPareto, type ParetoSeries } from "./plot.js";
import { formatMeanSe, formatNumber, markdownTable } from "./table.js";

export interface BenchFiles {
  readonly json: string;
  readonly markdown: string;
  readonly svg: string;
  readonly png: string;
}

const ms = (v: MeanSe | null, decimals: number): string => (v === null ? "–" : v.n > 1 ? formatMeanSe(v.mean, v.se, decimals) : formatNumber(v.mean, decimals));
const signed = (mean: number, se: number, decimals = 2): string => `${mean >= 0 ? "+" : ""}${formatMeanSe(mean, se, decimals)}`;

/** Series for the Pareto plot: one per policy (the reference left out). */
export function paretoSeries(result: BenchResult): ParetoSeries[] {
  return Object.entries(result.aggregates.curves).map(([name, points]) => ({
    name,
    points: points.map((p) => ({ nfe: p.nfe, value: p.psnr.mean, se: p.psnr.se })),
  }));
}

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
      "Each policy's curve (settings sorted by mean NFE) read at the NFE: a setting that made exactly that NFE on every clip, else a linear interpolation of the per-clip values of its two neighbours.",
      "",
      markdownTable(
        ["NFE", "Policy", "PSNR (dB)", "SSIM", "How", "From"],
        a.nfePoints.map((p) => [String(p.nfe), p.policy, ms(p.psnr, 2), ms(p.ssim, 4), p.kind === "interpolated" ? `interpolated (w = ${formatNumber(p.weight, 2)})` : p.kind, p.from.join(" ↔ ")]),
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
  const diagnostics = [...new Set(result.records.flatMap((r) => r.diagnostics.map((d) => `${r.setting}: ${d}`)))];
  if (diagnostics.length > 0) lines.push("## Policy diagnostics", "", ...diagnostics.map((d) => `- ${d}`), "");
  return `${lines.join("\n")}\n`;
}

/** Write results.json, results.md, pareto.svg and pareto.png into `dir` (created). */
export function writeBenchOutputs(result: BenchResult, dir: string): BenchFiles {
  mkdirSync(dir, { recursive: true });
  const files: BenchFiles = { json: join(dir, "results.json"), markdown: join(dir, "results.md"), svg: join(dir, "pareto.svg"), png: join(dir, "pareto.png") };
  writeFileSync(files.json, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(files.markdown, benchMarkdown(result));
  const plot = plotPareto(paretoSeries(result), {
    title: `PSNR vs NFE (T = ${result.environment.steps}, ${result.clips.length} clips)`,
    xLabel: "mean NFE",
    yLabel: "PSNR vs uncached (dB)",
  });
  writeFileSync(files.svg, plot.svg);
  writeFileSync(files.png, plot.png);
  return files;
}
