/**
 * Every file in examples/ runs as a user runs it (imports from the package name "sencache", resolved
 * to this checkout's sources by the "sencache-source" export condition), and the custom-policy
 * example is loaded into the CLI with --plugin.
 */
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

const run = promisify(execFile);
const EXAMPLES = join(PACKAGE_ROOT, "examples");
const NODE = [process.execPath, "--import", "tsx", "--conditions=sencache-source"] as const;
const env = { ...process.env, HF_HUB_OFFLINE: "1" };

for (const file of readdirSync(EXAMPLES).filter((f) => /\.(ts|js|mjs)$/.test(f))) {
  test(`examples/${file} runs and prints what it did`, async (t) => {
    const source = readFileSync(join(EXAMPLES, file), "utf8");
    t.notRegex(source, /from "\.\.?\//, "imports from the package name, not by relative path");
    t.regex(source, /from "sencache(\/testing)?"/);
    const { stdout } = await run(NODE[0], [...NODE.slice(1), join(EXAMPLES, file)], { cwd: PACKAGE_ROOT, env, timeout: 240_000 });
    t.true(stdout.trim().length > 0, "prints something");
    t.log(stdout.trim().split("\n").slice(0, 4).join("\n"));
  });
}

test("sencache --plugin examples/custom-policy.ts: policies lists sigma-gap, and generate runs it", async (t) => {
  const cli = join(PACKAGE_ROOT, "ts", "cli", "main.ts");
  const plugin = join("examples", "custom-policy.ts");
  const listed = await run(NODE[0], [...NODE.slice(1), cli, "policies", "--plugin", plugin], { cwd: PACKAGE_ROOT, env });
  t.regex(listed.stdout, /^sigma-gap: /m);
  const out = join(mkdtempSync(join(tmpdir(), "sencache-plugin-")), "clip.gif");
  const gen = await run(
    NODE[0],
    [
      ...NODE.slice(1),
      cli,
      "generate",
      "--plugin",
      plugin,
      "--policy",
      "sigma-gap:maxGap=0.3",
      "--model",
      tinyModelDir(),
      "--prompt",
      "a red square",
      ..."--steps 8 --height 16 --width 16 --frames 5 --device cpu --threads 1".split(" "),
      "--out",
      out,
      "--json",
    ],
    { cwd: PACKAGE_ROOT, env, timeout: 240_000 },
  );
  const summary = JSON.parse(gen.stdout) as { policy: string; nfe: number; totalSteps: number };
  t.is(summary.policy, "sigma-gap");
  t.true(summary.nfe < summary.totalSteps, `NFE ${summary.nfe} of ${summary.totalSteps}`);
  t.true(statSync(out).size > 0);
});
