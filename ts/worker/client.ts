/**
 * A ZeroMQ DEALER client for one worker: one receive loop resolving a map of pending requests by id,
 * a send queue (ZeroMQ allows one pending send per socket), per-request timeouts and `signal`.
 */
import { curveKeyPair, Dealer } from "zeromq";
import { AbortError, ProtocolError, SencacheError, WorkerAuthError, WorkerError, WorkerTimeoutError } from "../errors.js";
import { decodeReply, encodeRequest, parseResult } from "./codec.js";
import type { HelloResult, Op, Request, ResultOf } from "./ops.js";
import { checkEndpoint, clientKeyPair, readKey, refusalMessage, type SecurityOptions } from "./security.js";

/** The key of WorkerClient's raw-frames method (module-internal: not exported by ts/worker/index.ts or the package). */
export const SEND_FRAMES: unique symbol = Symbol("sencache.WorkerClient.sendFrames");

export interface RequestOptions {
  /** Milliseconds to wait for the reply (default: the client's `timeoutMs`). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What a `Model` needs of its worker: one worker's `WorkerClient`, or a `WorkerPool` of many. */
export interface WorkerLike {
  request<O extends Op>(req: Extract<Request, { op: O }>, options?: RequestOptions): Promise<ResultOf[O]>;
}

export interface ClientOptions extends SecurityOptions {
  /** Default per-request timeout in milliseconds (default 120 000). */
  readonly timeoutMs?: number;
  /** Largest reply accepted, in bytes (default 1 GiB); ZeroMQ drops a connection whose frame is larger. */
  readonly maxMessageBytes?: number;
}

interface Pending {
  readonly op: Op;
  /** When the request times out (performance.now() milliseconds) and the timeout it was given. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Outgoing {
  readonly id: number;
  readonly op: Op;
  readonly frames: Buffer[];
}

export class WorkerClient {
  readonly endpoint: string;
  private readonly socket: Dealer;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Frames waiting for the socket (ZeroMQ allows one pending send), and whether a send is under way. */
  private readonly outbox: Outgoing[] = [];
  private sending = false;
  /**
   * One timer for every request's timeout instead of one per request: armed for the earliest deadline
   * (`timerAt`), it sweeps the expired requests and re-arms; unref'd while nothing is in flight.
   */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private failure: SencacheError | undefined;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private closed = false;
  /** The worker's limit from `hello`: larger requests are refused here instead of being dropped by the worker's transport. */
  private serverMaxBytes = Number.POSITIVE_INFINITY;
  /** CURVE handshakes the worker refused (the first fails the client and disconnects it; a test shows no retries follow). */
  handshakeFailures = 0;
  /** Messages sent, in all and per op (a test counts them to show that a skipped step sends nothing). */
  sentMessages = 0;
  readonly sentByOp = new Map<Op, number>();

