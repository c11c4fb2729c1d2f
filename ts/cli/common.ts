/** Options and set-up shared by the commands that run a model. */
import { existsSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Argv } from "yargs";
import { InvalidInputError } from "../errors.js";
import { checkSize, readFolderGeometry, type VideoSize } from "../sampling/geometry.js";
import { Model, type LoadOptions } from "../sampling/model.js";
import { openWorker, type OpenedWorker } from "../worker/open.js";
import { readPoolFile } from "../worker/pool-file.js";
import { openPool, type WorkerPool } from "../worker/pool.js";
import type { SecurityOptions } from "../worker/security.js";
import { PACKAGE_ROOT } from "../worker/supervisor.js";
import { COUNT, POSITIVE, WHOLE, checkNumbers } from "./args.js";

/** The bundled trained tiny text-to-video model (a WanPipeline saved with save_pretrained). */
export const BUNDLED_MODEL = join(PACKAGE_ROOT, "models", "tiny-wan-t2v");

export interface ModelArgs {
  model: string;
  connect?: string | string[];
  pool?: string;
  workers: number;
  curveServerKey?: string;
  curveClientKey?: string;
  insecure: boolean;
  device: string;
  threads?: number;
  timeout: number;
  restarts: number;
  dtype?: string;
  offload?: string;
  vaeTiling?: boolean;
  vaeSlicing?: boolean;
  wireDtype?: string;
}

/** `auto`, `cpu`, `cuda` or `cuda:N`. */
export const DEVICE_PATTERN = /^(auto|cpu|cuda(:\d+)?)$/;

/** The GPU-side load options of the CLI as Model.load takes them (the TS side never changes with the device). */
export function loadOptionsOf(args: ModelArgs): Pick<LoadOptions, "dtype" | "offload" | "vaeTiling" | "vaeSlicing" | "wireDtype"> {
  return {
    ...(args.dtype !== undefined ? { dtype: args.dtype } : {}),
    ...(args.offload !== undefined && args.offload !== "none" ? { offload: args.offload as "model" | "sequential" } : {}),
    ...(args.vaeTiling ? { vaeTiling: true } : {}),
    ...(args.vaeSlicing ? { vaeSlicing: true } : {}),
    ...(args.wireDtype !== undefined ? { wireDtype: args.wireDtype as "auto" | "float32" | "bfloat16" | "float16" } : {}),
  };
}

/**
 * Refuse a size a local model folder cannot take before any worker starts (its configs say the
 * latent geometry, see ts/sampling/geometry.ts); a hub id is left to the worker.
 */
export function checkSizeBeforeStart(model: string, size: Partial<VideoSize>): void {
  const g = readFolderGeometry(model);
  if (g === undefined) return;
  checkSize(g.geometry, size, { model: `the model ${basename(model)} (${g.pipelineClass})`, vaeSpatial: g.vae.spatial, vaeTemporal: g.vae.temporal });
}

export function modelOptions<T>(y: Argv<T>): Argv<T & ModelArgs> {
  return y
    .option("model", { type: "string", default: BUNDLED_MODEL, describe: "diffusers pipeline: a local folder or a model id (from_pretrained)" })
    .option("connect", { type: "string", describe: "use a running worker at this endpoint instead of spawning one; repeat it for a pool of workers" })
    .option("pool", { type: "string", describe: "a pool file: the running workers to use, one endpoint per line (see docs/serving.md)" })
    .option("workers", { type: "number", default: 1, describe: "local workers to spawn as a pool (each restarted if it dies)" })
    .option(
      "curve-server-key",
      { type: "string", describe: "the worker's CURVE public key file (<name>.public from sencache keys new); needed for a worker on another machine" },
    )
    .option(
      "curve-client-key",
      {
        type: "string",
        describe: "this client's CURVE secret key file (<name>.secret from sencache keys new --name client), for a worker that lists its .public " +
          "with --curve-allow (default: a fresh key per connection)",
      },
    )
    .option("insecure", { type: "boolean", default: false, describe: "connect to a worker on another machine without CURVE" })
    .option("device", { type: "string", default: "auto", describe: "torch device of a spawned worker: auto, cpu, cuda or cuda:N" })
    .option(
      "dtype",
      { type: "string", choices: ["float32", "bfloat16", "float16"], describe: "weights dtype (bf16 for the released video models on a GPU; default float32)" },
    )
    .option(
      "offload",
      { type: "string", choices: ["none", "model", "sequential"], describe: "CPU offload: model (enable_model_cpu_offload) or sequential (default none)" },
    )
    .option("vae-tiling", { type: "boolean", describe: "decode with VAE tiling (less GPU memory)" })
    .option("vae-slicing", { type: "boolean", describe: "decode with VAE slicing" })
    .option(
      "wire-dtype",
      {
        type: "string",
        choices: ["auto", "float32", "bfloat16", "float16"],
        describe: "latents on the wire (default auto: the transformer's dtype when it is bf16/fp16)",
      },
    )
    .option("threads", { type: "number", describe: "torch CPU threads of a spawned worker" })
    .option(
      "timeout",
      { type: "number", default: 120, describe: "seconds to wait for any one worker reply (with --connect also for the worker's first answer)" },
    )
    .option(
      "restarts",
      {
        type: "number",
        default: 2,
        describe: "times a spawned worker that died is replaced, the samples in flight resuming where they were (0: fail at once)",
      },
    )
    .check(checkNumbers({ timeout: POSITIVE, threads: COUNT, restarts: WHOLE }))
    .check((argv) => {
      const d = (argv as { device?: unknown }).device;
      if (typeof d !== "string" || !DEVICE_PATTERN.test(d)) throw new InvalidInputError(
        `--device must be auto, cpu, cuda or cuda:N (e.g. cuda:1), not ${JSON.stringify(d)}.`,
      );
      return true;
    }) as unknown as Argv<T & ModelArgs>;
}

