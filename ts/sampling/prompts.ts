/**
 * Prompt handles of one model: one worker handle per (text, max length), counted by its users. `acquire`
 * hands out a handle (encoding the prompt only when no handle for it exists), `release` gives one use
 * back. The last `cacheSize` handles nobody holds are kept, so the next sample with the same prompt (a
 * bench sweep, a negative prompt, a demo row) does not encode it again; older ones are given back to the
 * worker. After a worker restart, `reencode` makes a handle for every prompt on the new worker and the
 * old handles the callers hold are translated (`current`).
 */
import { InvalidInputError } from "../errors.js";

/** Encode a prompt in the worker; the model's handle is chosen by the caller. */
export type EncodeFn = (text: string, maxSequenceLength: number | undefined, signal?: AbortSignal) => Promise<string>;

interface Entry {
  readonly text: string;
  readonly maxSequenceLength: number | undefined;
  users: number;
  readonly handle: Promise<string>;
  /** The handle, once the worker has given it. */
  resolved?: string;
}

export class PromptHandles {
  /** (max length, text) → its handle and users; Map order = least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private readonly keyOf = new Map<string, string>();
  /** A handle given out before a restart → the current worker's handle. */
  private aliases = new Map<string, string>();
  private misses = 0;

  constructor(
    private readonly encode: EncodeFn,
    private readonly cacheSize = 16,
  ) {
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new InvalidInputError(`promptCache must be a whole number ≥ 0, not ${String(cacheSize)}.`);
  }

  /** How many prompts were sent to the worker's text encoder (cache misses). */
  get encodes(): number {
    return this.misses;
  }

  /** A handle for the prompt, shared with the other users of the same text and length. */
  async acquire(text: string, maxSequenceLength: number | undefined, signal?: AbortSignal): Promise<string> {
    const key = `${maxSequenceLength ?? ""}\u0000${text}`;
    const hit = this.entries.get(key);
    if (hit) {
      hit.users++;
      this.entries.delete(key); // most recently used last
      this.entries.set(key, hit);
      try {
        return await hit.handle;
      } catch (error) {
        hit.users--;
        throw error;
      }
    }
    this.misses++;
    // The handle is recorded as soon as the worker gives it, so a restart that follows re-encodes it.
    const handle = this.encode(text, maxSequenceLength, signal).then((h) => (entry.resolved = h));
    const entry: Entry = { text, maxSequenceLength, users: 1, handle };
    this.entries.set(key, entry);
    try {
      const h = await entry.handle;
      this.keyOf.set(h, key);
      return h;
    } catch (error) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw error;
    }
  }

  /**
   * Give back one use of each handle. Returns the handles the worker should release now: those this
   * cache does not know, and the least recently used idle ones beyond `cacheSize`.
   */
  async release(handles: readonly string[]): Promise<string[]> {
    const drop: string[] = [];
    for (const h of handles) {
      const key = this.keyOf.get(h);
      const entry = key !== undefined ? this.entries.get(key) : undefined;
      if (entry === undefined) drop.push(h);
      else entry.users = Math.max(0, entry.users - 1);
    }
    let idle = 0;
    for (const entry of this.entries.values()) if (entry.users === 0) idle++;
    for (const [key, entry] of this.entries) {
      if (idle <= this.cacheSize) break;
      if (entry.users > 0) continue;
      this.entries.delete(key);
      idle--;
      const h = await entry.handle.catch(() => undefined);
      if (h !== undefined) {
        this.keyOf.delete(h);
        drop.push(h);
      }
    }
    const current = drop.map((h) => this.current(h));
    for (const h of drop) this.aliases.delete(h);
    return current;
  }

  /** The current worker's handle for a handle given out (before a restart, the two differ). */
  current(handle: string): string {
    return this.aliases.get(handle) ?? handle;
  }

  /**
   * Encode every prompt with a handle on a fresh worker; returns the commit that makes the new handles
   * current (call it once the whole fresh worker is ready). A prompt still being encoded is skipped: its
   * own request retries on the new worker.
   */
  async reencode(encode: (text: string, maxSequenceLength: number | undefined) => Promise<string>): Promise<() => void> {
    const aliases = new Map<string, string>();
    for (const entry of this.entries.values()) {
      if (entry.resolved === undefined) continue;
      aliases.set(entry.resolved, await encode(entry.text, entry.maxSequenceLength));
    }
    return () => {
      this.aliases = aliases;
    };
  }
}
