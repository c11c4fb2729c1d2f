/**
 * The tables of docs/benchmark.md "Grid" from the folder scripts/bench-grid.sh writes:
 *   OUT/T<T>-g<g>/results.json            the policies at one (steps, guidance) setting
 *   OUT/T<T>-g<g>-transfer/results.json   budget mode with the T = 50 profile carried over
 *   OUT/T30-g3-nearest/results.json       the T = 50 profile carried to T = 30 by nearest timestep
 *   OUT/profile-T<T>.json, OUT/static-T<T>.json   for the calibration / search costs
 * Every curve is read at round(p·T), p = 30, 36, 42, 50, 60, 70 %; exact where a setting made that
 * NFE on every clip, else per-clip linear interpolation between the curve's two neighbouring settings
 * (as `sencache bench --at-nfe` does); pairs are matched by (prompt, seed), so files of separate runs
 * pair up (PSNR is deterministic).
 *
 *   npx tsx scripts/bench-grid-table.ts OUT > OUT/grid.md
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Rec { setting: string; policy: string; prompt?: string; promptIndex: number; seed: number; nfe: number; psnr: number }
interface Res { records: Rec[]; clips: { index: number; prompt: string; seed: number }[]; environment: { steps: number; guidanceScale: number } }

const FRACTIONS = [0.3, 0.36, 0.42, 0.5, 0.6, 0.7];
const CURVES: [string, string][] = [
  ["sencache-budget", "SenCache budget"],
  ["sencache-budget (propagation)", "budget, propagation weights"],
  ["static-optimal", "static-optimal"],
  ["teacache", "TeaCache"],
  ["magcache", "MagCache"],
  ["easycache", "EasyCache"],
  ["fixed-interval", "fixed-interval"],
];
const out = process.argv[2] ?? "out/bench-grid";

function load(dir: string): Res | undefined {
  const f = join(out, dir, "results.json");
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Res) : undefined;
}

const key = (r: { promptIndex: number; seed: number }, _clips?: unknown): string => `${r.promptIndex}/${r.seed}`;

interface Curve { points: { nfe: number; exact: boolean; values: Map<string, number> }[] }

function curves(res: Res): Map<string, Curve> {
  const bySetting = new Map<string, Rec[]>();
  for (const r of res.records) {
    if (r.setting === "none") continue;
    (bySetting.get(r.setting) ?? bySetting.set(r.setting, []).get(r.setting)!).push(r);
  }
  const out = new Map<string, Curve>();
  for (const [setting, recs] of bySetting) {
    const id = recs[0]!.policy === "sencache" ? "sencache-budget" : recs[0]!.policy;
    const curveKey = /resample=true/.test(setting)
      ? `${id} (carried over)`
      : /nearest/.test(setting)
        ? `${id} (nearest)`
        : /placement=propagation/.test(setting)
          ? `${id} (propagation)`
          : id;
    const c = out.get(curveKey) ?? out.set(curveKey, { points: [] }).get(curveKey)!;
    const nfe = recs.reduce((a, r) => a + r.nfe, 0) / recs.length;
    const exact = recs.every((r) => r.nfe === recs[0]!.nfe);
    if (c.points.some((p) => Math.abs(p.nfe - nfe) < 1e-9)) continue;
    // a setting that computed every step is the uncached run (PSNR near its cap): interpolating towards it
    // is not a measurement (TeaCache at T = 100 jumps from NFE 63 to 100), so it is not a curve point
    if (recs.every((r) => r.nfe >= res.environment.steps)) continue;
    c.points.push({ nfe, exact, values: new Map(recs.map((r) => [key(r, res.clips), r.psnr])) });
  }
  for (const c of out.values()) c.points.sort((a, b) => a.nfe - b.nfe);
  return out;
}

/** Per-clip values of a curve at NFE x, or undefined outside its range. */
function at(c: Curve | undefined, x: number): { values: Map<string, number>; exact: boolean } | undefined {
  if (c === undefined) return undefined;
  const hit = c.points.find((p) => Math.abs(p.nfe - x) < 1e-9);
  if (hit) return { values: hit.values, exact: hit.exact };
  for (let i = 1; i < c.points.length; i++) {
    const a = c.points[i - 1]!;
    const b = c.points[i]!;
    if (a.nfe < x && x < b.nfe) {
      const w = (x - a.nfe) / (b.nfe - a.nfe);
      const v = new Map<string, number>();
      for (const [k, va] of a.values) {
        const vb = b.values.get(k);
        if (vb !== undefined) v.set(k, (1 - w) * va + w * vb);
      }
      return { values: v, exact: false };
    }
  }
  return undefined;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const se = (xs: number[]): number => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) / xs.length);
};
function paired(a: Map<string, number>, b: Map<string, number>): { mean: number; se: number; n: number; wins: number } {
  const d: number[] = [];
  for (const [k, va] of a) {
    const vb = b.get(k);
    if (vb !== undefined) d.push(va - vb);
  }
  return { mean: mean(d), se: se(d), n: d.length, wins: d.filter((x) => x > 0).length };
}
/** Index in CURVES of the anchor read with the highest mean (budget mode's own curves left out), or -1. */
function bestAnchor(reads: readonly ({ values: Map<string, number> } | undefined)[], skip: (id: string) => boolean = () => false): number {
  let best = -1;
  reads.forEach((r, i) => {
    if (i <= 1 || r === undefined || skip(CURVES[i]![0])) return;
    if (best < 0 || mean([...r.values.values()]) > mean([...reads[best]!.values.values()])) best = i;
  });
  return best;
}
const f2 = (x: number): string => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(2);

