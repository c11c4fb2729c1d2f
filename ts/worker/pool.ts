/**
 * A pool of workers behind one client, in the ZeroMQ guide's reliable request-reply patterns
 * (Paranoid Pirate): a member is used once it answered `hello` (READY), pinged every `heartbeatMs`
 * and declared lost when nothing came back for `livenessMs`; a lost member is reconnected (or, when
 * the pool spawned it, started again) with exponential backoff.
 *
 * Handles are the pool's own. `load` and `encodePrompt` are remembered, and every member loads the
 * model and encodes the prompt the first time a request needs it there, so a member that is new or
 * came back after a crash re-creates what it lacks on demand. Each request goes to the ready member
 * with the fewest requests in flight; a request whose member is lost is sent again to another one.
 * A denoise request is a pure function of its inputs, so the samples in flight finish unchanged (bit
 * for bit in the worker's deterministic batching mode, `--batching request`).
 *
 * `WorkerPool` has the `request` method of `WorkerClient`, so a `Model` loads on it as on one worker.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { AbortError, InvalidInputError, ProtocolError, SencacheError, WorkerDiedError, WorkerError, WorkerTimeoutError } from "../errors.js";
import { WorkerClient, type RequestOptions } from "./client.js";
import type { HelloResult, LoadResult, Op, Request, ResultOf, StatsResult } from "./ops.js";
import type { SecurityOptions } from "./security.js";
import { WorkerProcess, type SpawnOptions } from "./supervisor.js";

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

interface ModelEntry {
  readonly key: string;
  readonly request: Extract<Request, { op: "load" }>;
  readonly info: LoadResult;
}

interface CondEntry {
  readonly model: string;
  readonly request: Extract<Request, { op: "encodePrompt" }>;
}

type State = "starting" | "ready" | "lost" | "closed";

class Member {
  state: State = "starting";
  client: WorkerClient | undefined;
  process: WorkerProcess | undefined;
  hello: HelloResult | undefined;
  inFlight = 0;
  /** Incremented whenever the member gets a new worker (reconnect or restart): its handles are gone. */
  generation = 0;
  models = new Map<string, Promise<string>>();
  conds = new Map<string, Promise<string>>();
  backoff: number;
  heartbeat: NodeJS.Timeout | undefined;
  timer: NodeJS.Timeout | undefined;
  lastSeen = 0;

  constructor(
    readonly index: number,
    readonly endpoint: string,
    readonly security: SecurityOptions,
    readonly spawn: SpawnOptions | undefined,
    backoff: number,
  ) {
    this.backoff = backoff;
  }
}

const RETRYABLE_CODES = new Set(["worker_died"]);
const FORGOTTEN_CODES = new Set(["unknown_model", "unknown_handle"]);

export class WorkerPool {
  private readonly members: Member[] = [];
  private readonly models = new Map<string, ModelEntry>();
  private readonly modelKeys = new Map<string, string>();
  private readonly conds = new Map<string, CondEntry>();
  private serial = 0;
  private turn = 0;
  private closed = false;
  private waiters: (() => void)[] = [];
  private readonly timeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly livenessMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxRetries: number;
  private readonly startTimeoutMs: number;
  private readonly onEvent: ((event: PoolEvent) => void) | undefined;
  /** Requests sent again after their member was lost, in all. */
  retries = 0;
  /** Members lost (crashed, killed, silent), in all. */
  losses = 0;

