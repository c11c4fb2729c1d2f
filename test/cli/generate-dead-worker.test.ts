/**
 * `sencache generate` as a user runs it, with its real worker: a worker killed mid-run is replaced and
 * the sample finishes (default), or with `--restarts 0` is reported in one clear sentence, promptly,
 * instead of a hang.
 */
import test, { type ExecutionContext } from "ava";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

/** Pids of the processes whose parent is `pid` (Linux /proc). */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Start `sencache generate` (every forward slowed by 400 ms), wait until sampling has begun, kill its worker. */
async function generateAndKill(t: ExecutionContext, extra: string[]): Promise<{ code: number | null | "hang"; stderr: string; killedAt: number; out: string }> {
  const model = tinyModelDir();
  const out = join(tmpdir(), `sencache-dead-${process.pid}-${extra.length}.gif`);
  rmSync(out, { force: true });
  const args = ["generate", "--model", model, "--prompt", "a red square", "--steps", "40", "--out", out, "--timeout", "60", ...extra];
  const cli = spawn(process.execPath, ["--import", "tsx", join(PACKAGE_ROOT, "ts", "cli", "main.ts"), ...args], {
    cwd: PACKAGE_ROOT,
    // Every forward sleeps 400 ms (a test-only switch of the worker), so the run lasts ~16 s.
    env: { ...process.env, SENCACHE_WORKER_DEBUG: "1", SENCACHE_WORKER_DEBUG_DELAY_MS: "400" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  cli.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((res) => cli.once("exit", res));

  let workerPid: number | undefined;
  for (let i = 0; i < 200 && workerPid === undefined; i++) {
    await new Promise((r) => setTimeout(r, 100));
    workerPid = children(cli.pid as number).find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("sencache_worker"));
  }
  t.truthy(workerPid, "the CLI spawned a worker");
  // Wait for the first progress line: the worker is up, the model loaded, sampling has begun.
  for (let i = 0; i < 1200 && !stderr.includes("generate none ["); i++) await new Promise((r) => setTimeout(r, 100));
  t.true(stderr.includes("generate none ["), stderr);
  const killedAt = Date.now();
  process.kill(workerPid as number, "SIGKILL");
  const code = await Promise.race([exited, new Promise<"hang">((r) => setTimeout(() => r("hang"), 60_000))]);
  if (code === "hang") cli.kill("SIGKILL");
  return { code, stderr, killedAt, out };
}

test("killing the worker during generate (--restarts 0) ends the CLI with one clear sentence, not a hang", async (t) => {
  const { code, stderr, killedAt } = await generateAndKill(t, ["--restarts", "0"]);
  t.not(code, "hang", "the CLI must not hang after its worker died");
  t.is(code, 1);
  t.true(Date.now() - killedAt < 20_000);
  const lines = stderr.split(/\r|\n/).filter((l) => l.startsWith("sencache:"));
  t.is(lines.length, 1, stderr);
  t.regex(lines[0] ?? "", /^sencache: The worker process .*exited unexpectedly.*\[worker_died\]$/);
});

test("killing the worker during generate (default): a new worker is started and the sample finishes", async (t) => {
  const { code, stderr, out } = await generateAndKill(t, []);
  t.is(code, 0, stderr);
  t.regex(stderr, /note: The worker process .*exited unexpectedly.*starting a new worker \(restart 1 of 2\)/);
  t.false(stderr.split(/\r|\n/).some((l) => l.startsWith("sencache:")), stderr);
  t.true(existsSync(out), "the GIF was written");
});
