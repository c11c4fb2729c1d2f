/**
 * The worker process supervisor: spawns `python -m sencache_worker` from the project's virtual
 * environment, waits for the readiness reply to `hello`, watches heartbeats and the process, and
 * turns a crash or a Python traceback on stderr into a typed error.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidInputError, SencacheError, WorkerDiedError, WorkerTimeoutError } from "../errors.js";
import { WorkerClient } from "./client.js";
import { checkEndpoint, securityOf } from "./security.js";
import type { HelloResult } from "./ops.js";

/** The package root (holds py/, proto/, .venv/), from either ts/worker or dist/worker. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface SpawnOptions {
  /** Python interpreter (default: $SENCACHE_PYTHON, else the project's .venv). */
  readonly python?: string;
  /** ZeroMQ endpoint to bind (default: a fresh ipc:// socket in a temporary folder). */
  readonly endpoint?: string;
  /** "cpu", "cuda" or "auto" (default "auto": CUDA when present). */
  readonly device?: string;
  /** Torch CPU threads in the worker. */
  readonly threads?: number;
  /** Milliseconds to wait for the worker to become ready (default 120 000). */
  readonly startTimeoutMs?: number;
  /** Default per-request timeout (default 120 000 ms). */
  readonly timeoutMs?: number;
  /** Heartbeat interval (default 2 000 ms) and how long a heartbeat may go unanswered (default 20 000 ms). */
  readonly heartbeatMs?: number;
  readonly livenessMs?: number;
  /** Extra command-line arguments for the worker (see `python -m sencache_worker --help`). */
  readonly args?: readonly string[];
  /** Extra environment for the worker. */
  readonly env?: Readonly<Record<string, string>>;
  /** The worker's CURVE public key, when `args` gives it `--curve-secret` (see ./security.ts). */
  readonly curveServerKey?: string;
  /** The client's CURVE secret key file, when `args` gives the worker `--curve-allow` with its .public file. */
  readonly curveClientKey?: string;
  /** Let the client reach a non-loopback tcp:// endpoint without CURVE (the worker also needs `--insecure` in `args`). */
  readonly insecure?: boolean;
  /** Called with each line the worker writes to stderr. */
  readonly onLog?: (line: string) => void;
}

export function defaultPython(): string {
  const fromEnv = process.env["SENCACHE_PYTHON"];
  if (fromEnv) return fromEnv;
  const venv = join(PACKAGE_ROOT, ".venv", "bin", "python");
  if (!existsSync(venv)) {
    throw new InvalidInputError(`No Python environment at ${venv}; run "npm run setup" (or set SENCACHE_PYTHON to a Python with requirements.txt installed).`);
  }
  return venv;
}

/** The last line of a Python traceback ("ValueError: …"), if stderr holds one. */
export function tracebackSummary(stderr: string): string | undefined {
  const lines = stderr.split("\n").map((l) => l.trimEnd()).filter(Boolean);
  const start = lines.findLastIndex((l) => l.startsWith("Traceback (most recent call last)"));
  if (start < 0) return undefined;
  return lines.slice(start + 1).findLast((l) => /^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b/.test(l));
}

/** A running worker process and the client connected to it. */
export class WorkerProcess {
  readonly client: WorkerClient;
  readonly hello: HelloResult;
  private readonly child: ChildProcess;
  private readonly socketDir: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly stderrRef: { text: string };
  private exited = false;
  private stopping = false;
  private readonly exitPromise: Promise<number | null>;

