/**
 * A ZeroMQ DEALER client for one worker: one receive loop resolving a map of pending requests by id,
 * a send queue (ZeroMQ allows one pending send per socket), per-request timeouts and `signal`.
 */
import { curveKeyPair, Dealer } from "zeromq";
import { AbortError, ProtocolError, SencacheError, WorkerAuthError, WorkerError, WorkerTimeoutError } from "../errors.js";
import { decodeReply, encodeRequest, parseResult, type HelloResult, type Op, type Request, type ResultOf } from "./codec.js";
import { checkEndpoint, readKey, type SecurityOptions } from "./security.js";

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
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class WorkerClient {
  readonly endpoint: string;
  private readonly socket: Dealer;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private sendChain: Promise<void> = Promise.resolve();
  private failure: SencacheError | undefined;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private closed = false;
  /** The worker's limit from `hello`: larger requests are refused here instead of being dropped by the worker's transport. */
  private serverMaxBytes = Number.POSITIVE_INFINITY;
  /** Messages sent, in all and per op (a test counts them to show that a skipped step sends nothing). */
  sentMessages = 0;
  readonly sentByOp = new Map<Op, number>();

  constructor(endpoint: string, options: ClientOptions = {}) {
    this.endpoint = endpoint;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxBytes = options.maxMessageBytes ?? 2 ** 30;
    checkEndpoint(endpoint, options);
    this.socket = new Dealer({ linger: 0, maxMessageSize: this.maxBytes + (1 << 20) });
    if (options.curveServerKey) {
      const mine = curveKeyPair();
      this.socket.curveServerKey = readKey(options.curveServerKey);
      this.socket.curvePublicKey = mine.publicKey;
      this.socket.curveSecretKey = mine.secretKey;
    }
    // A wrong key (or a CURVE worker reached without one) fails the handshake, and libzmq retries
    // forever while requests wait: the first handshake failure is a typed error for everything.
    const refused = (event: { type: string }): void => {
      this.fail(
        new WorkerAuthError(
          options.curveServerKey
            ? `The worker at ${endpoint} refused the CURVE handshake (${event.type}); check that --curve-server-key is the .public file of the worker's key.`
            : `The worker at ${endpoint} refused the connection (${event.type}); it probably needs CURVE: pass its public key with --curve-server-key.`,
        ),
      );
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
        const waiter = this.pending.get(reply.id);
        if (!waiter) continue; // a late reply to a request that timed out or was aborted
        this.pending.delete(reply.id);
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
    for (const [id, waiter] of this.pending) {
      this.pending.delete(id);
      waiter.reject(error);
    }
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
    return new Promise<ResultOf[O]>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      };
      const timer = setTimeout(() => {
        this.pending.delete(id);
        cleanup();
        reject(
          new WorkerTimeoutError(`The worker did not answer "${op}" within ${timeoutMs} ms; it may be overloaded or hung — raise the timeout or restart it.`),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        this.pending.delete(id);
        cleanup();
        reject(new AbortError());
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        op,
        resolve: (v) => {
          cleanup();
          resolve(v as ResultOf[O]);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      });
      this.sendChain = this.sendChain
        .then(() => this.socket.send(frames))
        .then(() => {
          this.sentMessages++;
          this.sentByOp.set(op, (this.sentByOp.get(op) ?? 0) + 1);
        })
        .catch((error: unknown) => {
          const waiter = this.pending.get(id);
          this.pending.delete(id);
          waiter?.reject(new ProtocolError(`Sending "${op}" to the worker failed (${String(error)}); restart the worker.`));
        });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fail(new ProtocolError("The worker client was closed while a request was in flight."));
    this.socket.close();
  }
}
