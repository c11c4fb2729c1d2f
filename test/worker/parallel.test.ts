/**
 * Context parallelism under torchrun: `torchrun --nproc_per_node 2 -m sencache_worker` on CPU (gloo), diffusers'
 * Ulysses attention over the two ranks. Rank 0 speaks ZeroMQ and broadcasts every compute request to rank 1; the
 * TS client is the ordinary one. A sample through it is bit-identical to the same sample on a one-process worker,
 * a latent whose token count does not split over the ranks is a typed `bad_shape`, and shutdown ends both ranks.
 */
import test from "ava";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { float32Tensor } from "../../ts/worker/tensors.js";
import { openWorker } from "../../ts/worker/open.js";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

test("a sample across two torchrun ranks equals the one-process sample, bit for bit", async (t) => {
  t.timeout(180_000, "two ranks and a reference worker start on a loaded 2-core machine");
  const dir = tinyModelDir();
  const endpoint = `ipc://${join(mkdtempSync(join(tmpdir(), "sencache-cp-")), "w.sock")}`;
  const ranks = spawn(
    join(PACKAGE_ROOT, ".venv", "bin", "torchrun"),
    ["--standalone", "--nproc_per_node", "2", "-m", "sencache_worker", "--endpoint", endpoint, "--device", "cpu", "--threads", "1",
      "--batching", "request"],
    { cwd: join(PACKAGE_ROOT, "py"), env: { ...process.env, PYTHONPATH: join(PACKAGE_ROOT, "py"), OMP_WAIT_POLICY: "PASSIVE", HF_HUB_OFFLINE: "1" },
      stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  ranks.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
  const exited = new Promise<number | null>((res) => ranks.once("exit", (code) => res(code)));
  const [cp, one] = await Promise.all([
    openWorker({ connect: endpoint, startTimeoutMs: 150_000 }),
    openWorker({ device: "cpu", threads: 1, args: ["--batching", "request"], startTimeoutMs: 150_000 }),
  ]);
  try {
    const options = { prompt: "a red circle moving right", seed: 11, steps: 3, height: 32, width: 32, numFrames: 9, decode: false } as const;
    const [a, b] = await Promise.all([
      Model.load(cp.client, dir).then((m) => generate(m, options)),
      Model.load(one.client, dir).then((m) => generate(m, options)),
    ]);
    t.deepEqual(a.latentShape, b.latentShape);
    t.is(Buffer.compare(Buffer.from(a.latent.buffer, a.latent.byteOffset, a.latent.byteLength),
      Buffer.from(b.latent.buffer, b.latent.byteOffset, b.latent.byteLength)), 0, "context-parallel latents differ from one process");

    // 3 x 3 x 3 = 27 latent tokens do not split over 2 ranks: refused before the forward, with a typed error
    const loaded = await cp.client.request({ op: "load", source: dir });
    const [model, c] = [loaded.model, loaded.latent.channels];
    const cond = (await cp.client.request({ op: "encodePrompt", model, text: "a red square" })).cond;
    const x = float32Tensor(new Float32Array(c * 3 * 6 * 6), [1, c, 3, 6, 6]);
    const error = await t.throwsAsync(cp.client.request({ op: "denoise", model, items: [{ cond, t: 500, branch: "cond" }], x }));
    t.regex(String((error as { code?: string }).code), /bad_shape/);
    t.regex(error!.message, /do not split over 2 context-parallel ranks/);
    await cp.client.request({ op: "shutdown" });
    t.is(await exited, 0, stderr);
  } finally {
    ranks.kill("SIGTERM");
    await cp.close();
    await one.close();
  }
});
