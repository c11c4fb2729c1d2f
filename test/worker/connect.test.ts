/** `openWorker({ connect })` with nothing listening: the wait is the caller's timeout and the error says nothing may be there. */
import test from "ava";
import { createServer } from "node:net";
import { WorkerTimeoutError } from "../../ts/errors.js";
import { openWorker } from "../../ts/worker/open.js";

/** A TCP port that was free a moment ago (nothing listens on it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}

test("connecting where no worker listens fails after timeoutMs, saying nothing may be listening there", async (t) => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const error = await t.throwsAsync(openWorker({ connect: endpoint, timeoutMs: 300 }));
  t.true(WorkerTimeoutError.isInstance(error), String(error));
  t.regex(error!.message, new RegExp(`No worker answered at ${endpoint} within 0.3 s`));
  t.regex(error!.message, /nothing may be listening there/);
  t.regex(error!.message, /sencache worker --endpoint/);
  t.notRegex(error!.message, /overloaded or hung/);
});
