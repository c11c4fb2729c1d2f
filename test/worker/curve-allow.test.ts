/**
 * A CURVE worker with a client allow-list (`--curve-allow`): the listed client's key completes the
 * handshake; another persistent key or a fresh (ephemeral) one is a typed auth error within a bound
 * that says what to do; the worker serves the allowed client on after refusing others. One real worker
 * on loopback tcp:// for all of them; the key-file checks need no worker.
 */
import test from "ava";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidInputError, SencacheError, WorkerAuthError } from "../../ts/errors.js";
import { WorkerClient } from "../../ts/worker/client.js";
import { readPoolFile } from "../../ts/worker/pool-file.js";
import { clientKeyPair, curvePublicOf, readKey, writeKeyPair } from "../../ts/worker/security.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";

const port = 20_000 + ((process.pid + 7_919) % 20_000);
const endpoint = `tcp://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), "sencache-allow-"));
const server = writeKeyPair(dir, "worker");
const allowed = writeKeyPair(dir, "client");
const stranger = writeKeyPair(dir, "stranger");
const allowDir = join(dir, "allowed");
mkdirSync(allowDir);
copyFileSync(allowed.publicFile, join(allowDir, "client.public"));
let worker: WorkerProcess;

test.before(async () => {
  worker = await WorkerProcess.start({
    device: "cpu",
    threads: 1,
    endpoint,
    args: ["--curve-secret", server.secretFile, "--curve-allow", allowDir],
    curveServerKey: server.publicFile,
    curveClientKey: allowed.secretFile,
  });
});

test.after.always(async () => {
  await worker?.shutdown();
});

/** A hello from a client with `curveClientKey` (or none): the error it ends in (undefined: served), and how long that took. */
async function refusal(curveClientKey: string | undefined): Promise<{ error: unknown; ms: number }> {
  const client = new WorkerClient(endpoint, { curveServerKey: server.publicFile, ...(curveClientKey ? { curveClientKey } : {}) });
  const started = Date.now();
  try {
    await client.request({ op: "hello", client: "t" }, { timeoutMs: 20_000 });
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  } finally {
    client.close();
  }
}

test.serial("the listed client's key is served, by the spawning client and by a second connection with the same key", async (t) => {
  t.is((await worker.client.request({ op: "hello", client: "t" })).protocol, 1);
  const again = new WorkerClient(endpoint, { curveServerKey: server.publicFile, curveClientKey: allowed.secretFile });
  try {
    t.is((await again.request({ op: "hello", client: "t2" }, { timeoutMs: 10_000 })).pid, worker.hello.pid);
  } finally {
    again.close();
  }
});

test.serial("another client key is refused: WorkerAuthError within 5 s naming its public key and --curve-allow", async (t) => {
  const { error, ms } = await refusal(stranger.secretFile);
  t.true(WorkerAuthError.isInstance(error) && (error as SencacheError).code === "auth", String(error));
  t.true(ms < 5_000, `refused after ${ms} ms`);
  t.regex((error as Error).message, /--curve-allow/);
  t.true((error as Error).message.includes(stranger.publicKey), (error as Error).message);
  t.true((error as Error).message.includes(stranger.publicFile), (error as Error).message);
  const inline = await refusal(clientKeyPair(stranger.secretFile).secretKey); // a key given inline is not echoed into the message
  t.true(WorkerAuthError.isInstance(inline.error) && !(inline.error as Error).message.includes(clientKeyPair(stranger.secretFile).secretKey));
});

test.serial("a client without a key of its own (a fresh pair) is refused, told to make one", async (t) => {
  const { error, ms } = await refusal(undefined);
  t.true(WorkerAuthError.isInstance(error), String(error));
  t.true(ms < 5_000, `refused after ${ms} ms`);
  t.regex((error as Error).message, /sencache keys new --name client/);
  t.regex((error as Error).message, /--curve-client-key/);
});

test.serial("the worker serves the allowed client on after refusing others, and logged the refused key once", async (t) => {
  for (let i = 0; i < 3; i++) t.true(WorkerAuthError.isInstance((await refusal(stranger.secretFile)).error));
  t.truthy(await worker.client.request({ op: "ping" }, { timeoutMs: 10_000 }));
  t.is((await worker.client.request({ op: "hello", client: "t" }, { timeoutMs: 10_000 })).pid, worker.hello.pid);
  for (let i = 0; i < 40 && !worker.stderr.includes(stranger.publicKey); i++) await new Promise((r) => setTimeout(r, 50));
  t.is(worker.stderr.split(stranger.publicKey).length - 1, 1, worker.stderr);
});

test.serial("a key added to the listed folder is served from the next connection on (within ~1 s), without a restart", async (t) => {
  copyFileSync(stranger.publicFile, join(allowDir, "stranger.public"));
  await new Promise((r) => setTimeout(r, 1_100));
  try {
    t.is((await refusal(stranger.secretFile)).error, undefined);
  } finally {
    rmSync(join(allowDir, "stranger.public"));
  }
  await new Promise((r) => setTimeout(r, 1_100));
  t.true(WorkerAuthError.isInstance((await refusal(stranger.secretFile)).error), "removed again: refused");
  t.truthy(await worker.client.request({ op: "ping" }, { timeoutMs: 10_000 }));
});

test("a client key's public half is derived from its secret, as libsodium does", (t) => {
  t.is(curvePublicOf(readKey(allowed.secretFile)), allowed.publicKey);
  t.is(clientKeyPair(stranger.secretFile).publicKey, stranger.publicKey);
});

test("key-file mistakes are InvalidInputErrors that name the file and say what to give", (t) => {
  const pub = t.throws(() => clientKeyPair(allowed.publicFile), { instanceOf: InvalidInputError });
  t.regex(pub.message, /\.secret file, not .*client\.public.*--curve-allow/);
  const missing = t.throws(() => clientKeyPair(join(dir, "nope.secret")), { instanceOf: InvalidInputError });
  t.regex(missing.message, /nope\.secret.*sencache keys new --name client/);
  const junk = join(dir, "junk.secret");
  writeFileSync(junk, "not a key\n");
  t.regex(t.throws(() => clientKeyPair(junk)).message, /junk\.secret does not hold a 40-character Z85 CURVE key/);
  const odd = join(dir, "odd");
  mkdirSync(odd);
  copyFileSync(allowed.secretFile, join(odd, "me.secret"));
  copyFileSync(stranger.publicFile, join(odd, "me.public"));
  t.regex(t.throws(() => clientKeyPair(join(odd, "me.secret"))).message, /me\.public is not the public key of .*me\.secret/);
  const alone = t.throws(() => new WorkerClient(endpoint, { curveClientKey: allowed.secretFile }), { instanceOf: InvalidInputError });
  t.regex(alone.message, /--curve-server-key/);
});

test("a pool file line may give this client's key as a third field, relative to the file", (t) => {
  const file = join(dir, "pool.txt");
  writeFileSync(file, `tcp://a:5555 worker.public client.secret\ntcp://b:5555 worker.public\n`);
  t.deepEqual(readPoolFile(file), [
    { endpoint: "tcp://a:5555", curveServerKey: join(dir, "worker.public"), curveClientKey: join(dir, "client.secret") },
    { endpoint: "tcp://b:5555", curveServerKey: join(dir, "worker.public") },
  ]);
  const json = join(dir, "pool.json");
  writeFileSync(json, JSON.stringify({ workers: [{ endpoint: "tcp://a:5555", curveServerKey: "worker.public", curveClientKey: "client.secret" }] }));
  t.is(readPoolFile(json)[0]?.curveClientKey, join(dir, "client.secret"));
});