  constructor(options: PoolOptions) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.livenessMs = options.livenessMs ?? 10_000;
    this.backoffMs = options.backoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 8_000;
    this.maxRetries = options.maxRetries ?? 4;
    this.startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.onEvent = options.onEvent;
    const shared: SecurityOptions = {
      ...(options.curveServerKey !== undefined ? { curveServerKey: options.curveServerKey } : {}),
      ...(options.insecure !== undefined ? { insecure: options.insecure } : {}),
    };
    for (const c of options.connect ?? []) {
      const e = typeof c === "string" ? { endpoint: c } : c;
      const { endpoint, ...security } = e;
      this.members.push(new Member(this.members.length, endpoint, { ...shared, ...security }, undefined, this.backoffMs));
    }
    for (let i = 0; i < (options.spawn ?? 0); i++) {
      this.members.push(new Member(this.members.length, "(spawned)", shared, { ...options.spawnOptions, ...shared }, this.backoffMs));
    }
    if (this.members.length === 0) throw new WorkerDiedError("A pool needs at least one worker: pass connect endpoints or spawn > 0.");
    for (const m of this.members) void this.start(m);
  }

  /** Members and their state (for diagnostics and tests). */
  get status(): { endpoint: string; state: State; pid: number | undefined; inFlight: number; generation: number }[] {
    return this.members.map((m) => ({ endpoint: m.endpoint, state: m.state, pid: m.hello?.pid, inFlight: m.inFlight, generation: m.generation }));
  }

  /** The spawned process of member `i` (tests kill it), if the pool spawned that member. */
  processOf(i: number): WorkerProcess | undefined {
    return this.members[i]?.process;
  }

  get size(): number {
    return this.members.length;
  }

  get ready(): number {
    return this.members.filter((m) => m.state === "ready").length;
  }

  // ------------------------------------------------------------------ membership

  private emit(event: PoolEvent): void {
    this.onEvent?.(event);
  }

  private async start(m: Member): Promise<void> {
    if (this.closed) return;
    m.state = "starting";
    m.timer = undefined;
    m.generation++;
    m.models = new Map();
    m.conds = new Map();
    try {
      let hello: HelloResult;
      if (m.spawn) {
        const proc = await WorkerProcess.start(
          { heartbeatMs: this.heartbeatMs, livenessMs: this.livenessMs, ...m.spawn, ...(m.spawn.timeoutMs === undefined ? { timeoutMs: this.timeoutMs } : {}) },
        );
        if (this.closed) {
          await proc.shutdown(1_000);
          return;
        }
        m.process = proc;
        m.client = proc.client;
        hello = proc.hello;
        const generation = m.generation;
        void proc.waitForExit().then((code) => {
          if (m.generation === generation && m.process === proc) this.lose(m, `the worker process exited (code ${String(code)})`);
        });
      } else {
        const client = new WorkerClient(m.endpoint, { timeoutMs: this.timeoutMs, ...m.security });
        m.client = client;
        try {
          hello = await client.request({ op: "hello", client: "sencache-pool" }, { timeoutMs: this.livenessMs });
        } catch (error) {
          client.close();
          throw error;
        }
        if (this.closed) {
          client.close();
          return;
        }
        this.watch(m, client);
      }
      m.hello = hello;
      m.state = "ready";
      m.backoff = this.backoffMs;
      m.lastSeen = Date.now();
      this.emit({ type: "ready", member: m.index, endpoint: m.endpoint, pid: hello.pid });
      this.wake();
      this.warm(m);
    } catch (error) {
      if (this.closed) return;
      if (SencacheError.isInstance(error) && error.code === "auth") {
        // A key problem does not go away by retrying: leave the member out, say why once.
        m.state = "lost";
        this.emit({ type: "lost", member: m.index, endpoint: m.endpoint, reason: error.message });
        this.wake();
        return;
      }
      m.state = "lost";
      this.schedule(m);
    }
  }

  /** Heartbeats of a connected member: one ping per interval; silence for `livenessMs` loses it. */
  private watch(m: Member, client: WorkerClient): void {
    const generation = m.generation;
    m.heartbeat = setInterval(() => {
      if (m.generation !== generation || m.state !== "ready") return;
      if (Date.now() - m.lastSeen > this.livenessMs) {
        this.lose(m, `no heartbeat for ${this.livenessMs} ms`);
        return;
      }
      client.request({ op: "ping" }, { timeoutMs: this.livenessMs }).then(
        () => {
          if (m.generation === generation) m.lastSeen = Date.now();
        },
        () => undefined, // silence is judged by lastSeen above
      );
    }, this.heartbeatMs);
    m.heartbeat.unref();
  }

  /** Take a member out of service: fail what it has in flight (the pool sends it again elsewhere) and bring it back later. */
  private lose(m: Member, reason: string): void {
    if (m.state === "closed" || m.state === "lost" || this.closed) return;
    m.state = "lost";
    this.losses++;
    this.emit({ type: "lost", member: m.index, endpoint: m.endpoint, reason });
    if (m.heartbeat) clearInterval(m.heartbeat);
    m.heartbeat = undefined;
    const client = m.client;
    const proc = m.process;
    m.client = undefined;
    m.process = undefined;
    client?.fail(new WorkerDiedError(`A worker of the pool (${m.endpoint}) was lost: ${reason}.`, proc?.stderr ?? ""));
    if (proc) {
      if (proc.alive) proc.kill("SIGKILL");
      void proc.shutdown(500).catch(() => undefined);
    } else {
      client?.close();
    }
    m.generation++; // handles of the lost worker are gone
    this.schedule(m);
  }

  private schedule(m: Member): void {
    if (this.closed) return;
    const wait = m.backoff;
    m.backoff = Math.min(this.maxBackoffMs, m.backoff * 2);
    m.timer = setTimeout(() => void this.start(m), wait);
    m.timer.unref();
  }

  /** Load every known model on a member that just became ready, in the background. */
  private warm(m: Member): void {
    for (const handle of this.models.keys()) void this.ensureModel(m, handle).catch(() => undefined);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async pick(signal: AbortSignal | undefined): Promise<Member> {
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (this.closed) throw new ProtocolError("The worker pool is closed; open a new one.");
      if (signal?.aborted) throw new AbortError();
      const ready = this.members.filter((m) => m.state === "ready");
      if (ready.length > 0) {
        const least = Math.min(...ready.map((m) => m.inFlight));
        const candidates = ready.filter((m) => m.inFlight === least);
        return candidates[this.turn++ % candidates.length] as Member;
      }
      if (this.members.every((m) => m.state === "lost" && m.timer === undefined)) {
        throw new WorkerDiedError("No worker of the pool can be reached (each refused the connection); check the endpoints and keys.");
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new WorkerDiedError(
        `No worker of the pool was ready within ${this.startTimeoutMs} ms; check that the workers run and can be reached.`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once `n` members are ready. */
  async waitReady(n = 1): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    while (this.ready < Math.min(n, this.members.length)) {
      if (this.members.every(
        (m) => m.state === "lost" && m.timer === undefined,
      )) throw new WorkerDiedError("No worker of the pool can be reached (each refused the connection); check the endpoints and keys.");
      if (Date.now() > deadline) throw new WorkerTimeoutError(
        `Only ${this.ready} of ${n} pool workers were ready within ${this.startTimeoutMs} ms; check that they run and can be reached.`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  // ------------------------------------------------------------------ handles

  private ensureModel(m: Member, handle: string): Promise<string> {
    const have = m.models.get(handle);
    if (have) return have;
    const entry = this.models.get(handle);
    if (!entry) return Promise.reject(new WorkerError("unknown_model", `No loaded model has handle ${handle} in this pool; call load first.`, "load"));
    const client = m.client;
    if (!client) return Promise.reject(new WorkerDiedError(`A worker of the pool (${m.endpoint}) is not connected.`));
    const p = client.request(entry.request, { timeoutMs: Math.max(this.timeoutMs, 600_000) }).then((r) => r.model);
    m.models.set(handle, p);
    p.catch(() => {
      if (m.models.get(handle) === p) m.models.delete(handle);
    });
    return p;
  }

  private ensureCond(m: Member, handle: string): Promise<string> {
    const have = m.conds.get(handle);
    if (have) return have;
    const entry = this.conds.get(handle);
    if (!entry) return Promise.reject(
      new WorkerError("unknown_handle", `Condition handle ${handle} is not known in this pool; encode the prompt again.`, "encodePrompt"),
    );
    const p = this.ensureModel(m, entry.model).then(async (model) => {
      const client = m.client;
      if (!client) throw new WorkerDiedError(`A worker of the pool (${m.endpoint}) is not connected.`);
      return (await client.request({ ...entry.request, model })).cond;
    });
    m.conds.set(handle, p);
    p.catch(() => {
      if (m.conds.get(handle) === p) m.conds.delete(handle);
    });
    return p;
  }

  /** The request with the pool's handles replaced by the member's. */
  private async translate(m: Member, req: Request): Promise<Request> {
    const r = req as Request & { model?: string; items?: readonly { cond: string }[] };
    let out: Record<string, unknown> = { ...r };
    if (typeof r.model === "string") out["model"] = await this.ensureModel(m, r.model);
    if (Array.isArray(r.items)) {
      const conds = await Promise.all(r.items.map((it) => this.ensureCond(m, it.cond)));
      out = { ...out, items: r.items.map((it, i) => ({ ...it, cond: conds[i] })) };
    }
    return out as unknown as Request;
  }

  // ------------------------------------------------------------------ requests

  request<O extends Op>(req: Extract<Request, { op: O }>, options: RequestOptions = {}): Promise<ResultOf[O]> {
    switch (req.op) {
      case "hello":
        return this.hello() as Promise<ResultOf[O]>;
      case "load":
        return this.load(req as Extract<Request, { op: "load" }>, options) as Promise<ResultOf[O]>;
      case "encodePrompt":
        return this.encodePrompt(req as Extract<Request, { op: "encodePrompt" }>, options) as Promise<ResultOf[O]>;
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
      const m = await this.pick(options.signal);
      const generation = m.generation;
      const client = m.client as WorkerClient;
      m.inFlight++;
      try {
        const translated = await this.translate(m, req);
        return await client.request(translated as Extract<Request, { op: O }>, options);
      } catch (error) {
        const lost = m.generation !== generation || m.state !== "ready";
        const died = SencacheError.isInstance(error) && (RETRYABLE_CODES.has(error.code) || (lost && error.code === "protocol"));
        // A worker restarted behind our back (same endpoint, new process) answers "unknown handle": re-create and retry.
        const forgotten = SencacheError.isInstance(error) && FORGOTTEN_CODES.has(error.code) && !lost && this.ownsHandles(req);
        if (!(died || forgotten) || attempt >= this.maxRetries) throw error;
        if (died && !lost) this.lose(m, (error as Error).message);
        if (forgotten) {
          m.models = new Map();
          m.conds = new Map();
        }
        this.retries++;
        this.emit({ type: "retry", member: m.index, op: req.op, attempt: attempt + 1 });
      } finally {
        m.inFlight--;
      }
    }
  }

  private ownsHandles(req: Request): boolean {
    const r = req as Request & { model?: string; items?: readonly { cond: string }[] };
    return (r.model === undefined || this.models.has(r.model)) && (r.items ?? []).every((it) => this.conds.has(it.cond));
  }

  private async hello(): Promise<HelloResult> {
    const m = await this.pick(undefined);
    return m.hello as HelloResult;
  }

  private async load(req: Extract<Request, { op: "load" }>, options: RequestOptions): Promise<LoadResult> {
    const key = JSON.stringify([req.source, req.dtype ?? null, req.family ?? null]);
    const known = this.modelKeys.get(key);
    if (known) return (this.models.get(known) as ModelEntry).info;
    for (let attempt = 0; ; attempt++) {
      const m = await this.pick(options.signal);
      const client = m.client as WorkerClient;
      const generation = m.generation;
      try {
        const info = await client.request(req, { timeoutMs: Math.max(this.timeoutMs, 600_000), ...options });
        const again = this.modelKeys.get(key); // loaded concurrently by another caller
        if (again) return (this.models.get(again) as ModelEntry).info;
        const handle = `pm${++this.serial}`;
        const entry: ModelEntry = { key, request: req, info: { ...info, model: handle } };
        this.models.set(handle, entry);
        this.modelKeys.set(key, handle);
        if (m.generation === generation) m.models.set(handle, Promise.resolve(info.model));
        for (const other of this.members) if (other !== m && other.state === "ready") void this.ensureModel(other, handle).catch(() => undefined);
        return entry.info;
      } catch (error) {
        if (!(SencacheError.isInstance(error) && error.code === "worker_died") || attempt >= this.maxRetries) throw error;
        this.retries++;
      }
    }
  }

  private async encodePrompt(req: Extract<Request, { op: "encodePrompt" }>, options: RequestOptions): Promise<ResultOf["encodePrompt"]> {
    if (!this.models.has(req.model)) throw new WorkerError(
      "unknown_model",
      `No loaded model has handle ${req.model} in this pool; call load first.`,
      "encodePrompt",
    );
    const handle = `pc${++this.serial}`;
    this.conds.set(handle, { model: req.model, request: req });
    for (let attempt = 0; ; attempt++) {
      const m = await this.pick(options.signal);
      const generation = m.generation;
      try {
        const model = await this.ensureModel(m, req.model);
        const client = m.client as WorkerClient;
        const p = client.request({ ...req, model }, options);
        if (m.generation === generation) m.conds.set(handle, p.then((r) => r.cond));
        const result = await p;
        return { ...result, cond: handle };
      } catch (error) {
        if (m.conds.has(handle)) m.conds.delete(handle);
        if (!(SencacheError.isInstance(error) && error.code === "worker_died") || attempt >= this.maxRetries) {
          this.conds.delete(handle);
          throw error;
        }
        this.retries++;
      }
    }
  }

  private async release(handles: readonly string[]): Promise<ResultOf["release"]> {
    let released = 0;
    const perMember = new Map<Member, Promise<string>[]>();
    const add = (m: Member, p: Promise<string> | undefined): void => {
      if (p) perMember.set(m, [...(perMember.get(m) ?? []), p]);
    };
    for (const h of handles) {
      if (this.conds.delete(h)) {
        released++;
        for (const m of this.members) {
          add(m, m.conds.get(h));
          m.conds.delete(h);
        }
      } else if (this.models.has(h)) {
        const entry = this.models.get(h) as ModelEntry;
        this.models.delete(h);
        this.modelKeys.delete(entry.key);
        for (const [c, ce] of this.conds) if (ce.model === h) this.conds.delete(c);
        released++;
        for (const m of this.members) {
          add(m, m.models.get(h));
          m.models.delete(h);
        }
      }
    }
    await Promise.all(
      [...perMember].map(async ([m, ps]) => {
        const ids = (await Promise.allSettled(ps)).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        if (ids.length > 0 && m.state === "ready") await m.client?.request({ op: "release", handles: ids }).catch(() => undefined);
      }),
    );
    return { released };
  }

  private async stats(): Promise<StatsResult> {
    const ready = this.members.filter((m) => m.state === "ready" && m.client);
    const all = await Promise.all(ready.map((m) => (m.client as WorkerClient).request({ op: "stats" }).catch(() => undefined)));
    const sum: Record<string, number> = {};
    for (const s of all) if (s) for (const [k, v] of Object.entries(s)) if (typeof v === "number") sum[k] = (sum[k] ?? 0) + v;
    return { messages: 0, denoiseRequests: 0, denoiseItems: 0, forwards: 0, errors: 0, models: 0, conds: 0, ...sum } as StatsResult;
  }

  /** Shut down the workers the pool spawned and disconnect from the others. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    await Promise.all(
      this.members.map(async (m) => {
        if (m.heartbeat) clearInterval(m.heartbeat);
        if (m.timer) clearTimeout(m.timer);
        const { process: proc, client } = m;
        m.state = "closed";
        if (proc) await proc.shutdown(2_000).catch(() => undefined);
        else client?.close();
      }),
    );
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

/**
 * The workers listed in a pool file: one endpoint per line (`#` starts a comment; an optional second
 * field is that worker's CURVE public key file), or JSON `{"workers": [{"endpoint", "curveServerKey"?}]}`.
 * Key file paths are relative to the pool file's folder.
 */
export function readPoolFile(path: string): PoolEndpoint[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new InvalidInputError(`Cannot read the pool file ${path}; give a file with one worker endpoint per line.`);
  }
  const key = (k: string | undefined): { curveServerKey?: string } => {
    if (k === undefined) return {};
    return { curveServerKey: k.length === 40 || isAbsolute(k) ? k : join(dirname(path), k) };
  };
  let workers: PoolEndpoint[];
  if (text.trimStart().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InvalidInputError(`The pool file ${path} is not valid JSON; write {"workers": [{"endpoint": "tcp://host:5555"}]} or one endpoint per line.`);
    }
    const list = (parsed as { workers?: unknown }).workers;
    if (!Array.isArray(list) || !list.every((w) => typeof w === "object" && w !== null && typeof (w as PoolEndpoint).endpoint === "string")) {
      throw new InvalidInputError(`The pool file ${path} needs "workers": [{"endpoint": "tcp://host:5555", "curveServerKey"?: "worker.public"}].`);
    }
    workers = (list as PoolEndpoint[]).map((w) => ({ endpoint: w.endpoint, ...key(w.curveServerKey), ...(w.insecure ? { insecure: true } : {}) }));
  } else {
    workers = text
      .split("\n")
      .map((l) => (l.split("#")[0] ?? "").trim())
      .filter(Boolean)
      .map((l) => {
        const [endpoint, k] = l.split(/\s+/);
        return { endpoint: endpoint as string, ...key(k) };
      });
  }
  if (workers.length === 0) throw new InvalidInputError(`The pool file ${path} lists no workers; write one endpoint per line.`);
  return workers;
}
