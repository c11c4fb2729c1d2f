/**
 * `load(source)`: a model in one call. Spawns (or connects to) a worker, loads the pipeline in it,
 * and keeps it supervised: a spawned worker that dies is replaced and the samples in flight resume.
 * `model.close()` shuts the worker down. The explicit `openWorker` + `Model.load` path stays for
 * callers who share one worker between models.
 *
 *     const model = await load("models/tiny-wan-t2v");
 *     const result = await generate(model, { prompt: "a red square moving right", seed: 0 });
 *     await model.close();
 */
import { openWorker, type OpenedWorker, type OpenWorkerOptions } from "../worker/open.js";
import { Model, type LoadOptions } from "./model.js";

export interface OpenModelOptions extends OpenWorkerOptions {
  /** How the pipeline is loaded in the worker (dtype, offload, restarts, …); `restart` is wired here. */
  readonly load?: Omit<LoadOptions, "restart">;
}

/** A `Model` that owns its worker. */
export type OpenModel = Model & {
  /** The worker behind the model (its process, when spawned). */
  readonly worker: OpenedWorker;
  /** Shut the worker down (or disconnect from a remote one). */
  close(): Promise<void>;
};

export async function load(source: string, options: OpenModelOptions = {}): Promise<OpenModel> {
  const { load: loadOptions = {}, ...workerOptions } = options;
  const worker = await openWorker(workerOptions);
  try {
    const model = await Model.load(worker.client, source, { ...loadOptions, ...(worker.restart ? { restart: worker.restart } : {}) });
    return Object.assign(model, { worker, close: () => worker.close() });
  } catch (error) {
    await worker.close().catch(() => undefined);
    throw error;
  }
}
