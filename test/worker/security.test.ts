/**
 * Authenticated remote workers: a CURVE worker refuses a client without (or with the wrong) key as a
 * typed error within a bounded time, and a worker asked to serve a non-loopback tcp:// endpoint without
 * CURVE refuses to start unless --insecure; clients refuse such endpoints too.
 */
import test from "ava";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { curveKeyPair } from "zeromq";
import { InvalidInputError, SencacheError, WorkerDiedError } from "../../ts/errors.js";
import { WorkerClient } from "../../ts/worker/client.js";
import { isRemoteEndpoint, writeKeyPair } from "../../ts/worker/security.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";

const port = 20_000 + (process.pid % 20_000);
const keys = writeKeyPair(mkdtempSync(join(tmpdir(), "sencache-keys-")));
const mine = writeKeyPair(mkdtempSync(join(tmpdir(), "sencache-keys-")), "client");
let worker: WorkerProcess;

test.before(async () => {
  worker = await WorkerProcess.start(
    { device: "cpu", threads: 1, endpoint: `tcp://127.0.0.1:${port}`, args: ["--curve-secret", keys.secretFile], curveServerKey: keys.publicFile },
  );
});

test.after.always(async () => {
  await worker?.shutdown();
});

test("loopback and ipc endpoints are local; wildcards, addresses and host names are remote", (t) => {
  for (const e of ["ipc:///tmp/x.sock", "tcp://127.0.0.1:5555", "tcp://localhost:1", "tcp://[::1]:5555"]) t.false(isRemoteEndpoint(e), e);
  for (const e of ["tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.1.2.3:5555", "tcp://gpu-box:5555", "tcp://[::]:5555"]) t.true(isRemoteEndpoint(e), e);
});

test("a client with the worker's public key is served", async (t) => {
  t.is((await worker.client.request({ op: "hello", client: "t" })).protocol, 1);
});

test("without --curve-allow a client with a key pair of its own is served like one with a fresh pair", async (t) => {
  const client = new WorkerClient(`tcp://127.0.0.1:${port}`, { curveServerKey: keys.publicFile, curveClientKey: mine.secretFile });
  try {
    t.is((await client.request({ op: "hello", client: "t" }, { timeoutMs: 10_000 })).pid, worker.hello.pid);
  } finally {
    client.close();
  }
});

const refused = async (t: import("ava").ExecutionContext, curveServerKey: string | undefined): Promise<void> => {
  const client = new WorkerClient(`tcp://127.0.0.1:${port}`, curveServerKey ? { curveServerKey } : {});
  const started = Date.now();
  const error = await t.throwsAsync(client.request({ op: "hello", client: "t" }, { timeoutMs: 20_000 }));
  const elapsed = Date.now() - started;
  // The refused client stops knocking: libzmq retried a failed handshake every few hundred ms while it stayed connected.
  const failures = client.handshakeFailures;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const later = client.handshakeFailures;
  client.close();
  t.true(SencacheError.isInstance(error) && error.code === "auth", String(error));
  t.true(elapsed < 10_000, `refused after ${elapsed} ms`);
  t.true(later - failures <= 1, `${later - failures} more handshake failures in 1.5 s after the refusal`);
};

test("a CURVE worker refuses a client without the key: typed auth error, not a hang", (t) => refused(t, undefined));
test("a CURVE worker refuses a client with the wrong key: typed auth error, not a hang", (t) => refused(t, curveKeyPair().publicKey));

test("a worker will not serve a non-loopback endpoint without CURVE unless --insecure", async (t) => {
  const error = await t.throwsAsync(
    WorkerProcess.start({ device: "cpu", threads: 1, endpoint: `tcp://0.0.0.0:${port + 1}`, insecure: true, startTimeoutMs: 60_000 }),
  );
  t.true(error instanceof WorkerDiedError, String(error));
  t.regex(worker.stderr + (error as WorkerDiedError).stderr, /--insecure/);
});

test("a client will not reach a non-loopback endpoint without CURVE unless insecure", (t) => {
  t.throws(() => new WorkerClient(`tcp://10.255.255.1:${port}`), { instanceOf: InvalidInputError });
  new WorkerClient(`tcp://10.255.255.1:${port}`, { insecure: true }).close();
});
