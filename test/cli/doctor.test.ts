/** `sencache doctor`: every check on this machine, and on one without the Python environment, what to do. */
import test from "ava";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";

const CLI = join(PACKAGE_ROOT, "ts", "cli", "main.ts");

function doctor(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { cwd: PACKAGE_ROOT, env: { ...process.env, ...env }, timeout: 240_000 };
    execFile(process.execPath, ["--import", "tsx", CLI, "doctor", ...args], options, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("without the Python environment, doctor says how to create it and exits non-zero", async (t) => {
  const { code, stdout } = await doctor([], { SENCACHE_PYTHON: join(PACKAGE_ROOT, "no-such-venv", "bin", "python") });
  t.not(code, 0);
  t.regex(stdout, /^ok +node /m);
  t.regex(stdout, /^FAIL +python .*no-such-venv.*npm run setup/m);
  t.regex(stdout, /python3 -m venv \.venv && \.venv\/bin\/python -m pip install -r requirements\.txt/);
  t.regex(stdout, /^skip +worker /m, "checks that need Python are skipped, not failed a second time");
});

test("on this machine doctor checks node, python, torch, devices, the worker handshake, families and the encoder", async (t) => {
  const { stdout } = await doctor(["--json"]);
  const report = JSON.parse(stdout) as { ok: boolean; checks: { name: string; status: "ok" | "fail" | "warn" | "skip"; detail: string }[] };
  const names = report.checks.map((c) => c.name);
  for (const n of [
    "node",
    "python",
    "torch",
    "devices",
    "worker",
    "family wan",
    "bundled model",
    "lpips",
    "video encoder",
  ]) t.true(names.includes(n), `${n} in ${names.join(", ")}`);
  for (const c of report.checks) t.true(c.detail.length > 0 && !c.detail.includes("\n"), `${c.name}: one line`);
  t.is(report.checks.find((c) => c.name === "worker")?.status, "ok");
  t.is(report.ok, report.checks.every((c) => c.status !== "fail"));
});