  private constructor(
    child: ChildProcess,
    client: WorkerClient,
    hello: HelloResult,
    socketDir: string | undefined,
    stderrRef: { text: string },
    exitPromise: Promise<number | null>,
  ) {
    this.child = child;
    this.client = client;
    this.hello = hello;
    this.socketDir = socketDir;
    this.exitPromise = exitPromise;
    this.stderrRef = stderrRef;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** The last lines the worker wrote to stderr. */
  get stderr(): string {
    return this.stderrRef.text;
  }

  static async start(options: SpawnOptions = {}): Promise<WorkerProcess> {
    const python = options.python ?? defaultPython();
    const socketDir = options.endpoint ? undefined : mkdtempSync(join(tmpdir(), "sencache-"));
    const endpoint = options.endpoint ?? `ipc://${join(socketDir as string, "worker.sock")}`;
    checkEndpoint(endpoint, options);
    const args = ["-m", "sencache_worker", "--endpoint", endpoint, "--device", options.device ?? "auto"];
    if (options.threads !== undefined) args.push("--threads", String(options.threads));
    args.push(...(options.args ?? []));
    const child = spawn(python, args, {
      cwd: join(PACKAGE_ROOT, "py"),
      env: {
        ...process.env,
        PYTHONPATH: join(PACKAGE_ROOT, "py"),
        PYTHONUNBUFFERED: "1",
        OMP_WAIT_POLICY: "PASSIVE",
        HF_HUB_OFFLINE: "1",
        ...options.env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const stderrRef = { text: "" };
    child.stderr?.setEncoding("utf8");
    let partial = "";
    child.stderr?.on("data", (chunk: string) => {
      stderrRef.text = (stderrRef.text + chunk).slice(-16_384);
      partial += chunk;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) options.onLog?.(line);
    });
    const exitPromise = new Promise<number | null>((res) => {
      child.once("exit", (code) => res(code));
      child.once("error", () => res(null));
    });
    const killOnExit = (): void => {
      child.kill("SIGKILL");
    };
    process.once("exit", killOnExit);
    void exitPromise.then(() => process.removeListener("exit", killOnExit));

    const client = new WorkerClient(endpoint, {
      timeoutMs: options.timeoutMs ?? 120_000,
      ...securityOf(options),
    });
    const died = exitPromise.then((code) => {
      const summary = tracebackSummary(stderrRef.text);
      return new WorkerDiedError(
        summary
          ? `The worker exited during start-up with ${summary}; fix the cause above (see stderr) and start it again.`
          : `The worker exited during start-up (exit code ${String(code)}); check its stderr and that "npm run setup" completed.`,
        stderrRef.text,
      );
    });
    const startTimeoutMs = options.startTimeoutMs ?? 120_000;
    let hello: HelloResult;
    try {
      hello = await Promise.race([
        client.request({ op: "hello", client: "sencache-ts" }, { timeoutMs: startTimeoutMs }),
        died.then((e) => Promise.reject(e)),
      ]);
    } catch (error) {
      child.kill("SIGKILL");
      client.close();
      if (socketDir) rmSync(socketDir, { recursive: true, force: true });
      if (error instanceof WorkerTimeoutError) {
        throw new WorkerTimeoutError(`The worker did not become ready within ${startTimeoutMs} ms; check its stderr: ${stderrRef.text.slice(-400)}`);
      }
      throw error;
    }
    const worker = new WorkerProcess(child, client, hello, socketDir, stderrRef, exitPromise);
    worker.watch(options);
    return worker;
  }

  private watch(options: SpawnOptions): void {
    void this.exitPromise.then((code) => {
      this.exited = true;
      this.stopHeartbeat();
      if (this.stopping) return;
      const summary = tracebackSummary(this.stderr);
      this.client.fail(
        new WorkerDiedError(
          summary
            ? `The worker process died with ${summary}; the sample in flight was not finished — fix the cause and run again.`
            : `The worker process (pid ${String(this.child.pid)}) exited unexpectedly (exit code ${String(code)}); ` +
              "the sample in flight was not finished — run again.",
          this.stderr,
        ),
      );
    });
    const heartbeatMs = options.heartbeatMs ?? 2_000;
    const livenessMs = options.livenessMs ?? 20_000;
    this.heartbeat = setInterval(() => {
      this.client.request({ op: "ping" }, { timeoutMs: livenessMs }).catch((error: unknown) => {
        if (this.stopping || this.exited) return;
        if (error instanceof WorkerTimeoutError) {
          this.client.fail(new WorkerDiedError(`The worker stopped answering heartbeats for ${livenessMs} ms; it was stopped — run again.`, this.stderr));
          this.child.kill("SIGKILL");
        }
      });
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Ask the worker to exit, then make sure it did. */
  async shutdown(timeoutMs = 5_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopHeartbeat();
    if (!this.exited) {
      await this.client.request({ op: "shutdown" }, { timeoutMs }).catch(() => undefined);
      const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    this.client.close();
    if (this.socketDir) rmSync(this.socketDir, { recursive: true, force: true });
  }

  /** Kill the process at once (tests use this to simulate a crash). */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.child.kill(signal);
  }

  /** Resolves with the exit code once the process has exited. */
  waitForExit(): Promise<number | null> {
    return this.exitPromise;
  }
}

export function isWorkerDied(error: unknown): error is WorkerDiedError {
  return SencacheError.isInstance(error) && error.code === "worker_died";
}
