/**
 * The benchmark harness against the real worker and the tiny random WanPipeline: 2 prompts × 2
 * seeds, T = 6, a fixed-interval setting, SenCache in budget mode (exact NFE) and in threshold mode.
 */
import test from "ava";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBench, type BenchProgress, type BenchResult } from "../../ts/bench/harness.js";
import { mean, PSNR_CAP, standardError } from "../../ts/bench/metrics.js";
import { parseSweep } from "../../ts/bench/plan.js";
import { probeLpips } from "../../ts/bench/lpips.js";
import { writeBenchOutputs } from "../../ts/bench/report.js";
import { imageInfo } from "../media/helpers.js";
import { Model } from "../../ts/sampling/model.js";
import { profileToJson } from "../../ts/sensitivity/profile-files.js";
import { makeProfile } from "../../ts/sensitivity/profile-validate.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

const T = 6;
const size = { height: 16, width: 16, numFrames: 5 };
const prompts = ["a red square moving left", "a blue circle growing"];
const seeds = [0, 1];
let worker: WorkerProcess;
let model: Model;
let result: BenchResult;
let progress: BenchProgress[] = [];
let dir: string;

test.before(async () => {
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
  model = await Model.load(worker.client, tinyModelDir());
  dir = mkdtempSync(join(tmpdir(), "sencache-bench-"));
  // A flat profile on exactly this run's timesteps.
  const timesteps = Array.from(model.scheduler(T).timesteps);
  const profilePath = join(dir, "profile.json");
  writeFileSync(profilePath, profileToJson(makeProfile({ timesteps, J_x_norm: timesteps.map(() => 1), J_t_norm: timesteps.map(() => 0.001), validFor: {} })));
  result = await runBench(
    model,
    {
      settings: ["fixed-interval:k=2", parseSweep("sencache:nfe=3,4"), "sencache:eps=0.5,n=2"],
      prompts,
      seeds,
      steps: T,
      guidanceScale: 2,
      ...size,
      profile: profilePath,
      nfePoints: [3, 3.5, 100],
    },
    { onProgress: (p) => progress.push(p), repeats: 3 },
  );
});

test.after.always(async () => {
  await worker?.shutdown();
});

const SETTINGS = ["none", "fixed-interval:k=2", "sencache:nfe=3", "sencache:nfe=4", "sencache:eps=0.5,n=2"];

test.serial("one record per setting × prompt × seed, and a progress event per run", (t) => {
  t.deepEqual(result.settings.map((s) => s.label), SETTINGS);
  t.is(result.clips.length, 4);
  t.is(result.records.length, SETTINGS.length * 4);
  for (const s of SETTINGS) {
    for (const clip of result.clips) {
      const found = result.records.filter((r) => r.setting === s && r.clip === clip.index);
      t.is(found.length, 1, `${s} on clip ${clip.index}`);
      t.is(found[0]!.seed, clip.seed);
      t.is(found[0]!.promptIndex, clip.promptIndex);
    }
  }
  const runs = 1 + result.records.length * 3; // warm-up + each record timed 3 times (one decoded)
  t.is(progress.length, runs);
  t.is(progress[0]!.phase, "warmup");
  t.deepEqual(progress.map((p) => p.done), progress.map((_, i) => i + 1));
  t.true(progress.every((p) => p.total === runs));
});

test.serial("the uncached reference against itself is PSNR cap / SSIM 1 at NFE = T; cached runs make fewer evaluations", (t) => {
  for (const r of result.records.filter((r) => r.setting === "none")) {
    t.is(r.psnr, PSNR_CAP);
    t.is(r.latentPsnr, PSNR_CAP);
    t.is(r.ssim, 1);
    t.is(r.nfe, T);
    t.is(r.speedup, 1);
  }
  for (const r of result.records.filter((r) => r.setting !== "none")) {
    t.true(r.nfe < T, `${r.setting}: NFE ${r.nfe}`);
    t.true(r.psnr < PSNR_CAP && r.psnr > 0, `${r.setting}: PSNR ${r.psnr}`);
    t.true(r.ssim > 0 && r.ssim < 1);
    t.is(r.timing, "serial");
    t.true(r.speedup !== null && r.speedup > 0);
  }
  t.true(result.records.filter((r) => r.setting === "fixed-interval:k=2").every((r) => r.nfe === 3));
  t.true(result.records.filter((r) => r.setting === "sencache:nfe=4").every((r) => r.nfe === 4));
  const agg = result.aggregates.settings.find((s) => s.setting === "sencache:nfe=3")!;
  t.is(agg.exactNfe, 3);
  t.is(agg.policy, "sencache-budget");
  t.is(agg.nfeSpeedup, 2);
});

