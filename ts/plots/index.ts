/**
 * Plots as PNG + SVG, drawn by matplotlib in the project's Python environment
 * (`py/sencache_worker/plots.py`, run as `python -m sencache_worker.plots` with a JSON spec on stdin).
 *
 * Plots are drawn on the machine where the CLI runs (they need no model and no worker, so a remote
 * worker does not change where they come from); what crosses to Python is the small JSON of the numbers
 * to draw. This module builds those specs from a sensitivity profile or a bench `results.json`.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { InvalidInputError, SencacheError } from "../errors.js";
import type { BenchResult } from "../bench/harness.js";
import type { SensitivityProfile } from "../sensitivity/profile.js";
import { PACKAGE_ROOT, defaultPython } from "../worker/supervisor.js";

export type PlotFormat = "png" | "svg";

export interface PlotSpec {
  readonly kind: "profile" | "pareto" | "output-change";
  /** Output path without extension; each format adds its own. */
  readonly out: string;
  readonly formats?: readonly PlotFormat[];
  readonly [key: string]: unknown;
}

const SETUP = 'create it with "npm run setup" (or set SENCACHE_PYTHON to a Python with requirements.txt installed)';

/** Draw one plot; resolves to the files written. */
export async function drawPlot(spec: PlotSpec): Promise<string[]> {
  let python: string;
  try {
    python = defaultPython();
  } catch (cause) {
    throw new InvalidInputError(
      `Plots are drawn by matplotlib in the project's Python environment, which is missing (${(cause as Error).message.split(";")[0]}); ${SETUP}.`,
    );
  }
  const text = JSON.stringify(spec);
  return new Promise((resolve, reject) => {
    const child = execFile(
      python,
      ["-m", "sencache_worker.plots"],
      { cwd: PACKAGE_ROOT, env: { ...process.env, PYTHONPATH: join(PACKAGE_ROOT, "py"), MPLBACKEND: "Agg" }, maxBuffer: 8 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          const last = stderr.trim().split("\n").filter(Boolean).pop() ?? error.message;
          const hint = /No module named 'matplotlib'/.test(stderr) ? `matplotlib is not installed in ${python}; ${SETUP}.` : `the plot failed (${last}).`;
          reject(new SencacheError("plot_failed", `Could not draw ${spec.out}: ${hint}`, { cause: error }));
          return;
        }
        try {
          resolve((JSON.parse(stdout) as { files: string[] }).files);
        } catch (cause) {
          reject(
            new SencacheError(
              "plot_failed",
              `The plotting step printed no file list for ${spec.out}; run it again with SENCACHE_PYTHON pointing at the project's .venv.`,
              { cause },
            ),
          );
        }
      },
    );
    child.stdin?.end(text);
  });
}

// ---- profiles -------------------------------------------------------------------------------------------

export interface LabelledProfile {
  readonly label: string;
  readonly profile: SensitivityProfile;
}

/** The spec of `sencache profile plot` (one profile: every sample; several: overlay + relative difference to the last). */
export function profilePlotSpec(profiles: readonly LabelledProfile[], out: string, title?: string): PlotSpec {
  if (profiles.length === 0) throw new InvalidInputError("Give at least one profile to plot.");
  return {
    kind: "profile",
    out,
    ...(title ? { title } : {}),
    profiles: profiles.map(({ label, profile: p }) => ({
      label,
      timesteps: p.timesteps,
      J_x: p.J_x_norm,
      J_t: p.J_t_norm,
      ...(p.J_x_std ? { J_x_std: p.J_x_std } : {}),
      ...(p.J_t_std ? { J_t_std: p.J_t_std } : {}),
      ...(p.J_x_samples ? { J_x_samples: p.J_x_samples } : {}),
      ...(p.J_t_samples ? { J_t_samples: p.J_t_samples } : {}),
      ...(p.sampleCounts ? { samples: Math.max(...p.sampleCounts) } : {}),
    })),
  };
}

// ---- bench ----------------------------------------------------------------------------------------------

