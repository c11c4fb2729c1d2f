/**
 * A pool of workers behind one client. Its members (`pool-members.ts`) are started, watched by
 * heartbeats and brought back when lost; its handles (`pool-handles.ts`) are the pool's own and are
 * re-created on a member that lacks them. This file dispatches: each request goes to the ready member
 * with the fewest requests in flight, and a request whose member is lost is sent again to another one.
 * A denoise request is a pure function of its inputs, so the samples in flight finish unchanged (bit
 * for bit in the worker's deterministic batching mode, `--batching request`).
 *
 * `WorkerPool` has the `request` method of `WorkerClient`, so a `Model` loads on it as on one worker.
 */
import { SencacheError, WorkerError } from "../errors.js";
import type { RequestOptions, WorkerClient } from "./client.js";
import type { HelloResult, LoadResult, Op, Request, ResultOf, StatsResult } from "./ops.js";
import { derivedKey, PoolHandles, type DerivedRequest } from "./pool-handles.js";
import { PoolMembers, type MemberState } from "./pool-members.js";
import type { SecurityOptions } from "./security.js";
import type { SpawnOptions, WorkerProcess } from "./supervisor.js";

/** A running worker to connect to: an endpoint, and its CURVE key when it is on another machine. */
export interface PoolEndpoint extends SecurityOptions {
  readonly endpoint: string;
}

export interface PoolOptions extends SecurityOptions {
  /** Running workers (`sencache worker --endpoint …`): endpoints, or endpoints with their own CURVE key. */
  readonly connect?: readonly (string | PoolEndpoint)[];
  /** Local workers the pool starts and restarts itself (default 0). */
  readonly spawn?: number;
  /** Options of the spawned workers (device, threads, args, env…). */
  readonly spawnOptions?: SpawnOptions;
  /** Default per-request timeout (default 120 000 ms). */
  readonly timeoutMs?: number;
  /** Heartbeat interval (default 1 000 ms) and silence after which a member is lost (default 10 000 ms). */
  readonly heartbeatMs?: number;
  readonly livenessMs?: number;
  /** First and largest wait before reconnecting (restarting) a lost member (default 250 ms and 8 000 ms). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How often one request is sent again after its member was lost (default 4). */
  readonly maxRetries?: number;
  /** Wait for this many members to be ready before `openPool` returns (default 1). */
  readonly minReady?: number;
  /** How long `openPool` (and a request finding no ready member) waits (default 120 000 ms). */
  readonly startTimeoutMs?: number;
  /** What happens to members: ready, lost (with the reason), retry (a request sent again). */
  readonly onEvent?: (event: PoolEvent) => void;
}

export type PoolEvent =
  | { readonly type: "ready"; readonly member: number; readonly endpoint: string; readonly pid: number }
  | { readonly type: "lost"; readonly member: number; readonly endpoint: string; readonly reason: string }
  | { readonly type: "retry"; readonly member: number; readonly op: Op; readonly attempt: number };

const RETRYABLE_CODES = new Set(["worker_died"]);
const FORGOTTEN_CODES = new Set(["unknown_model", "unknown_handle"]);

export class WorkerPool {
  private readonly handles: PoolHandles;
  private readonly members: PoolMembers;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  /** Requests sent again after their member was lost, in all. */
  retries = 0;