test.serial("paired differences and aggregates match a hand computation from the records", (t) => {
  const per = (s: string): number[] => result.records.filter((r) => r.setting === s).sort((a, b) => a.clip - b.clip).map((r) => r.psnr);
  const a = result.aggregates;
  const fi = a.settings.find((s) => s.setting === "fixed-interval:k=2")!;
  t.is(fi.psnr.mean, mean(per("fixed-interval:k=2")));
  t.is(fi.psnr.se, standardError(per("fixed-interval:k=2")));
  // fixed-interval (NFE 3) vs sencache-budget: the nearest setting is nfe=3, matched exactly.
  const p = a.paired.find((x) => x.setting === "fixed-interval:k=2" && x.vsPolicy === "sencache-budget")!;
  t.is(p.vs, "sencache:nfe=3");
  t.true(p.matchedNfe);
  const d = per("fixed-interval:k=2").map((v, i) => v - per("sencache:nfe=3")[i]!);
  const m = d.reduce((x, y) => x + y, 0) / d.length;
  const sd = Math.sqrt(d.reduce((x, y) => x + (y - m) ** 2, 0) / (d.length - 1));
  t.true(Math.abs(p.psnr.mean - m) < 1e-12);
  t.true(Math.abs(p.psnr.se - sd / Math.sqrt(d.length)) < 1e-12);
  t.is(p.psnr.n, 4);
  // Every cached setting is compared with both other policies.
  t.is(a.paired.length, 4 * 2);
  t.false(a.paired.some((x) => x.policy === x.vsPolicy || x.setting === "none"));
});

test.serial("NFE points: exact hits pair exactly, in-between points interpolate per clip, outside points have no value", (t) => {
  const pts = result.aggregates.nfePoints;
  const budget3 = pts.find((x) => x.nfe === 3 && x.policy === "sencache-budget")!;
  t.is(budget3.kind, "exact");
  t.deepEqual(budget3.from, ["sencache:nfe=3"]);
  const mid = pts.find((x) => x.nfe === 3.5 && x.policy === "sencache-budget")!;
  t.is(mid.kind, "interpolated");
  t.is(mid.weight, 0.5);
  const per = (s: string): number[] => result.records.filter((r) => r.setting === s).sort((a, b) => a.clip - b.clip).map((r) => r.psnr);
  const interp = per("sencache:nfe=3").map((v, i) => 0.5 * v + 0.5 * per("sencache:nfe=4")[i]!);
  t.true(Math.abs(mid.psnr!.mean - mean(interp)) < 1e-9);
  t.true(pts.filter((x) => x.nfe === 100).every((x) => x.kind === "outside" && x.psnr === null));
  const cmp = result.aggregates.nfePointComparisons.find((c) => c.nfe === 3 && c.a === "fixed-interval" && c.b === "sencache-budget")!;
  t.is(cmp.kind, "exact");
  t.is(cmp.psnr.n, 4);
});

test.serial("LPIPS is reported unavailable with a reason, never faked", (t) => {
  t.false(result.lpips.available);
  if (!result.lpips.available) t.true(result.lpips.reason.length > 10);
  t.log(result.lpips.available ? "available" : result.lpips.reason);
  t.true(result.records.every((r) => r.lpips === null));
  t.true(result.aggregates.settings.every((s) => s.lpips === null));
});

