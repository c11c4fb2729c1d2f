/**
 * Who may reach a worker. A `tcp://` endpoint that other machines can reach needs CURVE: the worker
 * runs with `--curve-secret <name>.secret`, clients with `curveServerKey` (`--curve-server-key
 * <name>.public`); `sencache keys new` makes the pair. Loopback `tcp://` and `ipc://` stay plain.
 * Without CURVE a remote endpoint is refused unless the caller says `insecure`. A worker started with
 * `--curve-allow` serves only the client keys it lists; such a client connects with `curveClientKey`
 * (`--curve-client-key <name>.secret`, from `sencache keys new --name client`) instead of a fresh key pair.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
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

const WORKER_KEY_HINT = `give the worker's .public file from "sencache keys new"`;
const CLIENT_KEY_HINT = `give this client's .secret file from "sencache keys new --name client"`;

/** A Z85 CURVE key given inline (40 characters) or as a key file whose first line is the key; `hint` says which file to give. */
export function readKey(pathOrKey: string, hint = WORKER_KEY_HINT): string {
  let key = pathOrKey;
  if (pathOrKey.length !== Z85_KEY_LENGTH || existsSync(pathOrKey)) {
    try {
      key = (readFileSync(pathOrKey, "ascii").split("\n")[0] ?? "").trim();
    } catch {
      throw new InvalidInputError(`Cannot read the CURVE key file ${pathOrKey}; ${hint}.`);
    }
  }
  if (key.length !== Z85_KEY_LENGTH || ![...key].every((c) => Z85.includes(c))) {
    throw new InvalidInputError(`${pathOrKey} does not hold a 40-character Z85 CURVE key; ${hint}.`);
  }
  return key;
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Z85 (ZeroMQ RFC 32) to bytes; `text` is a valid Z85 string of a multiple of 5 characters. */
function z85Decode(text: string): Buffer {
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) value = value * 85 + Z85.indexOf(text[i + j] as string);
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

function z85Encode(bytes: Buffer): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = bytes.readUInt32BE(i);
    let chunk = "";
    for (let j = 0; j < 5; j++, value = Math.floor(value / 85)) chunk = (Z85[value % 85] as string) + chunk;
    text += chunk;
  }
  return text;
}

/** The CURVE public key of a Z85 secret key (X25519 of the base point, as libsodium's crypto_box keys). */
export function curvePublicOf(secretKey: string): string {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), z85Decode(secretKey)]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
  return z85Encode(spki.subarray(spki.length - 32));
}

/**
 * A client's persistent key pair from its secret key (`<name>.secret`, or Z85 inline): the public key is derived, and a
 * `<name>.public` beside the secret must be its pair.
 */
export function clientKeyPair(pathOrKey: string): { readonly publicKey: string; readonly secretKey: string } {
  if (pathOrKey.endsWith(".public")) {
    throw new InvalidInputError(
      `--curve-client-key takes this client's .secret file, not ${pathOrKey}; the .public file is what the worker's operator lists with --curve-allow.`,
    );
  }
  const secretKey = readKey(pathOrKey, CLIENT_KEY_HINT);
  const publicKey = curvePublicOf(secretKey);
  const beside = pathOrKey.endsWith(".secret") ? `${pathOrKey.slice(0, -".secret".length)}.public` : undefined;
  if (beside !== undefined && existsSync(beside) && readKey(beside, CLIENT_KEY_HINT) !== publicKey) {
    throw new InvalidInputError(`${beside} is not the public key of ${pathOrKey}; make a fresh pair with "sencache keys new --name client --force".`);
  }
  return { publicKey, secretKey };
}

export interface SecurityOptions {
  /** The worker's CURVE public key (Z85, or a key file): required for a remote tcp:// worker. */
  readonly curveServerKey?: string;
  /**
   * This client's CURVE secret key (a `<name>.secret` file from `sencache keys new --name client`, or Z85): the client
   * connects with it and its derived public key, which a worker started with `--curve-allow` must list. Needs
   * `curveServerKey`. Default: a fresh key pair per connection (refused by a worker with an allow-list).
   */
  readonly curveClientKey?: string;
  /** Allow a remote tcp:// worker without CURVE (anyone on the path can read and forge messages). */
  readonly insecure?: boolean;
}

/** The security options that are set in `options` (to pass on without undefined fields). */
export function securityOf(options: SecurityOptions): SecurityOptions {
  return {
    ...(options.curveServerKey !== undefined ? { curveServerKey: options.curveServerKey } : {}),
    ...(options.curveClientKey !== undefined ? { curveClientKey: options.curveClientKey } : {}),
    ...(options.insecure !== undefined ? { insecure: options.insecure } : {}),
  };
}

/** Why a worker refused the handshake, and what to do: a handshake event's type and its ZAP status (400: not on the allow-list). */
export function refusalMessage(endpoint: string, options: SecurityOptions, event: { type: string; error?: unknown }, clientPublicKey?: string): string {
  const status = (event.error as { status?: unknown } | undefined)?.status;
  if (event.type === "handshake:error:auth" && status === 400 && options.curveServerKey) {
    const key = options.curveClientKey;
    // Name the secret key's file, never an inline secret key (messages end up in logs).
    const give = key?.endsWith(".secret") ? `${key.slice(0, -".secret".length)}.public (the public half of ${key})` : "a .public file holding it";
    return key
      ? `The worker at ${endpoint} does not allow this client's CURVE key ${clientPublicKey ?? ""} (it serves only the keys of its --curve-allow): ` +
          `give the worker's operator ${give} to add with --curve-allow.`
      : `The worker at ${endpoint} serves only the client keys of its --curve-allow, and this client has none: make one with ` +
          `"sencache keys new --name client", give client.public to the worker's operator for --curve-allow, and connect with ` +
          `--curve-client-key client.secret.`;
  }
  return options.curveServerKey
    ? `The worker at ${endpoint} refused the CURVE handshake (${event.type}); check that --curve-server-key is the .public file of the worker's key.`
    : `The worker at ${endpoint} refused the connection (${event.type}); it probably needs CURVE: pass its public key with --curve-server-key.`;
}

/** Throw InvalidInputError when `endpoint` is remote and neither CURVE nor `insecure` is set, or a client key comes without the server's. */
export function checkEndpoint(endpoint: string, options: SecurityOptions): void {
  if (options.curveClientKey && !options.curveServerKey) {
    throw new InvalidInputError(
      `A CURVE client key (--curve-client-key) needs the worker's public key too: pass --curve-server-key <name>.public (from "sencache keys new").`,
    );
  }
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

/**
 * Write a fresh CURVE key pair: `<dir>/<name>.secret` (mode 0600) and `<dir>/<name>.public`. A worker's pair: the secret for
 * `--curve-secret`, the public for its clients' `--curve-server-key`. A client's: the secret for `--curve-client-key`, the
 * public for the worker's `--curve-allow`.
 */
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
