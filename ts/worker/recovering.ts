/**
 * A worker client that survives the death of its worker. The worker holds only re-creatable things
 * (loaded pipelines, prompt-embedding handles); every sampling state lives in TypeScript. Given a
 * `restart` function (`openWorker` provides one for a worker it spawned), a request that fails because
 * the worker died starts a fresh worker, lets its owner re-create what it had there (`reestablish`:
 * load the model again, re-encode the prompt handles in use) and runs the request again: the samples in
 * flight lose one evaluation's time and finish as if nothing had happened (a denoise request is a pure
 * function of its inputs). At most `maxRestarts` restarts (default 2); after that the WorkerDiedError
 * reaches the caller.
 */
import { WorkerDiedError } from "../errors.js";
import type { WorkerLike } from "./client.js";
import { isWorkerDied } from "./supervisor.js";

export interface RestartEvent {
  readonly attempt: number;
  readonly maxRestarts: number;
  /** The failure that triggered the restart. */
  readonly error: WorkerDiedError;
}

export interface RecoveryOptions {
  /** Start a fresh worker and return its client; `OpenedWorker.restart`. Without it nothing is retried. */
  readonly restart?: () => Promise<WorkerLike>;
  /** Restarts allowed over the client's life (default 2; 0 turns recovery off). */
  readonly maxRestarts?: number;
  /** Called when a dead worker is being replaced (attempt counts from 1). */
  readonly onRestart?: (event: RestartEvent) => void;
}

export class RecoveringClient {
  private current: WorkerLike;
  private readonly restartWorker: (() => Promise<WorkerLike>) | undefined;
  private readonly maxRestarts: number;
  private readonly onRestart: ((event: RestartEvent) => void) | undefined;
  private restartCount = 0;
  /** Incremented by every completed recovery: a failure seen in an older generation is simply retried. */
  private generation = 0;
  private recovering: Promise<void> | undefined;

  /**
   * `reestablish` re-creates the owner's state on a fresh worker; it must commit that state only once
   * all of it is there (it is called again on the next restart if a request fails meanwhile).
   */
  constructor(client: WorkerLike, private readonly reestablish: (client: WorkerLike) => Promise<void>, options: RecoveryOptions = {}) {
    this.current = client;
    this.restartWorker = options.restart;
    this.maxRestarts = options.restart ? (options.maxRestarts ?? 2) : 0;
    this.onRestart = options.onRestart;
  }

  /** The client of the worker in use now (a new one after a restart). */
  get client(): WorkerLike {
    return this.current;
  }

  /** How many times a dead worker was replaced. */
  get restarts(): number {
    return this.restartCount;
  }

  /**
   * Run a worker request; if the worker died and a restart is allowed, replace it (once for all the
   * requests that failed together) and run the request again against the new worker.
   */
  async call<R>(send: (client: WorkerLike) => Promise<R>): Promise<R> {
    for (;;) {
      const generation = this.generation;
      try {
        return await send(this.current);
      } catch (error) {
        if (!isWorkerDied(error) || this.restartWorker === undefined) throw error;
        if (this.recovering) {
          await this.recovering;
          continue;
        }
        if (generation !== this.generation) continue;
        if (this.restartCount >= this.maxRestarts) {
          if (this.maxRestarts === 0) throw error;
          const message = `${error.message} (The worker had already been restarted ${this.restartCount} time(s) for this model; not restarting again.)`;
          throw new WorkerDiedError(message, error.stderr);
        }
        this.recovering = this.recover(error).finally(() => {
          this.recovering = undefined;
        });
        await this.recovering;
      }
    }
  }

  private async recover(error: WorkerDiedError): Promise<void> {
    this.restartCount++;
    this.onRestart?.({ attempt: this.restartCount, maxRestarts: this.maxRestarts, error });
    const client = await (this.restartWorker as () => Promise<WorkerLike>)();
    await this.reestablish(client);
    this.current = client;
    this.generation++;
  }
}
