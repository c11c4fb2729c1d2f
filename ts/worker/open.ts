/**
 * One way in for callers that do not care whether the worker is spawned here or already running
 * elsewhere (`sencache worker --endpoint tcp://…`): `openWorker` gives a client and a `close`, and for
 * a worker it spawned, `restart` (a fresh process with the same options, for `Model`'s recovery).
 */
import { WorkerDiedError, WorkerTimeoutError } from "../errors.js";
import { WorkerClient, type ClientOptions } from "./client.js";
import type { HelloResult } from "./ops.js";
import { securityOf } from "./security.js";
import { WorkerProcess, type SpawnOptions } from "./supervisor.js";

export interface OpenWorkerOptions extends SpawnOptions {
  /**
   * Connect to a running worker at this endpoint instead of spawning one. The wait for its hello is
   * `startTimeoutMs`, else `timeoutMs`, else 30 s.
   */
  readonly connect?: string;
}

/** The client options (timeout, CURVE keys, insecure) that `options` asks for. */
export function clientOptions(options: OpenWorkerOptions): ClientOptions {
  return {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...securityOf(options),
  };
}

export interface OpenedWorker {
  /** The client of the current worker (a new one after `restart`). */
  readonly client: WorkerClient;
  readonly hello: HelloResult;
  /** The spawned process, when this call spawned one (the current one after `restart`). */
  readonly process?: WorkerProcess;
  /**
   * Replace a spawned worker with a fresh process started with the same options (the old one is
   * stopped if it still runs) and return its client. Absent for a worker reached with `connect`: a
   * remote worker is restarted by whoever runs it.
   */
  readonly restart?: () => Promise<WorkerClient>;
  /** Shut a spawned worker down, or disconnect from a remote one. */
  close(): Promise<void>;
}

export async function openWorker(options: OpenWorkerOptions = {}): Promise<OpenedWorker> {
  if (options.connect) {
    const client = new WorkerClient(options.connect, clientOptions(options));
    // ZeroMQ connects lazily and queues the hello, so "nobody there" and "busy" look alike: both end
    // in this wait, which the caller's timeout bounds.
    const waitMs = options.startTimeoutMs ?? options.timeoutMs ?? 30_000;
    try {
      const hello = await client.request({ op: "hello", client: "sencache-ts" }, { timeoutMs: waitMs });
      return { client, hello, close: async () => client.close() };
    } catch (error) {
      client.close();
      if (WorkerTimeoutError.isInstance(error)) {
        throw new WorkerTimeoutError(
          `No worker answered at ${options.connect} within ${waitMs / 1000} s; nothing may be listening there — start one with "sencache worker ` +
            `--endpoint ${options.connect}", check the address, or raise the timeout if that worker is busy.`,
        );
      }
      throw error;
    }
  }
  let current = await WorkerProcess.start(options);
  let closed = false;
  return {
    get client() {
      return current.client;
    },
    get hello() {
      return current.hello;
    },
    get process() {
      return current;
    },
    restart: async () => {
      if (closed) throw new WorkerDiedError("The worker was closed; open a new one with openWorker() instead of restarting it.");
      const old = current;
      await old.shutdown(1_000).catch(() => undefined);
      current = await WorkerProcess.start(options);
      return current.client;
    },
    close: async () => {
      closed = true;
      await current.shutdown();
    },
  };
}
