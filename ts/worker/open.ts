/**
 * One way in for callers that do not care whether the worker is spawned here or already running
 * elsewhere (`sencache worker --endpoint tcp://…`): `openWorker` gives a client and a `close`.
 */
import { WorkerClient } from "./client.js";
import type { HelloResult } from "./codec.js";
import { WorkerProcess, type SpawnOptions } from "./supervisor.js";

export interface OpenWorkerOptions extends SpawnOptions {
  /** Connect to a running worker at this endpoint instead of spawning one. */
  readonly connect?: string;
}

export interface OpenedWorker {
  readonly client: WorkerClient;
  readonly hello: HelloResult;
  /** The spawned process, when this call spawned one. */
  readonly process?: WorkerProcess;
  /** Shut a spawned worker down, or disconnect from a remote one. */
  close(): Promise<void>;
}

export async function openWorker(options: OpenWorkerOptions = {}): Promise<OpenedWorker> {
  if (options.connect) {
    const client = new WorkerClient(options.connect, options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {});
    try {
      const hello = await client.request({ op: "hello", client: "sencache-ts" }, { timeoutMs: options.startTimeoutMs ?? 30_000 });
      return { client, hello, close: async () => client.close() };
    } catch (error) {
      client.close();
      throw error;
    }
  }
  const process = await WorkerProcess.start(options);
  return { client: process.client, hello: process.hello, process, close: () => process.shutdown() };
}