/** The CURVE keys and --insecure of the command line, as the SDK takes them. */
function securityArgs(args: ModelArgs): SecurityOptions {
  return {
    ...(args.curveServerKey !== undefined ? { curveServerKey: args.curveServerKey } : {}),
    ...(args.curveClientKey !== undefined ? { curveClientKey: args.curveClientKey } : {}),
    ...(args.insecure ? { insecure: true } : {}),
  };
}

/** A pool when the arguments name several workers (repeated --connect, --pool, --workers > 1). */
async function poolFor(args: ModelArgs): Promise<WorkerPool | undefined> {
  const connect = args.connect === undefined ? [] : ([] as string[]).concat(args.connect);
  const listed = [...connect.map((endpoint) => ({ endpoint })), ...(args.pool ? readPoolFile(args.pool) : [])];
  if (!Number.isInteger(args.workers) || args.workers < 1) throw new InvalidInputError(`--workers must be a whole number ≥ 1, not ${String(args.workers)}.`);
  if (listed.length <= 1 && args.workers <= 1 && !args.pool) return undefined;
  if (listed.length > 0 && args.workers > 1) throw new InvalidInputError(
    "--workers spawns local workers and --connect / --pool names running ones; use one of them.",
  );
  return openPool({
    connect: listed,
    spawn: listed.length > 0 ? 0 : args.workers,
    spawnOptions: { device: args.device, ...(args.threads !== undefined ? { threads: args.threads } : {}) },
    timeoutMs: args.timeout * 1000,
    startTimeoutMs: args.timeout * 1000,
    ...securityArgs(args),
    onEvent: (e) => {
      if (e.type === "lost") process.stderr.write(`\nnote: worker ${e.member} (${e.endpoint}) lost: ${e.reason}; its requests go to the other workers\n`);
    },
  });
}

/** The --height, --width and --frames a command was given, as a video size. */
export function sizeArgs(args: { height?: number; width?: number; frames?: number }): Partial<VideoSize> {
  return {
    ...(args.height !== undefined ? { height: args.height } : {}),
    ...(args.width !== undefined ? { width: args.width } : {}),
    ...(args.frames !== undefined ? { numFrames: args.frames } : {}),
  };
}

/** Open a worker (spawned or connected), load the model, run `fn`, and always close the worker. */
export async function withModel<R>(
  args: ModelArgs,
  fn: (model: Model, worker: OpenedWorker | WorkerPool) => Promise<R>,
  size: Partial<VideoSize> = {},
): Promise<R> {
  if (args.model === BUNDLED_MODEL && !existsSync(join(BUNDLED_MODEL, "model_index.json"))) {
    throw new InvalidInputError(`The bundled model is missing at ${BUNDLED_MODEL}; restore it from git, or pass --model.`);
  }
  checkSizeBeforeStart(args.model, size);
  if (!Number.isInteger(args.restarts) || args.restarts < 0) {
    throw new InvalidInputError(`--restarts must be a whole number ≥ 0, not ${String(args.restarts)}.`);
  }
  const pool = await poolFor(args);
  if (pool) {
    const interrupt = (): void => {
      void pool.close().finally(() => process.exit(130));
    };
    process.once("SIGINT", interrupt);
    try {
      return await fn(await Model.load(pool, args.model, loadOptionsOf(args)), pool);
    } finally {
      process.removeListener("SIGINT", interrupt);
      await pool.close();
    }
  }
  const connect = typeof args.connect === "string" ? args.connect : args.connect?.[0];
  const worker = await openWorker({
    ...(connect ? { connect } : {}),
    ...securityArgs(args),
    device: args.device,
    ...(args.threads !== undefined ? { threads: args.threads } : {}),
    timeoutMs: args.timeout * 1000,
    ...(args.connect ? { startTimeoutMs: args.timeout * 1000 } : {}),
  });
  const interrupt = (): void => {
    void worker.close().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  try {
    const model = await Model.load(worker.client, args.model, {
      ...loadOptionsOf(args),
      ...(worker.restart ? { restart: worker.restart } : {}),
      maxRestarts: args.restarts,
      onRestart: ({ attempt, maxRestarts, error }) => {
        process.stderr.write(
          `\nnote: ${error.message.split(";")[0]}; starting a new worker (restart ${attempt} of ${maxRestarts}); the samples in flight resume where they ` +
            `were\n`,
        );
      },
    });
    return await fn(model, worker);
  } finally {
    process.removeListener("SIGINT", interrupt);
    await worker.close();
  }
}

export function ensureParent(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
}
