/**
 * `sencache doctor`: is this machine ready? Node, the worker's Python environment, torch, CUDA and its
 * devices, the worker handshake, each model family the worker serves, the bundled model, LPIPS weights
 * and the video encoder. Each problem is one sentence with its fix; the exit code is 0 only when no
 * check failed (a warning is an optional part that is missing, such as LPIPS).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { PACKAGE_ROOT, WorkerProcess } from "../../worker/supervisor.js";
import { BUNDLED_MODEL } from "../common.js";

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  /** One line: what was found, or the problem and its fix. */
  readonly detail: string;
}

interface Probe {
  python: string;
  numpy: string | null;
  zmq: string | null;
  torch: string | null;
  diffusers: string | null;
  transformers: string | null;
  cuda?: { available: boolean; version: string | null; devices: string[] };
  families?: Record<string, Record<string, boolean>>;
  lpips?: { ok: boolean; reason?: string; weights?: string };
  encoder: { ok: boolean; reason?: string; ffmpeg?: string; version?: string };
}

/** The exact commands `npm run setup` runs to create the worker's environment. */
export const CREATE_VENV = "python3 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt";
const SETUP = `run "npm run setup" (it runs: ${CREATE_VENV})`;

function pythonPath(): { path: string; fromEnv: boolean } {
  const fromEnv = process.env["SENCACHE_PYTHON"];
  return fromEnv ? { path: fromEnv, fromEnv: true } : { path: join(PACKAGE_ROOT, ".venv", "bin", "python"), fromEnv: false };
}

function runProbe(python: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    execFile(
      python,
      ["-m", "sencache_worker.doctor"],
      {
        cwd: join(PACKAGE_ROOT, "py"),
        env: { ...process.env, PYTHONPATH: join(PACKAGE_ROOT, "py"), HF_HUB_OFFLINE: "1" },
        timeout: 180_000,
        maxBuffer: 1 << 20,
      },
      (error, stdout, stderr) => {
        if (error) {
          const last = stderr.trim().split("\n").at(-1) ?? error.message;
          reject(new Error(last));
          return;
        }
        try {
          resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as Probe);
        } catch {
          reject(new Error(`unreadable probe output: ${stdout.slice(0, 200)}`));
        }
      },
    );
  });
}