const lines: string[] = [];
const dirs = [...new Set(readdirSync(out).filter((d) => /^T\d+-g[\d.]+(-transfer)?$/.test(d)).map((d) => d.replace(/-transfer$/, "")))].sort((a, b) => {
  const pa = /^T(\d+)-g([\d.]+)$/.exec(a)!;
  const pb = /^T(\d+)-g([\d.]+)$/.exec(b)!;
  return Number(pa[2]) - Number(pb[2]) || Number(pa[1]) - Number(pb[1]);
});
const summary: string[] = [];
// one row per setting: budget − best other, and budget − best online anchor (static-optimal left out), at every fraction
const overview: string[] = [];
for (const dir of dirs) {
  const res = load(dir) ?? (load(`${dir}-transfer`) !== undefined ? ({ ...load(`${dir}-transfer`)!, records: [] } as Res) : undefined);
  if (res === undefined) continue;
  const T = res.environment.steps;
  const g = res.environment.guidanceScale;
  const cs = curves(res);
  const pairs = new Set(res.records.filter((r) => r.setting === "none").map((r) => key(r, res.clips))).size;
  lines.push(`### T = ${T}, guidance ${g}${pairs > 0 ? ` (${pairs} pairs)` : ": the policy grid has not run"}`, "");
  if (pairs > 0) {
  lines.push(`| NFE (of ${T}) | ${CURVES.map((c) => c[1]).join(" | ")} | best other | budget − best other | wins |`);
  lines.push(`|---:|${CURVES.map(() => "---:").join("|")}|---|---:|---:|`);
  const overviewAll: string[] = [];
  const overviewOnline: string[] = [];
  const diffs: string[] = [`| NFE | ${CURVES.slice(1).map((c) => `vs ${c[1]}`).join(" | ")} |`, `|---:|${CURVES.slice(1).map(() => "---:").join("|")}|`];
  for (const p of FRACTIONS) {
    const x = Math.round(p * T);
    const reads = CURVES.map(([id]) => at(cs.get(id), x));
    const cells = reads.map((r) => (r === undefined ? "–" : `${mean([...r.values.values()]).toFixed(2)}${r.exact ? "" : " ⁱ"}`));
    const budget = reads[0];
    const bestIdx = bestAnchor(reads);
    const vsBest = (i: number): string => {
      if (budget === undefined || i < 0) return "–";
      const d = paired(budget.values, reads[i]!.values);
      return `${f2(d.mean)} ± ${d.se.toFixed(2)}`;
    };
    overviewAll.push(vsBest(bestIdx));
    overviewOnline.push(vsBest(bestAnchor(reads, (id) => id === "static-optimal")));
    let lead = "–";
    let wins = "–";
    if (budget !== undefined && bestIdx >= 0) {
      const d = paired(budget.values, reads[bestIdx]!.values);
      lead = `${f2(d.mean)} ± ${d.se.toFixed(2)}`;
      wins = `${d.wins}/${d.n}`;
      if (p === 0.36 || p === 0.42) summary.push(
        `| ${T} | ${g} | ${x} (${Math.round(p * 100)} %) | ${CURVES[bestIdx]![1]} | ${lead} | ` +
          `${d.mean - 2 * d.se >= 1 ? "met" : d.mean >= 1 ? "met on the mean" : "not met"} |`,
      );
    }
    lines.push(`| ${x} (${Math.round(p * 100)} %) | ${cells.join(" | ")} | ${bestIdx >= 0 ? CURVES[bestIdx]![1] : "–"} | ${lead} | ${wins} |`);
    diffs.push(`| ${x} | ${reads.slice(1).map((r) => {
      if (r === undefined || budget === undefined) return "–";
      const d = paired(budget.values, r.values);
      return `${f2(d.mean)} ± ${d.se.toFixed(2)}`;
    }).join(" | ")} |`);
  }
  lines.push("", "Paired differences, SenCache budget − other (mean ± SE over pairs):", "", ...diffs, "");
  overview.push(`| ${T} | ${g} | all | ${overviewAll.join(" | ")} |`, `| ${T} | ${g} | online | ${overviewOnline.join(" | ")} |`);
  }
  // transfer
  const tr = load(`${dir}-transfer`);
  if (tr !== undefined) {
    const trc = curves(tr);
    const ct = trc.get("sencache-budget (carried over)");
    const rows: string[] = [];
    for (const p of [0.36, 0.42]) {
      const x = Math.round(p * T);
      const a = at(trc.get("sencache-budget") ?? cs.get("sencache-budget"), x);
      const b = at(ct, x);
      if (a === undefined || b === undefined) continue;
      const d = paired(b.values, a.values);
      rows.push(
        `| ${T} | ${x} (${Math.round(p * 100)} %) | ${mean([...a.values.values()]).toFixed(2)} | ${mean([...b.values.values()]).toFixed(2)} | ` +
          `${f2(d.mean)} ± ${d.se.toFixed(2)} |`,
      );
    }
    if (rows.length > 0) lines.push(
      `Profile carried over from T = 50 (T = ${T}):`,
      "",
      "| T | NFE | recalibrated | carried over | carried − recalibrated |",
      "|---:|---:|---:|---:|---:|",
      ...rows,
      "",
    );
  }
}
// the nearest-timestep carry-over (T = 30, guidance 3): recalibrated vs nearest vs interpolated
const near = load("T30-g3-nearest");
if (near !== undefined) {
  const nc = curves(near);
  const rows: string[] = [];
  for (const x of [9, 11, 13, 15]) {
    const [rec, nst, itp] = ["sencache-budget", "sencache-budget (nearest)", "sencache-budget (carried over)"].map((k) => at(nc.get(k), x));
    if (rec === undefined || nst === undefined || itp === undefined) continue;
    const m = (r: { values: Map<string, number> }): string => mean([...r.values.values()]).toFixed(2);
    const d = (a: Map<string, number>, b: Map<string, number>): string => {
      const q = paired(a, b);
      return `${f2(q.mean)} ± ${q.se.toFixed(2)}`;
    };
    rows.push(`| ${x} (${Math.round((100 * x) / 30)} %) | ${m(rec)} | ${m(nst)} | ${m(itp)} | ${d(nst.values, rec.values)} | ${d(itp.values, rec.values)} |`);
  }
  if (rows.length > 0) {
    lines.push("### T = 30, guidance 3: the T = 50 profile carried over by nearest timestep vs by interpolation", "");
    lines.push("| NFE (of 30) | recalibrated | nearest | interpolated | nearest − recalibrated | interpolated − recalibrated |");
    lines.push("|---:|---:|---:|---:|---:|---:|", ...rows, "");
  }
}
if (overview.length > 0) {
  lines.unshift(
    "SenCache budget − the best other policy at each NFE (paired, mean ± SE over pairs); `all` includes static-optimal, `online` leaves it out:",
    "",
    `| T | guidance | anchors | ${FRACTIONS.map((p) => `${Math.round(p * 100)} %`).join(" | ")} |`,
    `|---:|---:|---|${FRACTIONS.map(() => "---:").join("|")}|`,
    ...overview,
    "",
  );
}
if (summary.length > 0) lines.unshift(
  "| T | guidance | NFE | best other | budget − best other | ≥ 1 dB (mean − 2 SE ≥ 1) |",
  "|---:|---:|---:|---|---:|---|",
  ...summary,
  "",
);
console.log(lines.join("\n"));