test.serial("outputs: results.json parses, results.md has one row per setting, the plots are drawn (matplotlib PNG + SVG)", async (t) => {
  const out = join(dir, "out");
  const files = await writeBenchOutputs(result, out);
  t.is(files.plotError, undefined);
  const json = JSON.parse(readFileSync(files.json, "utf8")) as BenchResult;
  t.is(json.records.length, result.records.length);
  t.is(json.environment.steps, T);
  t.deepEqual(json.environment.prompts, prompts);
  t.deepEqual(json.environment.seeds, seeds);
  t.true(json.environment.machine.cores > 0);
  t.false(json.lpips.available);
  t.true(json.records.every((r) => "lpips" in r && r.lpips === null));
  const md = readFileSync(files.markdown, "utf8");
  const section = md.split("## Settings")[1]!.split("\n## ")[0]!;
  const rows = section.split("\n").filter((l) => l.startsWith("|")).slice(2);
  t.is(rows.length, SETTINGS.length);
  t.true(rows.every((r) => r.includes("unavailable")));
  t.regex(md, /LPIPS: unavailable — /);
  const svg = readFileSync(files.svg, "utf8");
  for (const policy of ["fixed-interval", "sencache-budget", "sencache"]) t.true(svg.includes(`<!-- ${policy} -->`), `legend entry ${policy}`);
  t.like(imageInfo(files.png), { format: "PNG" });
  t.true(imageInfo(files.png).width >= 1200, "large enough to read 1 dB");
  // Fig. 5: the output change along every clip's uncached run, T − 1 values per branch.
  t.is(result.outputChange?.length, result.clips.length);
  t.true(result.outputChange!.every((c) => c.cond.length === T - 1 && c.t.length === T - 1 && c.uncond?.length === T - 1 && c.cond.every((v) => v > 0)));
  t.like(imageInfo(files.outputChange!.png), { format: "PNG" });
});

test.serial("concurrency > 1: quality pass through runMany, speed-ups from a serial timing pass", async (t) => {
  const events: BenchProgress[] = [];
  const r = await runBench(
    model,
    { settings: ["fixed-interval:k=2"], prompts, seeds: [0], steps: T, guidanceScale: 2, ...size },
    { concurrency: 2, timingClips: 1, repeats: 2, onProgress: (p) => events.push(p) },
  );
  t.is(r.records.length, 4);
  // the timing pass interleaves reference and setting runs: ref, set, set, ref
  t.deepEqual(events.filter((e) => e.phase === "timing").map((e) => e.setting), ["none", "fixed-interval:k=2", "fixed-interval:k=2", "none"]);
  t.true(r.records.every((x) => x.timing === "concurrent"));
  t.is(r.timingPairs.length, 1);
  t.deepEqual(r.timingPairs.map((p) => [p.setting, p.clip]), [["fixed-interval:k=2", 0]]);
  const timed = r.records.find((x) => x.setting === "fixed-interval:k=2" && x.clip === 0)!;
  t.is(timed.speedup, r.timingPairs[0]!.speedup);
  t.is(r.records.find((x) => x.setting === "fixed-interval:k=2" && x.clip === 1)!.speedup, null);
  // Same quality as the serial run of the same clips (batched forwards may differ in the last bits).
  const serial = result.records.filter((x) => x.setting === "fixed-interval:k=2" && x.seed === 0);
  for (const s of serial) {
    const c = r.records.find((x) => x.setting === s.setting && x.promptIndex === s.promptIndex)!;
    t.is(c.nfe, s.nfe);
    t.true(Math.abs(c.psnr - s.psnr) < 0.5, `${c.psnr} vs ${s.psnr}`);
  }
});

test.serial("probeLpips: off when turned off; without the package or local weights, unavailable with the reason", async (t) => {
  const off = await probeLpips({ enabled: false });
  t.false(off.available);
  if (!off.available) t.regex(off.reason, /turned off/);
  const probe = await probeLpips({}, 64);
  t.log(probe.available ? "LPIPS available here" : probe.reason);
  if (!probe.available) t.regex(probe.reason, /lpips|weights|Python/i);
});
