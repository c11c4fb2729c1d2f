/**
 * Typed errors. Every error the SDK raises is a `SencacheError` with a stable `code` and a message
 * that is one sentence saying what to do. `X.isInstance` works across copies of the package: each
 * class brands its instances with its own global symbol (`Symbol.for`), not the prototype chain, so
 * `WorkerDiedError.isInstance` is true for worker-died errors only while `SencacheError.isInstance`
 * is true for all of them.
 */
const marker = Symbol.for("sencache.error");

/** True when `value` carries the brand `symbol` (set by the constructor of a branded class). */
export function hasBrand(value: unknown, symbol: symbol): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[symbol] === true;
}

export class SencacheError extends Error {
  readonly [marker] = true;
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
  static isInstance(value: unknown): value is SencacheError {
    return hasBrand(value, marker);
  }
}

const WORKER_ERROR_BRAND = Symbol.for("sencache.WorkerError");

/** The worker answered with a typed error reply (`code` is the wire code: bad_shape, non_finite, …). */
export class WorkerError extends SencacheError {
  readonly [WORKER_ERROR_BRAND] = true;
  static override isInstance(value: unknown): value is WorkerError {
    return hasBrand(value, WORKER_ERROR_BRAND);
  }
  readonly op: string;
  constructor(code: string, message: string, op: string) {
    super(code, message);
    this.op = op;
  }
}

const PROTOCOL_ERROR_BRAND = Symbol.for("sencache.ProtocolError");

/** A message from the worker could not be read, or broke the protocol. */
export class ProtocolError extends SencacheError {
  readonly [PROTOCOL_ERROR_BRAND] = true;
  static override isInstance(value: unknown): value is ProtocolError {
    return hasBrand(value, PROTOCOL_ERROR_BRAND);
  }
  constructor(message: string) {
    super("protocol", message);
  }
}

const WORKER_TIMEOUT_ERROR_BRAND = Symbol.for("sencache.WorkerTimeoutError");

/** The worker did not answer in time. */
export class WorkerTimeoutError extends SencacheError {
  readonly [WORKER_TIMEOUT_ERROR_BRAND] = true;
  static override isInstance(value: unknown): value is WorkerTimeoutError {
    return hasBrand(value, WORKER_TIMEOUT_ERROR_BRAND);
  }
  constructor(message: string) {
    super("timeout", message);
  }
}

const WORKER_DIED_ERROR_BRAND = Symbol.for("sencache.WorkerDiedError");

/** The worker process exited or stopped answering heartbeats. */
export class WorkerDiedError extends SencacheError {
  readonly [WORKER_DIED_ERROR_BRAND] = true;
  static override isInstance(value: unknown): value is WorkerDiedError {
    return hasBrand(value, WORKER_DIED_ERROR_BRAND);
  }
  /** The last lines the worker wrote to stderr (a Python traceback, when there was one). */
  readonly stderr: string;
  constructor(message: string, stderr = "") {
    super("worker_died", message);
    this.stderr = stderr;
  }
}

const WORKER_AUTH_ERROR_BRAND = Symbol.for("sencache.WorkerAuthError");

/** A worker refused the connection: its CURVE key is not the one given, or it needs CURVE and none was given. */
export class WorkerAuthError extends SencacheError {
  readonly [WORKER_AUTH_ERROR_BRAND] = true;
  static override isInstance(value: unknown): value is WorkerAuthError {
    return hasBrand(value, WORKER_AUTH_ERROR_BRAND);
  }
  constructor(message: string) {
    super("auth", message);
  }
}

const INVALID_INPUT_ERROR_BRAND = Symbol.for("sencache.InvalidInputError");

/** The caller's input is invalid (a wrong option, shape, or a NaN the SDK caught before sending). */
export class InvalidInputError extends SencacheError {
  readonly [INVALID_INPUT_ERROR_BRAND] = true;
  static override isInstance(value: unknown): value is InvalidInputError {
    return hasBrand(value, INVALID_INPUT_ERROR_BRAND);
  }
  constructor(message: string) {
    super("invalid_input", message);
  }
}

const ABORT_ERROR_BRAND = Symbol.for("sencache.AbortError");

/** The operation was aborted through its `signal`. */
export class AbortError extends SencacheError {
  readonly [ABORT_ERROR_BRAND] = true;
  static override isInstance(value: unknown): value is AbortError {
    return hasBrand(value, ABORT_ERROR_BRAND);
  }
  constructor(message = "The operation was aborted by its signal.") {
    super("aborted", message);
  }
}
