/** The pool file (`--pool`): the running workers a pool connects to, with their CURVE keys. */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { InvalidInputError } from "../errors.js";
import type { PoolEndpoint } from "./pool.js";

/**
 * The workers listed in a pool file: one endpoint per line (`#` starts a comment; an optional second
 * field is that worker's CURVE public key file, an optional third this client's secret key file for a
 * worker with `--curve-allow`), or JSON `{"workers": [{"endpoint", "curveServerKey"?, "curveClientKey"?}]}`.
 * Key file paths are relative to the pool file's folder.
 */
export function readPoolFile(path: string): PoolEndpoint[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new InvalidInputError(`Cannot read the pool file ${path}; give a file with one worker endpoint per line.`);
  }
  const file = (k: string): string => (k.length === 40 || isAbsolute(k) ? k : join(dirname(path), k));
  const key = (server: string | undefined, client?: string): { curveServerKey?: string; curveClientKey?: string } => ({
    ...(server !== undefined ? { curveServerKey: file(server) } : {}),
    ...(client !== undefined ? { curveClientKey: file(client) } : {}),
  });
  let workers: PoolEndpoint[];
  if (text.trimStart().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InvalidInputError(`The pool file ${path} is not valid JSON; write {"workers": [{"endpoint": "tcp://host:5555"}]} or one endpoint per line.`);
    }
    const list = (parsed as { workers?: unknown }).workers;
    if (!Array.isArray(list) || !list.every((w) => typeof w === "object" && w !== null && typeof (w as PoolEndpoint).endpoint === "string")) {
      throw new InvalidInputError(`The pool file ${path} needs "workers": [{"endpoint": "tcp://host:5555", "curveServerKey"?: "worker.public"}].`);
    }
    workers = (list as PoolEndpoint[]).map((w) => ({
      endpoint: w.endpoint,
      ...key(w.curveServerKey, w.curveClientKey),
      ...(w.insecure ? { insecure: true } : {}),
    }));
  } else {
    workers = text
      .split("\n")
      .map((l) => (l.split("#")[0] ?? "").trim())
      .filter(Boolean)
      .map((l) => {
        const [endpoint, server, client] = l.split(/\s+/);
        return { endpoint: endpoint as string, ...key(server, client) };
      });
  }
  if (workers.length === 0) throw new InvalidInputError(`The pool file ${path} lists no workers; write one endpoint per line.`);
  return workers;
}