  constructor(options: PoolOptions) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxRetries = options.maxRetries ?? 4;
    this.handles = new PoolHandles(this.timeoutMs);
    this.members = new PoolMembers(options, (m) => this.handles.warm(m));
  }

  /** Members lost (crashed, killed, silent), in all. */
  get losses(): number {
    return this.members.losses;
  }

  /** Members and their state (for diagnostics and tests). */
  get status(): { endpoint: string; state: MemberState; pid: number | undefined; inFlight: number; generation: number }[] {
    return this.members.status;
  }

  /** The spawned process of member `i` (tests kill it), if the pool spawned that member. */
  processOf(i: number): WorkerProcess | undefined {
    return this.members.processOf(i);
  }

  get size(): number {
    return this.members.size;
  }

  get ready(): number {
    return this.members.ready;
  }

  /** Resolves once `n` members are ready. */
  waitReady(n = 1): Promise<void> {
    return this.members.waitReady(n);
  }

  request<O extends Op>(req: Extract<Request, { op: O }>, options: RequestOptions = {}): Promise<ResultOf[O]> {
    switch (req.op) {
      case "hello":
        return this.hello() as Promise<ResultOf[O]>;
      case "load":
        return this.load(req as Extract<Request, { op: "load" }>, options) as Promise<ResultOf[O]>;
      case "encodePrompt":
      case "encodeImage":
        return this.derive(req as DerivedRequest, options) as Promise<ResultOf[O]>;
      case "release":
        return this.release((req as Extract<Request, { op: "release" }>).handles) as Promise<ResultOf[O]>;
      case "stats":
        return this.stats() as Promise<ResultOf[O]>;
      case "shutdown":
        return this.close().then(() => ({})) as Promise<ResultOf[O]>;
      default:
        return this.dispatch(req, options);
    }
  }

  /** Run `req` on a ready member, again on another one if that member is lost before it answers. */
  private async dispatch<O extends Op>(req: Extract<Request, { op: O }>, options: RequestOptions): Promise<ResultOf[O]> {
    for (let attempt = 0; ; attempt++) {
      const m = await this.members.pick(options.signal);
      const generation = m.generation;
      const client = m.client as WorkerClient;
      m.inFlight++;
      try {
        const translated = await this.handles.translate(m, req);
        return await client.request(translated as Extract<Request, { op: O }>, options);
      } catch (error) {
        const lost = m.generation !== generation || m.state !== "ready";
        const died = SencacheError.isInstance(error) && (RETRYABLE_CODES.has(error.code) || (lost && error.code === "protocol"));
        // A worker restarted behind our back (same endpoint, new process) answers "unknown handle": re-create and retry.
        const forgotten = SencacheError.isInstance(error) && FORGOTTEN_CODES.has(error.code) && !lost && this.handles.owns(req);
        if (!(died || forgotten) || attempt >= this.maxRetries) throw error;
        if (died && !lost) this.members.lose(m, (error as Error).message);
        if (forgotten) {
          m.models = new Map();
          m.derived = new Map();
        }
        this.retries++;
        this.members.emit({ type: "retry", member: m.index, op: req.op, attempt: attempt + 1 });
      } finally {
        m.inFlight--;
      }
    }
  }

  private async hello(): Promise<HelloResult> {
    const m = await this.members.pick(undefined);
    return m.hello as HelloResult;
  }

  private async load(req: Extract<Request, { op: "load" }>, options: RequestOptions): Promise<LoadResult> {
    const known = this.handles.loaded(req);
    if (known) return known;
    for (let attempt = 0; ; attempt++) {
      const m = await this.members.pick(options.signal);
      const client = m.client as WorkerClient;
      const generation = m.generation;
      try {
        const info = await client.request(req, { timeoutMs: Math.max(this.timeoutMs, 600_000), ...options });
        const again = this.handles.loaded(req); // loaded concurrently by another caller
        if (again) return again;
        const result = this.handles.addModel(req, info);
        const handle = result.model;
        if (m.generation === generation) m.models.set(handle, Promise.resolve(info.model));
        for (const other of this.members.all) {
          if (other !== m && other.state === "ready") void this.handles.ensureModel(other, handle).catch(() => undefined);
        }
        return result;
      } catch (error) {
        if (!(SencacheError.isInstance(error) && error.code === "worker_died") || attempt >= this.maxRetries) throw error;
        this.retries++;
      }
    }
  }

  /** A prompt encoding or a conditioning image, made on one member under a pool handle that every member can serve. */
  private async derive(req: DerivedRequest, options: RequestOptions): Promise<ResultOf["encodePrompt"] | ResultOf["encodeImage"]> {
    if (!this.handles.hasModel(req.model)) throw new WorkerError(
      "unknown_model",
      `No loaded model has handle ${req.model} in this pool; call load first.`,
      req.op,
    );
    const handle = this.handles.addDerived(req);
    const key = derivedKey(req);
    for (let attempt = 0; ; attempt++) {
      const m = await this.members.pick(options.signal);
      const generation = m.generation;
      try {
        const model = await this.handles.ensureModel(m, req.model);
        const client = m.client as WorkerClient;
        const p = client.request({ ...req, model } as DerivedRequest, options) as Promise<Record<string, unknown>>;
        if (m.generation === generation) {
          const mine = p.then((r) => r[key] as string);
          mine.catch(() => undefined); // the caller sees p's failure; a later request asks again
          m.derived.set(handle, mine);
        }
        const result = await p;
        return { ...result, [key]: handle } as unknown as ResultOf["encodePrompt"] | ResultOf["encodeImage"];
      } catch (error) {
        if (m.derived.has(handle)) m.derived.delete(handle);
        if (!(SencacheError.isInstance(error) && error.code === "worker_died") || attempt >= this.maxRetries) {
          this.handles.dropDerived(handle);
          throw error;
        }
        this.retries++;
      }
    }
  }

  private async release(handles: readonly string[]): Promise<ResultOf["release"]> {
    const { released, perMember } = this.handles.forget(handles, this.members.all);
    await Promise.all(
      [...perMember].map(async ([m, ps]) => {
        const ids = (await Promise.allSettled(ps)).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        if (ids.length > 0 && m.state === "ready") await m.client?.request({ op: "release", handles: ids }).catch(() => undefined);
      }),
    );
    return { released };
  }

  private async stats(): Promise<StatsResult> {
    const ready = this.members.all.filter((m) => m.state === "ready" && m.client);
    const all = await Promise.all(ready.map((m) => (m.client as WorkerClient).request({ op: "stats" }).catch(() => undefined)));
    const sum: Record<string, number> = {};
    for (const s of all) if (s) for (const [k, v] of Object.entries(s)) if (typeof v === "number") sum[k] = (sum[k] ?? 0) + v;
    return { messages: 0, denoiseRequests: 0, denoiseItems: 0, forwards: 0, errors: 0, models: 0, conds: 0, ...sum } as StatsResult;
  }

  /** Shut down the workers the pool spawned and disconnect from the others. */
  close(): Promise<void> {
    return this.members.close();
  }
}

/** A pool of workers; resolves once `minReady` (default 1) of them answered hello. */
export async function openPool(options: PoolOptions): Promise<WorkerPool> {
  const pool = new WorkerPool(options);
  try {
    await pool.waitReady(options.minReady ?? 1);
  } catch (error) {
    await pool.close();
    throw error;
  }
  return pool;
}
