/** `sencache bench` end to end through the CLI entry (tsx, no build), on the tiny random pipeline. */
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { imageInfo } from "../media/helpers.js";
import { profileToJson } from "../../ts/sensitivity/profile-files.js";
import { makeProfile } from "../../ts/sensitivity/profile-validate.js";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

const run = promisify(execFile);
const cli = (args: string[]) =>
  run(
    process.execPath,
    ["--import", "tsx", "ts/cli/main.ts", ...args],
    { cwd: PACKAGE_ROOT, env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE" }, maxBuffer: 16 << 20 },
  );

test("bench --help documents the sweep syntax", async (t) => {
  const { stdout } = await cli(["bench", "--help"]);
  t.regex(stdout, /--sweep/);
  t.regex(stdout, /id:key=v1,v2,v3/);
  t.regex(stdout, /--seeds-count/);
});

test("bench: prompts file, seeds, a policy and a sweep → results.json, results.md, pareto and output-change plots, MP4s; " +
  "--replot redraws from results.json", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sencache-cli-bench-"));
  const prompts = join(dir, "prompts.txt");
  writeFileSync(prompts, "# two prompts\na red square moving left\n\na blue circle growing\n");
  // A flat profile on a 0..1000 grid; the sweep asks for nearest-timestep resampling.
  const grid = Array.from({ length: 11 }, (_, i) => 100 * i);
  const profile = join(dir, "profile.json");
  writeFileSync(profile, profileToJson(makeProfile({ timesteps: grid, J_x_norm: grid.map(() => 1), J_t_norm: grid.map(() => 0.001), validFor: {} })));
  const out = join(dir, "out");
  const { stdout, stderr } = await cli([
    "bench", "--model", tinyModelDir(), "--device", "cpu", "--threads", "1",
    "--prompts", prompts, "--seeds", "0,1", "--steps", "4", "--guidance", "2", "--height", "16", "--width", "16", "--frames", "5",
    "--policy", "fixed-interval:k=2", "--sweep", "sencache:nfe=2,3,resample=true", "--profile", profile, "--at-nfe", "2,2.5", "--out", out, "--videos", "mp4",
  ]);
  t.log(stdout);
  t.regex(stderr, /bench/); // progress bar
  t.regex(stdout, /LPIPS unavailable: /);
  const json = JSON.parse(
    readFileSync(join(out, "results.json"), "utf8"),
  ) as { records: { setting: string; nfe: number }[]; environment: { steps: number; seeds: number[]; prompts: string[] }; lpips: { available: boolean } };
  t.is(json.records.length, 4 * 4); // (none + 3 settings) × 2 prompts × 2 seeds
  t.deepEqual(json.environment.seeds, [0, 1]);
  t.deepEqual(json.environment.prompts, ["a red square moving left", "a blue circle growing"]);
  t.is(json.environment.steps, 4);
  t.false(json.lpips.available);
  t.true(json.records.filter((r) => r.setting === "sencache:nfe=3,resample=true").every((r) => r.nfe === 3));
  const md = readFileSync(join(out, "results.md"), "utf8");
  const rows = md.split("## Settings")[1]!.split("\n## ")[0]!.split("\n").filter((l) => l.startsWith("|")).slice(2);
  t.is(rows.length, 4);
  t.true(readFileSync(join(out, "pareto.svg"), "utf8").includes("<!-- fixed-interval -->"));
  t.like(imageInfo(join(out, "pareto.png")), { format: "PNG" });
  t.like(imageInfo(join(out, "output-change.png")), { format: "PNG" });
  t.is(readdirSync(join(out, "videos")).filter((f) => f.endsWith(".mp4")).length, 16);
  t.regex(stdout, /wrote .*pareto\.png.*output-change\.png/);
  // --replot: the plots again from results.json alone, no model, no worker
  const again = join(dir, "again");
  const replot = await cli(["bench", "--replot", join(out, "results.json"), "--out", again]);
  t.regex(replot.stdout, /wrote .*results\.md.*pareto\.png/);
  t.like(imageInfo(join(again, "pareto.png")), { format: "PNG" });
  const bad = await t.throwsAsync(cli(["bench", "--replot", join(out, "results.md")]));
  t.regex((bad as { stderr?: string }).stderr ?? "", /not a sencache bench results\.json|Cannot read the bench results/);
});

test("bench: a malformed sweep fails with a clear message and exit code 1", async (t) => {
  const error = await t.throwsAsync(cli(["bench", "--prompt", "x", "--sweep", "sencache:0.1,0.2", "--model", tinyModelDir()]));
  t.is((error as { code?: number }).code, 1);
  t.regex((error as { stderr?: string }).stderr ?? "", /sweep/);
});
