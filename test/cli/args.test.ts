/**
 * Bad arguments are refused by the CLI itself, in one sentence, before any worker is spawned: the
 * Python interpreter is a stand-in script that leaves a marker file if it is ever started.
 */
import test from "ava";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";

const CLI = join(PACKAGE_ROOT, "ts", "cli", "main.ts");
const tmp = mkdtempSync(join(tmpdir(), "sencache-args-"));
const fakePython = join(tmp, "python");
writeFileSync(fakePython, `#!/bin/sh\ntouch "$SENCACHE_TEST_MARKER"\nexit 3\n`);
chmodSync(fakePython, 0o755);
const bareModel = join(tmp, "bare-model");
mkdirSync(bareModel);
writeFileSync(join(bareModel, "model_index.json"), "{}");

function sencache(args: string[], marker: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, SENCACHE_PYTHON: fakePython, SENCACHE_TEST_MARKER: marker };
    execFile(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: PACKAGE_ROOT, env }, (error, _stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stderr });
    });
  });
}

const cases: [string[], RegExp][] = [
  [["generate", "--prompt", "p", "--steps", "0"], /--steps must be a whole number ≥ 1, not 0\./],
  [["generate", "--prompt", "p", "--steps", "abc"], /--steps must be a whole number ≥ 1, not "abc"\./],
  [["generate", "--prompt", "p", "--guidance", "-2"], /--guidance must be a number ≥ 0, not -2\./],
  [["generate", "--prompt", "p", "--seed", "-1"], /--seed must be a whole number ≥ 0, not -1\./],
  [["generate", "--prompt", "p", "--seed", "1.5"], /--seed must be a whole number ≥ 0, not 1\.5\./],
  [["generate", "--prompt", "p", "--timeout", "0"], /--timeout must be a number > 0/],
  [["calibrate", "--samples", "0"], /--samples must be a whole number ≥ 1, not 0\./],
  [["bench", "--prompt", "p", "--concurrency", "0"], /--concurrency must be a whole number ≥ 1, not 0\./],
  [["demo", "--steps", "-5"], /--steps must be a whole number ≥ 1, not -5\./],
  [["generate", "--prompt", "p", "--out", "clip.avi"], /--out clip\.avi: .*\.mp4 \(H\.264\), \.gif or \.png/],
  [["generate", "--prompt", "p", "--out", "clip.webm"], /--out clip\.webm: .*for example clip\.mp4/],
  [
    ["generate", "--prompt", "p", "--connect", "tcp://127.0.0.1:1", "--timeout", "0.5"],
    /No worker answered at tcp:\/\/127\.0\.0\.1:1 within 0\.5 s; nothing may be listening there/,
  ],
  [
    ["generate", "--prompt", "p", "--model", bareModel, "--policy", "sencache"],
    /The policy "sencache" needs a sensitivity profile and .*bare-model has no sensitivity\.json; add profile=/,
  ],
  [["generate", "--prompt", "p", "--model", bareModel, "--policy", "teacache:delta=abc"], /\(got "abc"\)/],
];

for (const [n, [args, expected]] of cases.entries()) {
  test.serial(`sencache ${args.join(" ")} is refused before a worker starts`, async (t) => {
    const marker = join(tmp, `spawned-${n}`);
    const { code, stderr } = await sencache(args, marker);
    t.not(code, 0);
    t.regex(stderr, expected);
    t.notRegex(stderr, /RangeError|\n\s+at /, "no stack trace");
    t.is(stderr.trim().split("\n").length, 1, `one line: ${stderr}`);
    t.false(existsSync(marker), "no worker process was started");
  });
}