export interface AboveBound {
  readonly setting: string;
  readonly nfe: number;
  readonly speedup: number;
  /** T / NFE: the most that skipping evaluations can give. */
  readonly bound: number;
}

/** Settings whose measured wall-clock speed-up is above T / NFE (impossible from caching alone: timing noise). */
export function speedupsAboveBound(result: BenchResult): AboveBound[] {
  return result.aggregates.settings
    .filter((s) => s.policy !== "none" && s.speedup !== null && s.speedup.mean > s.nfeSpeedup)
    .map((s) => ({ setting: s.setting, nfe: s.nfe.mean, speedup: (s.speedup as { mean: number }).mean, bound: s.nfeSpeedup }));
}

/** The policy that is best (highest mean PSNR) at most NFE points; ties go to the higher mean over them. */
export function bestAnchor(result: BenchResult): string | undefined {
  const points = result.aggregates.nfePoints;
  const wins = new Map<string, number>();
  const sums = new Map<string, number>();
  for (const nfe of new Set(points.map((p) => p.nfe))) {
    const here = points.filter((p) => p.nfe === nfe && p.psnr !== null);
    const best = here.reduce<(typeof here)[number] | undefined>((b, p) => (b === undefined || p.psnr!.mean > b.psnr!.mean ? p : b), undefined);
    if (best) wins.set(best.policy, (wins.get(best.policy) ?? 0) + 1);
    for (const p of here) sums.set(p.policy, (sums.get(p.policy) ?? 0) + p.psnr!.mean);
  }
  return [...wins.keys()].sort((a, b) => wins.get(b)! - wins.get(a)! || sums.get(b)! - sums.get(a)!)[0];
}

/** The spec of the bench's Pareto plot: PSNR vs NFE, paired differences against the best anchor at the NFE points, speed-up vs its bound. */
export function paretoPlotSpec(result: BenchResult, out: string): PlotSpec {
  const a = result.aggregates;
  const bySetting = new Map(a.settings.map((s) => [s.setting, s]));
  const anchor = bestAnchor(result);
  const paired: { nfe: number; policy: string; diff: number; se: number; kind: string }[] = [];
  if (anchor !== undefined) {
    for (const c of a.nfePointComparisons) {
      if (c.a !== anchor && c.b !== anchor) continue;
      const other = c.a === anchor ? c.b : c.a;
      paired.push({ nfe: c.nfe, policy: other, diff: c.a === anchor ? -c.psnr.mean : c.psnr.mean, se: c.psnr.se, kind: c.kind });
    }
  }
  return {
    kind: "pareto",
    out,
    title: `PSNR vs NFE — ${result.environment.model.source.split("/").pop()}, T = ${result.environment.steps}, ${result.clips.length} clips`,
    steps: result.environment.steps,
    series: Object.entries(a.curves).map(([name, points]) => ({
      name,
      points: points.map((p) => {
        const s = bySetting.get(p.setting);
        return {
          setting: p.setting,
          nfe: p.nfe,
          psnr: p.psnr.mean,
          se: p.psnr.se,
          ...(s?.speedup ? { speedup: s.speedup.mean, speedup_se: s.speedup.se } : {}),
        };
      }),
    })),
    nfe_points: result.nfePoints,
    at_nfe: a.nfePoints.filter((p) => p.psnr !== null).map((p) => ({ nfe: p.nfe, policy: p.policy, psnr: p.psnr!.mean, se: p.psnr!.se, kind: p.kind })),
    anchor: anchor ?? null,
    paired,
    above_bound: speedupsAboveBound(result),
  };
}

/** The spec of the bench's Fig. 5 plot, or undefined when the results hold no output-change curves (older files). */
export function outputChangePlotSpec(result: BenchResult, out: string): PlotSpec | undefined {
  const curves = result.outputChange ?? [];
  if (curves.length === 0) return undefined;
  return {
    kind: "output-change",
    out,
    title:
      "Change of the denoiser output between consecutive steps, uncached " +
      `(${curves.length} clip${curves.length === 1 ? "" : "s"}, T = ${result.environment.steps})`,
    curves,
  };
}
