/**
 * Who may reach a worker. A `tcp://` endpoint that other machines can reach needs CURVE: the worker
 * runs with `--curve-secret <name>.secret`, clients with `curveServerKey` (`--curve-server-key
 * <name>.public`); `sencache keys new` makes the pair. Loopback `tcp://` and `ipc://` stay plain.
 * Without CURVE a remote endpoint is refused unless the caller says `insecure`.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { curveKeyPair } from "zeromq";
import { InvalidInputError } from "../errors.js";

export const Z85_KEY_LENGTH = 40;

/** True for a `tcp://` endpoint that is not a loopback address or `localhost`. */
export function isRemoteEndpoint(endpoint: string): boolean {
  if (!endpoint.startsWith("tcp://")) return false;
  const m = /^tcp:\/\/(?:\[([^\]]+)\]|([^:/]*)):[^/]+$/.exec(endpoint);
  if (!m) return true;
  const host = (m[1] ?? m[2] ?? "").toLowerCase();
  if (host === "localhost") return false;
  if (isIP(host) === 4) return !host.startsWith("127.");
  if (isIP(host) === 6) return host !== "::1" && host !== "0:0:0:0:0:0:0:1";
  return true; // a host name or "*": assume other machines reach it
}

/** A Z85 CURVE key given inline (40 characters) or as a key file whose first line is the key. */
export function readKey(pathOrKey: string): string {
  let key = pathOrKey;
  if (pathOrKey.length !== Z85_KEY_LENGTH || existsSync(pathOrKey)) {
    try {
      key = (readFileSync(pathOrKey, "ascii").split("\n")[0] ?? "").trim();
    } catch {
      throw new InvalidInputError(`Cannot read the CURVE key file ${pathOrKey}; give the worker's .public file from "sencache keys new".`);
    }
  }
  if (key.length !== Z85_KEY_LENGTH || !/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]+$/.test(key)) {
    throw new InvalidInputError(`${pathOrKey} does not hold a 40-character Z85 CURVE key; give the worker's .public file from "sencache keys new".`);
  }
  return key;
}

export interface SecurityOptions {
  /** The worker's CURVE public key (Z85, or a key file): required for a remote tcp:// worker. */
  readonly curveServerKey?: string;
  /** Allow a remote tcp:// worker without CURVE (anyone on the path can read and forge messages). */
  readonly insecure?: boolean;
}

/** Throw InvalidInputError when `endpoint` is remote and neither CURVE nor `insecure` is set. */
export function checkEndpoint(endpoint: string, options: SecurityOptions): void {
  if (isRemoteEndpoint(endpoint) && !options.curveServerKey && !options.insecure) {
    throw new InvalidInputError(
      `${endpoint} is on another machine and the connection would be neither encrypted nor authenticated; pass the worker's public key ` +
        `(--curve-server-key <name>.public, from "sencache keys new"), or --insecure on a network you trust.`,
    );
  }
}

export interface KeyFiles {
  readonly secretFile: string;
  readonly publicFile: string;
  readonly publicKey: string;
}

/** Write a fresh CURVE key pair: `<dir>/<name>.secret` (mode 0600, for the worker) and `<dir>/<name>.public` (for clients). */
export function writeKeyPair(dir: string, name = "worker", overwrite = false): KeyFiles {
  mkdirSync(dir, { recursive: true });
  const secretFile = join(dir, `${name}.secret`);
  const publicFile = join(dir, `${name}.public`);
  if (!overwrite && (existsSync(secretFile) || existsSync(publicFile))) {
    throw new InvalidInputError(`${secretFile} or ${publicFile} exists already; pick another --name or pass --force to replace them.`);
  }
  const { publicKey, secretKey } = curveKeyPair();
  writeFileSync(secretFile, `${secretKey}\n`, { mode: 0o600 });
  chmodSync(secretFile, 0o600);
  writeFileSync(publicFile, `${publicKey}\n`, { mode: 0o644 });
  return { secretFile, publicFile, publicKey };
}
