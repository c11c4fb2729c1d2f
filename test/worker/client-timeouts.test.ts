/** WorkerClient's one shared timeout timer: each request still times out after its own timeoutMs, an abort or a reply ends only its own. */
import test from "ava";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Router } from "zeromq";
import { AbortError, WorkerTimeoutError } from "../../ts/errors.js";
import { WorkerClient } from "../../ts/worker/client.js";
import { decodeFrames, encodeFrames } from "../../ts/worker/frames.js";

test("requests with different timeouts time out in their own order; an abort ends one; a reply resolves one", async (t) => {
  const endpoint = `ipc://${join(mkdtempSync(join(tmpdir(), "sencache-timeouts-")), "r.sock")}`;
  const router = new Router({ linger: 0 });
  await router.bind(endpoint);
  const client = new WorkerClient(endpoint);
  try {
    const start = performance.now();
    const settled = (p: Promise<unknown>) => p.then(() => ["ok", performance.now() - start], (e: unknown) => [e, performance.now() - start] as const);
    const long = settled(client.request({ op: "ping" }, { timeoutMs: 600 }));
    const short = settled(client.request({ op: "ping" }, { timeoutMs: 150 }));
    const controller = new AbortController();
    const aborted = settled(client.request({ op: "ping" }, { timeoutMs: 600, signal: controller.signal }));
    const answered = settled(client.request({ op: "ping" }, { timeoutMs: 600 }));
    // Answer only the fourth request (id 4); the others never get a reply.
    for (let seen = 0; seen < 4; seen++) {
      const [identity, ...frames] = await router.receive();
      const { header } = decodeFrames(frames as Buffer[]);
      if (header["id"] === 4) await router.send([identity as Buffer, ...encodeFrames({ v: 1, op: "ping", id: 4, ok: true, result: {} })]);
    }
    controller.abort();
    const [s, a, r, l] = await Promise.all([short, aborted, answered, long]);
    t.true(WorkerTimeoutError.isInstance(s[0]), String(s[0]));
    t.true((s[1] as number) >= 140 && (s[1] as number) < 550, `short timed out after ${String(s[1])} ms`);
    t.true(a[0] instanceof AbortError, String(a[0]));
    t.is(r[0], "ok");
    t.true(WorkerTimeoutError.isInstance(l[0]), String(l[0]));
    t.true((l[1] as number) >= 590, `long timed out after ${String(l[1])} ms`);
    t.regex((l[0] as Error).message, /within 600 ms/);
    t.is(client.inFlight, 0);
  } finally {
    client.close();
    router.close();
  }
});