  constructor(endpoint: string, options: ClientOptions = {}) {
    this.endpoint = endpoint;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxBytes = options.maxMessageBytes ?? 2 ** 30;
    checkEndpoint(endpoint, options);
    this.socket = new Dealer({ linger: 0, maxMessageSize: this.maxBytes + (1 << 20) });
    let mine: { readonly publicKey: string; readonly secretKey: string } | undefined;
    if (options.curveServerKey) {
      mine = options.curveClientKey ? clientKeyPair(options.curveClientKey) : curveKeyPair();
      this.socket.curveServerKey = readKey(options.curveServerKey);
      this.socket.curvePublicKey = mine.publicKey;
      this.socket.curveSecretKey = mine.secretKey;
    }
    // A wrong key (or a CURVE worker reached without one, or a client key not on its --curve-allow) fails the
    // handshake, and libzmq may retry forever while requests wait: the first handshake failure is a typed error for everything.
    const refused = (event: { type: string; error?: unknown }): void => {
      if (this.handshakeFailures++ > 0) return;
      this.fail(new WorkerAuthError(refusalMessage(endpoint, options, event, mine?.publicKey)));
      // libzmq retries a failed handshake every few hundred ms for as long as the socket stays connected (a wrong server
      // key): this client is failed for good, so it stops knocking.
      try {
        this.socket.disconnect(endpoint);
      } catch {
        // already disconnected or closed
      }
    };
    for (const type of ["handshake:error:protocol", "handshake:error:auth", "handshake:error:other"] as const) this.socket.events.on(type, refused);
    this.socket.connect(endpoint);
    void this.receiveLoop();
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        let reply;
        try {
          reply = decodeReply(frames, this.maxBytes);
        } catch (error) {
          // A reply we cannot read cannot be matched to its request: fail everything in flight.
          this.fail(error instanceof SencacheError ? error : new ProtocolError(String(error)));
          continue;
        }
        const waiter = this.take(reply.id);
        if (!waiter) continue; // a late reply to a request that timed out or was aborted
        if (reply.ok) {
          try {
            const result = parseResult(waiter.op, reply.result, reply.tensors);
            if (waiter.op === "hello") this.serverMaxBytes = (result as HelloResult).maxMessageBytes;
            waiter.resolve(result);
          } catch (error) {
            waiter.reject(error);
          }
        } else {
          waiter.reject(new WorkerError(reply.error.code, reply.error.message, waiter.op));
        }
      }
    } catch (error) {
      if (!this.closed) this.fail(new ProtocolError(`The connection to the worker broke (${String(error)}); restart the worker.`));
    }
  }

  /** Reject every request in flight and all future ones with `error` (e.g. the worker died). */
  fail(error: SencacheError): void {
    this.failure ??= error;
    for (const id of [...this.pending.keys()]) this.take(id)?.reject(error);
  }

  /** Remove a request from the map (replied, failed, timed out or aborted) and drop its abort listener. */
  private take(id: number): Pending | undefined {
    const waiter = this.pending.get(id);
    if (waiter === undefined) return undefined;
    this.pending.delete(id);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener("abort", waiter.onAbort);
    if (this.pending.size === 0) this.timer?.unref();
    return waiter;
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined && this.timerAt <= deadline) {
      this.timer.ref();
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(deadline - performance.now())));
  }

  /** Time out the expired requests and re-arm for the earliest deadline left. */
  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, waiter] of this.pending) {
      if (waiter.deadline > now) {
        next = Math.min(next, waiter.deadline);
        continue;
      }
      this.take(id);
      waiter.reject(
        new WorkerTimeoutError(
          `The worker did not answer "${waiter.op}" within ${waiter.timeoutMs} ms; it may be overloaded or hung — raise the timeout or restart it.`,
        ),
      );
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  request<O extends Op>(req: Extract<Request, { op: O }>, options: RequestOptions = {}): Promise<ResultOf[O]> {
    return this.send<O>(req.op as O, (id) => encodeRequest(id, req), options);
  }

  /**
   * Send frames the caller built; the reply is matched by id. Keyed by a symbol that the package does
   * not export, so it is no part of the public client: test/helpers/raw-requests.ts uses it to send
   * malformed input to the worker.
   */
  [SEND_FRAMES]<O extends Op>(op: O, build: (id: number) => Buffer[], options: RequestOptions = {}): Promise<ResultOf[O]> {
    return this.send(op, build, options);
  }

  private send<O extends Op>(op: O, build: (id: number) => Buffer[], options: RequestOptions): Promise<ResultOf[O]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ProtocolError("The worker client is closed; create a new one."));
    if (options.signal?.aborted) return Promise.reject(new AbortError());
    const id = this.nextId++;
    const frames = build(id);
    const bytes = frames.slice(1).reduce((sum, f) => sum + f.byteLength, 0);
    if (bytes > this.serverMaxBytes) {
      return Promise.reject(
        new WorkerError(
          "too_large",
          `"${op}" carries ${bytes} tensor bytes, more than the worker's limit of ${this.serverMaxBytes}; send smaller batches or start the worker with ` +
            `a larger --max-message-bytes.`,
          op,
        ),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const signal = options.signal;
    return new Promise<ResultOf[O]>((resolve, reject) => {
      const deadline = performance.now() + timeoutMs;
      const waiter: Pending = { op, deadline, timeoutMs, signal, onAbort: undefined, resolve: resolve as (v: unknown) => void, reject };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.take(id);
          reject(new AbortError());
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.pending.set(id, waiter);
      this.arm(waiter.deadline);
      this.outbox.push({ id, op, frames });
      if (!this.sending) void this.pump();
    });
  }

  /** Send the outbox in order, one message at a time. */
  private async pump(): Promise<void> {
    this.sending = true;
    for (let next = this.outbox.shift(); next !== undefined; next = this.outbox.shift()) {
      try {
        await this.socket.send(next.frames);
        this.sentMessages++;
        this.sentByOp.set(next.op, (this.sentByOp.get(next.op) ?? 0) + 1);
      } catch (error) {
        this.take(next.id)?.reject(new ProtocolError(`Sending "${next.op}" to the worker failed (${String(error)}); restart the worker.`));
      }
    }
    this.sending = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fail(new ProtocolError("The worker client was closed while a request was in flight."));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket.close();
  }
}
