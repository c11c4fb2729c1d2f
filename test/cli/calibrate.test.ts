/**
 * `sencache calibrate` / `sencache generate --policy "sencache:profile=…"` / `sencache policies` end
 * to end: the real CLI (through tsx, no build needed) spawning real workers on the tiny pipeline.
 */
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { resolvePolicy } from "../../ts/policies/index.js";
import { loadMagcacheRatiosSync, loadProfile } from "../../ts/sensitivity/index.js";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

const run = promisify(execFile);
const CLI = join(PACKAGE_ROOT, "ts", "cli", "main.ts");
const FIXTURES = join(PACKAGE_ROOT, "test", "fixtures");
const sizeArgs = ["--height", "16", "--width", "16", "--frames", "5"];
const workerArgs = ["--device", "cpu", "--threads", "1"];

async function sencache(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: PACKAGE_ROOT, env: { ...process.env, HF_HUB_OFFLINE: "1" }, maxBuffer: 16 << 20 });
}

let tmp: string;
let model: string;

test.before(() => {
  tmp = mkdtempSync(join(tmpdir(), "sencache-cli-"));
  model = tinyModelDir();
});

test.serial("sencache calibrate writes a profile, prints its table, and generate --policy sencache:profile=… uses it with NFE < steps", async (t) => {
  const out = join(tmp, "profile.json");
  const prompts = join(tmp, "prompts.txt");
  writeFileSync(prompts, "a red square moving left\n\n# comment\na blue circle\n");
  const cal = await sencache(
    ["calibrate", "--model", model, "--samples", "2", "--steps", "6", "--prompts", prompts, "--seed", "4", "--out", out, ...sizeArgs, ...workerArgs],
  );
  t.regex(cal.stdout, /J_x \(mean ± std\)/);
  t.regex(cal.stdout, /36 measurement items in 4 messages/);
  const profile = await loadProfile(out);
  t.is(profile.timesteps.length, 6);
  t.is(profile.validFor.steps, 6);
  t.is(profile.propagation?.samples, 4, "the propagation gain is measured by default (4 runs)");
  t.regex(cal.stdout, /propagation: 5 probes × 4 runs/);
  const gen = await sencache(
    [
      "generate",
      "--model", model, "--prompt", "a green triangle", "--steps", "6",
      "--guidance",
      "3",
      ...sizeArgs,
      ...workerArgs,
      "--policy",
      `sencache:profile=${out},eps=0.5,n=2`,
      "--out",
      join(tmp, "gen.gif"),
      "--json",
    ],
  );
  const summary = JSON.parse(gen.stdout) as { nfe: number; totalSteps: number; policy: string; diagnostics: string[] };
  t.log(`NFE ${summary.nfe}/${summary.totalSteps}`);
  t.is(summary.policy, "sencache");
  t.is(summary.totalSteps, 6);
  t.true(summary.nfe < 6, `NFE ${summary.nfe}`);
  t.deepEqual(summary.diagnostics, []);
});

test.serial("generate with a profile for another step count fails with a one-line typed message", async (t) => {
  const out = join(tmp, "profile.json");
  const err = await t.throwsAsync(
    sencache(
      [
        "generate",
        "--model",
        model,
        "--prompt",
        "x",
        "--steps",
        "8",
        ...sizeArgs,
        ...workerArgs,
        "--policy",
        `sencache:profile=${out}`,
        "--out",
        join(tmp, "gen2.gif"),
      ],
    ),
  );
  const stderr = (err as unknown as { stderr: string }).stderr.trim();
  t.regex(stderr, /^sencache: The sensitivity profile has 6 calibrated timesteps .* but the run has 8 .*\[profile_timesteps_mismatch\]$/);
});

test.serial("sencache calibrate --kind magcache writes ratios the magcache policy reads", async (t) => {
  const out = join(tmp, "ratios.json");
  await sencache(
    ["calibrate", "--kind", "magcache", "--model", model, "--samples", "2", "--steps", "5", "--guidance", "3", "--out", out, ...sizeArgs, ...workerArgs],
  );
  const r = loadMagcacheRatiosSync(out);
  t.is(r.ratios.length, 5);
  t.is(r.uncondRatios?.length, 5);
  const policy = resolvePolicy(`magcache:ratiosFile=${out}`);
  t.deepEqual((policy.options as { ratios?: readonly number[] }).ratios, r.ratios);
  t.deepEqual((policy.options as { uncondRatios?: readonly number[] }).uncondRatios, r.uncondRatios);
});

test("sencache calibrate --import-npz converts an official file with --valid-for", async (t) => {
  const out = join(tmp, "imported.json");
  const res = await sencache(
    [
      "calibrate",
      "--import-npz",
      join(FIXTURES, "sensitivity-sample.npz"),
      "--valid-for",
      "model=Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
      "family=wan",
      "steps=50",
      "shape=1x16x21x60x104",
      "--out",
      out,
    ],
  );
  t.regex(res.stdout, /imported .* \(50 timesteps\)/);
  const p = await loadProfile(out);
  t.is(p.timesteps.length, 50);
  t.deepEqual(p.validFor, { model: { family: "wan", source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" }, steps: 50, latentShape: [1, 16, 21, 60, 104] });
  const bad = await t.throwsAsync(sencache(["calibrate", "--import-npz", join(FIXTURES, "sensitivity-sample.npz"), "--valid-for", "model=x", "--out", out]));
  t.regex((bad as unknown as { stderr: string }).stderr, /family/);
});

test.serial("sencache calibrate --kind static-optimal writes masks that static-optimal:nfe=… applies", async (t) => {
  const out = join(tmp, "static.json");
  const cal = await sencache(
    [
      "calibrate",
      "--kind",
      "static-optimal",
      "--model",
      model,
      "--samples",
      "2",
      "--steps",
      "6",
      "--nfe",
      "3,4",
      "--max-candidates",
      "2",
      "--propagation-probes",
      "2",
      "--out",
      out,
      ...sizeArgs,
      ...workerArgs,
    ],
  );
  t.regex(cal.stdout, /nfe 3: compute 0,/);
  t.regex(cal.stdout, /denoiser steps/);
  const gen = await sencache(
    [
      "generate",
      "--model", model, "--prompt", "a green triangle", "--steps", "6",
      ...sizeArgs,
      ...workerArgs,
      "--policy",
      `static-optimal:nfe=4,masks=${out}`,
      "--out",
      join(tmp, "static.gif"),
      "--json",
    ],
  );
  t.is((JSON.parse(gen.stdout) as { nfe: number }).nfe, 4);
  const bad = await t.throwsAsync(
    sencache(["calibrate", "--kind", "static-optimal", "--model", model, "--steps", "6", "--out", out, ...sizeArgs, ...workerArgs]),
  );
  t.regex(String((bad as { stderr?: string }).stderr ?? bad?.message), /needs --nfe/);
});

test("sencache policies lists the registered policies and their options", async (t) => {
  const { stdout } = await sencache(["policies"]);
  for (const id of ["none", "sencache", "magcache", "teacache", "easycache", "fixed-interval"]) t.regex(stdout, new RegExp(`^${id}: `, "m"));
  t.regex(stdout, /ratiosFile \(string\)/);
  t.regex(stdout, /profile \(path/);
});
