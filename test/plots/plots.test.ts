/**
 * The plots' specs (what is drawn from a bench results.json or a profile) and their drawing by
 * matplotlib: files that Pillow reads, with the legend entries in the SVG.
 */
import test from "ava";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchResult } from "../../ts/bench/harness.js";
import { bestAnchor, drawPlot, paretoPlotSpec, profilePlotSpec, speedupsAboveBound } from "../../ts/plots/index.js";
import { makeProfile } from "../../ts/sensitivity/profile-validate.js";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { imageInfo } from "../media/helpers.js";

const results = JSON.parse(readFileSync(join(PACKAGE_ROOT, "docs", "bench", "results.json"), "utf8")) as BenchResult;
const tmp = mkdtempSync(join(tmpdir(), "sencache-plots-"));

test("Pareto spec: the anchor is the best policy at most NFE points; paired differences are policy − anchor; speed-ups above T / NFE are flagged", (t) => {
  const spec = paretoPlotSpec(results, join(tmp, "p"));
  t.is(bestAnchor(results), "sencache-budget");
  t.is(spec["anchor"], "sencache-budget");
  const paired = spec["paired"] as { nfe: number; policy: string; diff: number; se: number }[];
  const c = results.aggregates.nfePointComparisons.find((x) => x.nfe === 15 && x.a === "sencache-budget" && x.b === "teacache")!;
  t.deepEqual(paired.find((p) => p.nfe === 15 && p.policy === "teacache"), { nfe: 15, policy: "teacache", diff: -c.psnr.mean, se: c.psnr.se, kind: c.kind });
  t.false(paired.some((p) => p.policy === "sencache-budget"));
  t.deepEqual(spec["nfe_points"], [15, 18, 21, 25, 30, 35]);
  const above = speedupsAboveBound(results);
  t.true(above.length > 0 && above.every((a) => a.speedup > a.bound));
  const teacache = results.aggregates.settings.find((s) => s.setting === "teacache:delta=0.4")!;
  t.is(above.some((a) => a.setting === "teacache:delta=0.4"), teacache.speedup!.mean > 50 / teacache.nfe.mean);
});

test("the Pareto plot and a profile plot are drawn as PNG + SVG", async (t) => {
  const files = await drawPlot(paretoPlotSpec(results, join(tmp, "pareto")));
  t.deepEqual(files, [join(tmp, "pareto.png"), join(tmp, "pareto.svg")]);
  const png = imageInfo(files[0]!);
  t.is(png.format, "PNG");
  t.true(png.width >= 1200 && png.height >= 900, `${png.width}×${png.height}`);
  const svg = readFileSync(files[1]!, "utf8");
  for (const text of ["<!-- sencache-budget -->", "<!-- teacache -->", "timing noise", "mean NFE"]) t.true(svg.includes(text), text);
  const profile = makeProfile({
    timesteps: [999, 750, 500, 250],
    J_x_norm: [2, 1.5, 2, 4],
    J_t_norm: [0.3, 0.1, 0.12, 0.2],
    J_x_samples: [[1, 1, 2, 4], [3, 2, 2, 4]],
    J_t_samples: [[0.2, 0.1, 0.1, 0.2], [0.4, 0.1, 0.14, 0.2]],
    validFor: {},
  });
  const [p] = await drawPlot(profilePlotSpec([{ label: "two samples", profile }, { label: "again", profile }], join(tmp, "profile")));
  t.like(imageInfo(p!), { format: "PNG" });
  t.true(readFileSync(join(tmp, "profile.svg"), "utf8").includes("<!-- Difference against again -->"));
});

test("a plot that cannot be drawn says so in one sentence", async (t) => {
  const saved = process.env["SENCACHE_PYTHON"];
  process.env["SENCACHE_PYTHON"] = join(tmp, "no-python");
  try {
    const error = await t.throwsAsync(drawPlot({ kind: "pareto", out: join(tmp, "x") }));
    t.regex(error!.message, /^Could not draw .*x: the plot failed/);
  } finally {
    if (saved === undefined) delete process.env["SENCACHE_PYTHON"];
    else process.env["SENCACHE_PYTHON"] = saved;
  }
});
