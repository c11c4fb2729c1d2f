/**
 * The members of a worker pool, in the ZeroMQ guide's reliable request-reply patterns (Paranoid
 * Pirate): a member is used once it answered `hello` (READY), pinged every `heartbeatMs` and declared
 * lost when nothing came back for `livenessMs`; a lost member is reconnected (or, when the pool spawned
 * it, started again) with exponential backoff. `pick` gives the ready member with the fewest requests
 * in flight. What the members are asked to do is `pool.ts`'s.
 */
import { AbortError, ProtocolError, SencacheError, WorkerDiedError, WorkerTimeoutError } from "../errors.js";
import { WorkerClient } from "./client.js";
import type { HelloResult } from "./ops.js";
import type { PoolEvent, PoolOptions } from "./pool.js";
import { securityOf, type SecurityOptions } from "./security.js";
import { WorkerProcess, type SpawnOptions } from "./supervisor.js";

export type MemberState = "starting" | "ready" | "lost" | "closed";

/** One worker of the pool: its connection (and process, if the pool spawned it) and its own handles. */
export class Member {
  state: MemberState = "starting";
  client: WorkerClient | undefined;
  process: WorkerProcess | undefined;
  hello: HelloResult | undefined;
  inFlight = 0;
  /** Incremented whenever the member gets a new worker (reconnect or restart): its handles are gone. */
  generation = 0;
  models = new Map<string, Promise<string>>();
  /** Prompt encodings and conditioning images: pool handle → this member's handle. */
  derived = new Map<string, Promise<string>>();
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

/** The pool's members: starting, heartbeats, losing and bringing back, and choosing one for a request. */
export class PoolMembers {
  private readonly members: Member[] = [];
  private turn = 0;
  private closed = false;
  private waiters: (() => void)[] = [];
  private readonly timeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly livenessMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly startTimeoutMs: number;
  private readonly onEvent: ((event: PoolEvent) => void) | undefined;
  /** Members lost (crashed, killed, silent), in all. */
  losses = 0;

  /** `onReady`: a member just became ready (the pool loads its known models there). */
  constructor(
    options: PoolOptions,
    private readonly onReady: (m: Member) => void,
  ) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.livenessMs = options.livenessMs ?? 10_000;
    this.backoffMs = options.backoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 8_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.onEvent = options.onEvent;
    const shared = securityOf(options);
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

  /** Every member, in the order of the options (`connect` first, then the spawned ones). */
  get all(): readonly Member[] {
    return this.members;
  }

  /** Members and their state (for diagnostics and tests). */
  get status(): { endpoint: string; state: MemberState; pid: number | undefined; inFlight: number; generation: number }[] {
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

  emit(event: PoolEvent): void {
    this.onEvent?.(event);
  }

  private async start(m: Member): Promise<void> {
    if (this.closed) return;
    m.state = "starting";
    m.timer = undefined;
    m.generation++;
    m.models = new Map();
    m.derived = new Map();
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
      this.onReady(m);
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
  lose(m: Member, reason: string): void {
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

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  async pick(signal: AbortSignal | undefined): Promise<Member> {
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

  /** Stop every member: shut down the workers the pool spawned and disconnect from the others. */
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
