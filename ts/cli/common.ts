/** Options and set-up shared by the commands that run a model. */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Argv } from "yargs";
import { InvalidInputError } from "../errors.js";
import { Model } from "../sampling/model.js";
import { openWorker, type OpenedWorker } from "../worker/open.js";
import { openPool, readPoolFile, type WorkerPool } from "../worker/pool.js";
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
  insecure: boolean;
  device: string;
  threads?: number;
  timeout: number;
  restarts: number;
}

export function modelOptions<T>(y: Argv<T>): Argv<T & ModelArgs> {
  return y
    .option("model", { type: "string", default: BUNDLED_MODEL, describe: "diffusers pipeline: a local folder or a model id (from_pretrained)" })
    .option("connect", { type: "string", describe: "use a running worker at this endpoint instead of spawning one; repeat it for a pool of workers" })
    .option("pool", { type: "string", describe: "a pool file: the running workers to use, one endpoint per line (see docs/serving.md)" })
    .option("workers", { type: "number", default: 1, describe: "local workers to spawn as a pool (each restarted if it dies)" })
    .option("curve-server-key", { type: "string", describe: "the worker's CURVE public key file (<name>.public from sencache keys new); needed for a worker on another machine" })
    .option("insecure", { type: "boolean", default: false, describe: "connect to a worker on another machine without CURVE" })
    .option("device", { type: "string", default: "auto", choices: ["auto", "cpu", "cuda"], describe: "torch device of a spawned worker" })
    .option("threads", { type: "number", describe: "torch CPU threads of a spawned worker" })
    .option("timeout", { type: "number", default: 120, describe: "seconds to wait for any one worker reply (with --connect also for the worker's first answer)" })
    .option("restarts", { type: "number", default: 2, describe: "times a spawned worker that died is replaced, the samples in flight resuming where they were (0: fail at once)" })
    .check(checkNumbers({ timeout: POSITIVE, threads: COUNT, restarts: WHOLE })) as unknown as Argv<T & ModelArgs>;
}

/** Open a worker (spawned or connected), load the model, run `fn`, and always close the worker. */
/** A pool when the arguments name several workers (repeated --connect, --pool, --workers > 1). */
async function poolFor(args: ModelArgs): Promise<WorkerPool | undefined> {
  const connect = args.connect === undefined ? [] : ([] as string[]).concat(args.connect);
  const listed = [...connect.map((endpoint) => ({ endpoint })), ...(args.pool ? readPoolFile(args.pool) : [])];
  if (!Number.isInteger(args.workers) || args.workers < 1) throw new InvalidInputError(`--workers must be a whole number ≥ 1, not ${String(args.workers)}.`);
  if (listed.length <= 1 && args.workers <= 1 && !args.pool) return undefined;
  if (listed.length > 0 && args.workers > 1) throw new InvalidInputError("--workers spawns local workers and --connect / --pool names running ones; use one of them.");
  return openPool({
    connect: listed,
    spawn: listed.length > 0 ? 0 : args.workers,
    spawnOptions: { device: args.device, ...(args.threads !== undefined ? { threads: args.threads } : {}) },
    timeoutMs: args.timeout * 1000,
    startTimeoutMs: args.timeout * 1000,
    ...(args.curveServerKey !== undefined ? { curveServerKey: args.curveServerKey } : {}),
    ...(args.insecure ? { insecure: true } : {}),
    onEvent: (e) => {
      if (e.type === "lost") process.stderr.write(`\nnote: worker ${e.member} (${e.endpoint}) lost: ${e.reason}; its requests go to the other workers\n`);
    },
  });
}

export async function withModel<R>(args: ModelArgs, fn: (model: Model, worker: OpenedWorker | WorkerPool) => Promise<R>): Promise<R> {
  if (args.model === BUNDLED_MODEL && !existsSync(join(BUNDLED_MODEL, "model_index.json"))) {
    throw new InvalidInputError(`The bundled model is missing at ${BUNDLED_MODEL}; restore it from git, or pass --model.`);
  }
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
      return await fn(await Model.load(pool, args.model), pool);
    } finally {
      process.removeListener("SIGINT", interrupt);
      await pool.close();
    }
  }
  const connect = typeof args.connect === "string" ? args.connect : args.connect?.[0];
  const worker = await openWorker({
    ...(connect ? { connect } : {}),
    ...(args.curveServerKey !== undefined ? { curveServerKey: args.curveServerKey } : {}),
    ...(args.insecure ? { insecure: true } : {}),
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
      ...(worker.restart ? { restart: worker.restart } : {}),
      maxRestarts: args.restarts,
      onRestart: ({ attempt, maxRestarts, error }) => {
        process.stderr.write(`\nnote: ${error.message.split(";")[0]}; starting a new worker (restart ${attempt} of ${maxRestarts}); the samples in flight resume where they were\n`);
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
