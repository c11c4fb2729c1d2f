/**
 * The handles of a worker pool. Handles are the pool's own: `load`, `encodePrompt` and `encodeImage` are
 * remembered, and every member loads the model, encodes the prompt or prepares the conditioning image the
 * first time a request needs it there, so a member that is new or came back after a crash re-creates what
 * it lacks on demand. A request is sent to a member with the pool's handles replaced by that member's.
 */
import { WorkerDiedError, WorkerError } from "../errors.js";
import type { LoadResult, Request } from "./ops.js";
import type { Member } from "./pool-members.js";

interface ModelEntry {
  readonly key: string;
  readonly request: Extract<Request, { op: "load" }>;
  readonly info: LoadResult;
}

/** A request that makes a handle of a model: a prompt encoding (`pc…`) or a conditioning image (`pi…`). */
export type DerivedRequest = Extract<Request, { op: "encodePrompt" | "encodeImage" }>;

interface DerivedEntry {
  readonly model: string;
  readonly request: DerivedRequest;
}

/** The handle a derived request's result carries. */
export const derivedKey = (req: DerivedRequest): "cond" | "image" => (req.op === "encodePrompt" ? "cond" : "image");

/** What `forget` took out: how many pool handles, and per member the worker handles to release there. */
export interface Forgotten {
  readonly released: number;
  readonly perMember: ReadonlyMap<Member, readonly Promise<string>[]>;
}

export class PoolHandles {
  private readonly models = new Map<string, ModelEntry>();
  private readonly modelKeys = new Map<string, string>();
  private readonly derived = new Map<string, DerivedEntry>();
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

  /** Remember a prompt encoding or a conditioning image: a new pool handle for it. */
  addDerived(req: DerivedRequest): string {
    const handle = `${req.op === "encodePrompt" ? "pc" : "pi"}${++this.serial}`;
    this.derived.set(handle, { model: req.model, request: req });
    return handle;
  }

  dropDerived(handle: string): void {
    this.derived.delete(handle);
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

  private ensureDerived(m: Member, handle: string): Promise<string> {
    const have = m.derived.get(handle);
    if (have) return have;
    const entry = this.derived.get(handle);
    if (!entry) {
      const [what, again, op] = handle.startsWith("pi") ? ["Image", "encode the image", "encodeImage"] as const : ["Condition", "encode the prompt", "encodePrompt"] as const;
      return Promise.reject(new WorkerError("unknown_handle", `${what} handle ${handle} is not known in this pool; ${again} again.`, op));
    }
    const p = this.ensureModel(m, entry.model).then(async (model) => {
      const client = m.client;
      if (!client) throw new WorkerDiedError(`A worker of the pool (${m.endpoint}) is not connected.`);
      const result = (await client.request({ ...entry.request, model } as DerivedRequest)) as Record<string, unknown>;
      return result[derivedKey(entry.request)] as string;
    });
    m.derived.set(handle, p);
    p.catch(() => {
      if (m.derived.get(handle) === p) m.derived.delete(handle);
    });
    return p;
  }

  /** The request with the pool's handles replaced by the member's (the model, and each prompt and image). */
  async translate(m: Member, req: Request): Promise<Request> {
    const r = req as Request & { model?: string; image?: string; items?: readonly { cond: string; image?: string }[] };
    let out: Record<string, unknown> = { ...r };
    if (typeof r.model === "string") out["model"] = await this.ensureModel(m, r.model);
    if (typeof r.image === "string") out["image"] = await this.ensureDerived(m, r.image);
    if (Array.isArray(r.items)) {
      const [conds, images] = await Promise.all([
        Promise.all(r.items.map((it) => this.ensureDerived(m, it.cond))),
        Promise.all(r.items.map((it) => (it.image === undefined ? undefined : this.ensureDerived(m, it.image)))),
      ]);
      out = { ...out, items: r.items.map((it, i) => ({ ...it, cond: conds[i], ...(it.image === undefined ? {} : { image: images[i] }) })) };
    }
    return out as unknown as Request;
  }

  /** Whether every handle the request names is one of the pool's. */
  owns(req: Request): boolean {
    const r = req as Request & { model?: string; image?: string; items?: readonly { cond: string; image?: string }[] };
    const derived = (h: string | undefined) => h === undefined || this.derived.has(h);
    return (r.model === undefined || this.models.has(r.model)) && derived(r.image) && (r.items ?? []).every((it) => derived(it.cond) && derived(it.image));
  }

  /** Take pool handles out (a model takes its prompts and images with it), on the pool and on every member. */
  forget(handles: readonly string[], members: readonly Member[]): Forgotten {
    let released = 0;
    const perMember = new Map<Member, Promise<string>[]>();
    const add = (m: Member, p: Promise<string> | undefined): void => {
      if (p) perMember.set(m, [...(perMember.get(m) ?? []), p]);
    };
    for (const h of handles) {
      if (this.derived.delete(h)) {
        released++;
        for (const m of members) {
          add(m, m.derived.get(h));
          m.derived.delete(h);
        }
      } else if (this.models.has(h)) {
        const entry = this.models.get(h) as ModelEntry;
        this.models.delete(h);
        this.modelKeys.delete(entry.key);
        for (const [d, entry] of this.derived) if (entry.model === h) this.derived.delete(d);
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
