/**
 * Typed errors. Every error the SDK raises is a `SencacheError` with a stable `code` and a message
 * that is one sentence saying what to do. `SencacheError.isInstance` works across copies of the
 * package (it checks a global symbol, not the prototype chain).
 */
const marker = Symbol.for("sencache.error");

export class SencacheError extends Error {
  readonly [marker] = true;
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
  static isInstance(value: unknown): value is SencacheError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** The worker answered with a typed error reply (`code` is the wire code: bad_shape, non_finite, …). */
export class WorkerError extends SencacheError {
  readonly op: string;
  constructor(code: string, message: string, op: string) {
    super(code, message);
    this.op = op;
  }
}

/** A message from the worker could not be read, or broke the protocol. */
export class ProtocolError extends SencacheError {
  constructor(message: string) {
    super("protocol", message);
  }
}

/** The worker did not answer in time. */
export class WorkerTimeoutError extends SencacheError {
  constructor(message: string) {
    super("timeout", message);
  }
}

/** The worker process exited or stopped answering heartbeats. */
export class WorkerDiedError extends SencacheError {
  /** The last lines the worker wrote to stderr (a Python traceback, when there was one). */
  readonly stderr: string;
  constructor(message: string, stderr = "") {
    super("worker_died", message);
    this.stderr = stderr;
  }
}

/** The caller's input is invalid (a wrong option, shape, or a NaN the SDK caught before sending). */
export class InvalidInputError extends SencacheError {
  constructor(message: string) {
    super("invalid_input", message);
  }
}

/** The operation was aborted through its `signal`. */
export class AbortError extends SencacheError {
  constructor(message = "The operation was aborted by its signal.") {
    super("aborted", message);
  }
}
