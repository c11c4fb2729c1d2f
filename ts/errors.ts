/**
 * Typed errors. Every error the SDK raises is a `SencacheError` with a stable `code` and a message
 * that is one sentence saying what to do. `X.isInstance` works across copies of the package: each
 * class declares its own global symbol (`static brand = Symbol.for(…)`), not the prototype chain, so
 * `WorkerDiedError.isInstance` is true for worker-died errors only while `SencacheError.isInstance`
 * is true for all of them.
 */
/** True when `value` carries the brand `symbol` (set by the constructor of a branded class). */
export function hasBrand(value: unknown, symbol: symbol): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[symbol] === true;
}

type ErrorClass<T> = abstract new (...args: never[]) => T;

export class SencacheError extends Error {
  /** The brand of this class's instances; each subclass declares its own (`Symbol.for("sencache.<Name>")`). */
  static readonly brand: symbol = Symbol.for("sencache.error");
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    // Brand the instance with the brand of every class up its chain that declares one.
    for (let c: unknown = new.target; typeof c === "function" && c !== Error; c = Object.getPrototypeOf(c)) {
      if (Object.hasOwn(c, "brand")) (this as unknown as Record<symbol, boolean>)[(c as typeof SencacheError).brand] = true;
    }
  }
  /** True for an instance of this class (or a subclass) from any copy of the package. */
  static isInstance<T>(this: ErrorClass<T> & { readonly brand: symbol }, value: unknown): value is T {
    return hasBrand(value, this.brand);
  }
}

/** The worker answered with a typed error reply (`code` is the wire code: bad_shape, non_finite, …). */
export class WorkerError extends SencacheError {
  static override readonly brand = Symbol.for("sencache.WorkerError");
  readonly op: string;
  constructor(code: string, message: string, op: string) {
    super(code, message);
    this.op = op;
  }
}

/** A message from the worker could not be read, or broke the protocol. */
export class ProtocolError extends SencacheError {
  static override readonly brand = Symbol.for("sencache.ProtocolError");
  constructor(message: string) { super("protocol", message); }
}

/** The worker did not answer in time. */
export class WorkerTimeoutError extends SencacheError {
  static override readonly brand = Symbol.for("sencache.WorkerTimeoutError");
  constructor(message: string) { super("timeout", message); }
}

/** The worker process exited or stopped answering heartbeats. */
export class WorkerDiedError extends SencacheError {
  static override readonly brand = Symbol.for("sencache.WorkerDiedError");
  /** The last lines the worker wrote to stderr (a Python traceback, when there was one). */
  readonly stderr: string;
  constructor(message: string, stderr = "") {
    super("worker_died", message);
    this.stderr = stderr;
  }
}

/** A worker refused the connection: its CURVE key is not the one given, or it needs CURVE and none was given. */
export class WorkerAuthError extends SencacheError {
  static override readonly brand = Symbol.for("sencache.WorkerAuthError");
  constructor(message: string) { super("auth", message); }
}

/** The caller's input is invalid (a wrong option, shape, or a NaN the SDK caught before sending). */
export class InvalidInputError extends SencacheError {
  static override readonly brand = Symbol.for("sencache.InvalidInputError");
  constructor(message: string) { super("invalid_input", message); }
}

/** The operation was aborted through its `signal`. */
export class AbortError extends SencacheError {
  static override readonly brand = Symbol.for("sencache.AbortError");
  constructor(message = "The operation was aborted by its signal.") {
    super("aborted", message);
  }
}