export async function runChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, status: CheckStatus, detail: string): void => {
    checks.push({ name, status, detail });
  };
  const major = Number(process.versions.node.split(".")[0]);
  add("node", major >= 20 ? "ok" : "fail", major >= 20 ? `${process.versions.node}` : `Node ${process.versions.node} is too old; install Node 20 or newer.`);

  const py = pythonPath();
  const later = ["torch", "devices", "worker", "families", "bundled model", "lpips", "video encoder"];
  const skipRest = (why: string): void => {
    for (const n of later) if (n !== "bundled model") add(n, "skip", why);
  };
  let probe: Probe | undefined;
  if (!existsSync(py.path)) {
    add(
      "python",
      "fail",
      py.fromEnv
        ? `SENCACHE_PYTHON points at ${py.path}, which does not exist; point it at a Python with requirements.txt installed, or unset it and ${SETUP}.`
        : `No Python environment at ${py.path}; ${SETUP}.`,
    );
  } else {
    try {
      probe = await runProbe(py.path);
      add("python", "ok", `${probe.python} at ${py.path}`);
    } catch (error) {
      add("python", "fail", `${py.path} cannot run the worker's probe (${(error as Error).message}); ${SETUP}.`);
    }
  }
  if (probe === undefined) {
    skipRest("needs the Python environment above");
  } else {
    const missing = (["numpy", "zmq", "torch", "diffusers", "transformers"] as const).filter((m) => probe[m] === null);
    if (probe.torch === null) add("torch", "fail", `torch is not installed in ${py.path}; ${SETUP}.`);
    else if (missing.length > 0) add("torch", "fail", `${missing.join(", ")} missing in ${py.path}; ${SETUP}.`);
    else add("torch", "ok", `torch ${probe.torch}, diffusers ${probe.diffusers}, transformers ${probe.transformers}`);
    const cuda = probe.cuda;
    if (cuda === undefined) add("devices", "skip", "needs torch");
    else if (cuda.available) add("devices", "ok", `CUDA ${cuda.version ?? "?"}: ${cuda.devices.join(", ")}`);
    else {
      const built = cuda.version ? `; built for CUDA ${cuda.version}` : "";
      add("devices", "ok", `CPU only (torch sees no CUDA device${built}): enough for the bundled model; real models want a GPU with a CUDA build of torch`);
    }

    if (missing.length > 0) {
      add("worker", "skip", "needs torch, diffusers and transformers");
    } else {
      const started = performance.now();
      try {
        const worker = await WorkerProcess.start({ python: py.path, device: "auto", startTimeoutMs: 180_000 });
        const s = ((performance.now() - started) / 1000).toFixed(1);
        add("worker", "ok", `pid ${worker.hello.pid} answered hello in ${s} s (protocol ${worker.hello.protocol}, device ${worker.hello.device})`);
        await worker.shutdown();
      } catch (error) {
        add("worker", "fail", `The worker did not start (${(error as Error).message.split("\n")[0]}); ${SETUP}, then run "sencache doctor" again.`);
      }
    }
    for (const [family, classes] of Object.entries(probe.families ?? {})) {
      const absent = Object.entries(classes).filter(([, ok]) => !ok).map(([c]) => c);
      add(
        `family ${family}`,
        absent.length === 0 ? "ok" : "fail",
        absent.length === 0
          ? Object.keys(classes).join(", ")
          : `diffusers ${probe.diffusers} has no ${absent.join(", ")}; install the diffusers version in requirements.txt (${SETUP}).`,
      );
    }
    if (probe.families === undefined) add("families", "skip", "needs torch and diffusers");
    const lpips = probe.lpips;
    if (lpips === undefined) add("lpips", "skip", "needs torch");
    else if (lpips.ok) add("lpips", "ok", `AlexNet weights in ${lpips.weights ?? "?"}`);
    else add(
      "lpips",
      "warn",
      `LPIPS is optional and unavailable: ${lpips.reason ?? "?"}; bench reports PSNR and SSIM without it (to add it: .venv/bin/python -m pip install ` +
        `lpips, with the AlexNet weights in TORCH_HOME).`,
    );
    const enc = probe.encoder;
    add(
      "video encoder",
      enc.ok ? "ok" : "fail",
      enc.ok ? `ffmpeg ${enc.version ?? "?"} (imageio-ffmpeg)` : `No video encoder: ${enc.reason ?? "?"}; ${SETUP}.`,
    );
  }
  const bundled = existsSync(join(BUNDLED_MODEL, "model_index.json"));
  add(
    "bundled model",
    bundled ? "ok" : "fail",
    bundled ? BUNDLED_MODEL : `The bundled model is missing at ${BUNDLED_MODEL}; restore it with "git checkout -- models".`,
  );
  return checks;
}

export const doctorCommand: CommandModule<object, { json: boolean }> = {
  command: "doctor",
  describe:
    "Check that this machine can run sencache (Node, Python environment, torch, devices, worker, model families, encoder) " +
    "and say how to fix what is missing",
  builder: (y) => y.option("json", { type: "boolean", default: false, describe: "print the checks as JSON" }) as never,
  handler: async (args) => {
    const checks = await runChecks();
    const ok = checks.every((c) => c.status !== "fail");
    if (args.json) {
      console.log(JSON.stringify({ ok, checks }, null, 2));
    } else {
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const c of checks) console.log(`${(c.status === "fail" ? "FAIL" : c.status).padEnd(5)}${c.name.padEnd(width + 2)}${c.detail}`);
      console.log(ok ? "\nAll is well." : `\n${checks.filter((c) => c.status === "fail").length} problem(s) above; each line says how to fix it.`);
    }
    process.exitCode = ok ? 0 : 1;
  },
};
