/**
 * A size the model's latent geometry cannot take is refused by the CLI in one sentence naming the
 * valid sizes, read from the model folder's configs before any worker is spawned (the Python
 * interpreter is a stand-in that leaves a marker file if it is ever started). Also --device's form.
 */
import test from "ava";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";

const CLI = join(PACKAGE_ROOT, "ts", "cli", "main.ts");
const tmp = mkdtempSync(join(tmpdir(), "sencache-geometry-args-"));
const fakePython = join(tmp, "python");
writeFileSync(fakePython, `#!/bin/sh\ntouch "$SENCACHE_TEST_MARKER"\nexit 3\n`);
chmodSync(fakePython, 0o755);

function sencache(args: string[], marker: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, SENCACHE_PYTHON: fakePython, SENCACHE_TEST_MARKER: marker };
    execFile(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: PACKAGE_ROOT, env }, (error, _stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stderr });
    });
  });
}

const cases: [string[], RegExp][] = [
  [
    ["generate", "--prompt", "p", "--height", "40"],
    new RegExp(
      String.raw`^sencache: The size height 40 does not fit the model tiny-wan-t2v \(WanPipeline\), ` +
        String.raw`whose height and width must be multiples of 16 and frame count 2k\+1: use height 32 or 48\. \[invalid_input\]$`,
    ),
  ],
  [["generate", "--prompt", "p", "--width", "36", "--frames", "8"], /width 36, 8 frames .*use width 32 or 48, 7 or 9 frames\. \[invalid_input\]$/],
  [["calibrate", "--height", "20"], /height 20 does not fit .*multiples of 16/],
  [["generate", "--prompt", "p", "--device", "gpu0"], /--device must be auto, cpu, cuda or cuda:N \(e\.g\. cuda:1\), not "gpu0"\./],
];

for (const [n, [args, expected]] of cases.entries()) {
  test.serial(`sencache ${args.join(" ")} is refused before a worker starts`, async (t) => {
    const marker = join(tmp, `spawned-${n}`);
    const { code, stderr } = await sencache(args, marker);
    t.not(code, 0);
    t.regex(stderr.trim(), expected);
    t.is(stderr.trim().split("\n").length, 1, `one line: ${stderr}`);
    t.false(existsSync(marker), "no worker process was started");
  });
}
