/**
 * The handles of a worker pool. Handles are the pool's own: `load` and `encodePrompt` are remembered,
 * and every member loads the model and encodes the prompt the first time a request needs it there, so
 * a member that is new or came back after a crash re-creates what it lacks on demand. A request is
 * sent to a member with the pool's handles replaced by that member's.
 */
import { WorkerDiedError, WorkerError } from "../errors.js";
import type { LoadResult, Request } from "./ops.js";
import type { Member } from "./pool-members.js";

interface ModelEntry {
  readonly key: string;
  readonly request: Extract<Request, { op: "load" }>;
  readonly info: LoadResult;
}

interface CondEntry {
  readonly model: string;
  readonly request: Extract<Request, { op: "encodePrompt" }>;
}

/** What `forget` took out: how many pool handles, and per member the worker handles to release there. */
export interface Forgotten {
  readonly released: number;
  readonly perMember: ReadonlyMap<Member, readonly Promise<string>[]>;
}

export class PoolHandles {
  private readonly models = new Map<string, ModelEntry>();
  private readonly modelKeys = new Map<string, string>();
  private readonly conds = new Map<string, CondEntry>();
  private serial = 0;

  /** `timeoutMs`: the pool's request timeout (a load waits at least 10 minutes). */
  constructor(private readonly timeoutMs: number) {}

  /** The load result of a model loaded with the same source, dtype and family, if there is one. */
  loaded(req: Extract<Request, { op: "load" }>): LoadResult | undefined {
    const known = this.modelKeys.get(keyOf(req));
    return known ? (this.models.get(known) as ModelEntry).info : undefined;
  }

  /** Remember a load a member answered with `info`: a new pool handle, in the result in place of the member's. */
  addModel(req: Extract<Request, { op: "load" }>, info: LoadResult): LoadResult {
    const key = keyOf(req);
    const handle = `pm${++this.serial}`;
    const entry: ModelEntry = { key, request: req, info: { ...info, model: handle } };
    this.models.set(handle, entry);
    this.modelKeys.set(key, handle);
    return entry.info;
  }

  hasModel(handle: string): boolean {
    return this.models.has(handle);
  }

  /** Remember a prompt encoding: a new pool handle for it. */
  addCond(req: Extract<Request, { op: "encodePrompt" }>): string {
    const handle = `pc${++this.serial}`;
    this.conds.set(handle, { model: req.model, request: req });
    return handle;
  }

  dropCond(handle: string): void {
    this.conds.delete(handle);
  }

  /** Load every known model on a member that just became ready, in the background. */
  warm(m: Member): void {
    for (const handle of this.models.keys()) void this.ensureModel(m, handle).catch(() => undefined);
  }

  /** The member's handle of a pool model: loaded there the first time it is needed. */
  ensureModel(m: Member, handle: string): Promise<string> {
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
  async translate(m: Member, req: Request): Promise<Request> {
    const r = req as Request & { model?: string; items?: readonly { cond: string }[] };
    let out: Record<string, unknown> = { ...r };
    if (typeof r.model === "string") out["model"] = await this.ensureModel(m, r.model);
    if (Array.isArray(r.items)) {
      const conds = await Promise.all(r.items.map((it) => this.ensureCond(m, it.cond)));
      out = { ...out, items: r.items.map((it, i) => ({ ...it, cond: conds[i] })) };
    }
    return out as unknown as Request;
  }

  /** Whether every handle the request names is one of the pool's. */
  owns(req: Request): boolean {
    const r = req as Request & { model?: string; items?: readonly { cond: string }[] };
    return (r.model === undefined || this.models.has(r.model)) && (r.items ?? []).every((it) => this.conds.has(it.cond));
  }

  /** Take pool handles out (a model takes its prompts with it), on the pool and on every member. */
  forget(handles: readonly string[], members: readonly Member[]): Forgotten {
    let released = 0;
    const perMember = new Map<Member, Promise<string>[]>();
    const add = (m: Member, p: Promise<string> | undefined): void => {
      if (p) perMember.set(m, [...(perMember.get(m) ?? []), p]);
    };
    for (const h of handles) {
      if (this.conds.delete(h)) {
        released++;
        for (const m of members) {
          add(m, m.conds.get(h));
          m.conds.delete(h);
        }
      } else if (this.models.has(h)) {
        const entry = this.models.get(h) as ModelEntry;
        this.models.delete(h);
        this.modelKeys.delete(entry.key);
        for (const [c, ce] of this.conds) if (ce.model === h) this.conds.delete(c);
        released++;
        for (const m of members) {
          add(m, m.models.get(h));
          m.models.delete(h);
        }
      }
    }
    return { released, perMember };
  }
}

function keyOf(req: Extract<Request, { op: "load" }>): string {
  return JSON.stringify([req.source, req.dtype ?? null, req.family ?? null]);
}
