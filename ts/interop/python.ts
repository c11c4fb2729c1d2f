/**
 * Mixed TypeScript/Python pipelines through pythonia: call a user's Python function from a TS
 * pipeline (a prompt rewriter, a media loader, a custom metric). Control calls only — data crosses as
 * JSON (~0.1 ms a call, ~0.4 s per MiB), so it is never on the per-step path; tensors go through the
 * worker's ZeroMQ bridge.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { InvalidInputError, SencacheError } from "../errors.js";
import { defaultPython } from "../worker/supervisor.js";

/** `path/to/file.py:function` or `package.module:function`. */
export interface PythonFunctionRef {
  readonly module: string;
  readonly fn: string;
}

export function parseFunctionRef(spec: string): PythonFunctionRef {
  const at = spec.lastIndexOf(":");
  const module = spec.slice(0, at);
  const fn = spec.slice(at + 1);
  if (at <= 0 || !/^[A-Za-z_]\w*$/.test(fn)) {
    throw new InvalidInputError(`"${spec}" does not name a Python function; write it as path/to/file.py:function or package.module:function.`);
  }
  if (module.endsWith(".py")) {
    const path = isAbsolute(module) ? module : resolve(module);
    if (!existsSync(path)) throw new InvalidInputError(`The Python file ${path} does not exist; check the path before ":${fn}".`);
    return { module: path, fn };
  }
  return { module, fn };
}

type PythoniaModule = typeof import("pythonia");
let bridge: Promise<PythoniaModule> | undefined;

/** Start pythonia once, on the project's Python (it reads $PYTHON_BIN at import time). */
function pythonia(): Promise<PythoniaModule> {
  if (!bridge) {
    process.env["PYTHON_BIN"] ??= defaultPython();
    bridge = import("pythonia");
  }
  return bridge;
}

/** Call a Python function with JSON-able arguments and return its JSON-able result. */
export async function callPython<T>(ref: PythonFunctionRef | string, ...args: unknown[]): Promise<T> {
  const { module, fn } = typeof ref === "string" ? parseFunctionRef(ref) : ref;
  const { python } = await pythonia();
  try {
    const mod = await python(module);
    const f = await mod[fn];
    const result: unknown = await f(...args);
    if (result === null || typeof result !== "object" && typeof result !== "function") return result as T;
    // Containers come back as proxies of Python objects: serialise them on the Python side.
    const json = await python("json");
    return JSON.parse((await json.dumps(result)) as string) as T;
  } catch (error) {
    if (SencacheError.isInstance(error)) throw error;
    // pythonia puts the Python exception in the stack text ("*** JS *** ValueError: …").
    const text = String((error as Error)?.stack ?? error);
    const cause = /\*\*\* JS \*\*\* (.+)$/m.exec(text)?.[1] ?? text.split("\n").find(Boolean) ?? "unknown error";
    throw new SencacheError("python_call_failed", `The Python function ${module}:${fn} failed (${cause.trim()}); fix it or leave it out.`, { cause: error });
  }
}

/** A prompt hook: a Python function `str -> str` applied to each prompt before it is encoded. */
export function pythonPromptHook(spec: string): (prompt: string) => Promise<string> {
  const ref = parseFunctionRef(spec);
  return async (prompt) => {
    const out = await callPython<unknown>(ref, prompt);
    if (typeof out !== "string") throw new InvalidInputError(
      `The prompt hook ${spec} returned ${typeof out}, not a string; make it return the rewritten prompt.`,
    );
    return out;
  };
}

/** Stop the Python side of pythonia (lets the Node process exit). Safe to call when it never started. */
export async function closePython(): Promise<void> {
  if (!bridge) return;
  const { python } = await bridge;
  python.exit();
  bridge = undefined;
}
