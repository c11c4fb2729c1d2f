/**
 * The real worker over real ZeroMQ: readiness, every bad-input case of proto/SPEC.md as a typed
 * WorkerError that leaves the worker serving, and a dead worker noticed within the timeout.
 */
import test from "ava";
import { existsSync } from "node:fs";
import { WorkerDiedError, WorkerError } from "../../ts/errors.js";
import { encodeRequest } from "../../ts/worker/codec.js";
import { encodeFrames } from "../../ts/worker/frames.js";
import { float32Tensor } from "../../ts/worker/tensors.js";
import { WorkerProcess, tracebackSummary } from "../../ts/worker/supervisor.js";
import { requestRaw, requestWith } from "../helpers/raw-requests.js";
import { tinyModelDir } from "../helpers/tiny.js";

let worker: WorkerProcess;
let model: string;
let cond: string;
let shape: number[];

test.before(async () => {
  const dir = tinyModelDir();
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
  const loaded = await worker.client.request({ op: "load", source: dir });
  model = loaded.model;
  cond = (await worker.client.request({ op: "encodePrompt", model, text: "a red square" })).cond;
  shape = [...(await worker.client.request({ op: "prepareLatents", model, seed: 0, height: 16, width: 16, numFrames: 5 })).latents.shape];
});

test.after.always(async () => {
  await worker?.shutdown();
});

const stillServing = async (t: import("ava").ExecutionContext): Promise<void> => {
  const stats = await worker.client.request({ op: "stats" });
  t.true(stats.messages > 0);
};

function latent(fill = 0.1, dims = shape): Float32Array {
  return new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill);
}

test("hello is the readiness announcement and reports the protocol and device", (t) => {
  t.is(worker.hello.protocol, 1);
  t.is(worker.hello.device, "cpu");
  t.true(worker.hello.maxMessageBytes > 0);
  // the request bounds, by their wire names (proto/SPEC.md "Limits"), including those of the media ops
  for (const name of ["max_frames", "max_pixels", "max_media_bytes", "max_source_frames", "max_source_pixels", "max_label_chars"]) {
    t.true(Number.isInteger(worker.hello.limits[name]) && (worker.hello.limits[name] as number) > 0, name);
  }
});

test("a denoise of one item returns one finite output of the same shape", async (t) => {
  const { out, items } = await worker.client.request({ op: "denoise", model, items: [{ cond, t: 500, branch: "cond" }], x: float32Tensor(latent(), shape) });
  t.is(items, 1);
  t.deepEqual(out.shape, shape);
  t.true(out.data.every(Number.isFinite));
});

const badCases: { name: string; code: string; send: () => Promise<unknown> }[] = [
  {
    name: "wrong latent shape",
    code: "bad_shape",
    send: () => worker.client.request(
      { op: "denoise", model, items: [{ cond, t: 500, branch: "cond" }], x: float32Tensor(latent(0.1, [1, 3, 1, 2, 2]), [1, 3, 1, 2, 2]) },
    ),
  },
  {
    name: "wrong dtype",
    code: "bad_dtype",
    send: () => worker.client.request({ op: "decode", model, latents: { dtype: "float64", shape, data: new Float64Array(latent().length) } as never }),
  },
  {
    name: "NaN in a latent",
    code: "non_finite",
    send: () => worker.client.request({ op: "denoise", model, items: [{ cond, t: 500, branch: "cond" }], x: float32Tensor(latent(Number.NaN), shape) }),
  },
  {
    name: "rows and items disagree",
    code: "bad_shape",
    send: () => worker.client.request(
      { op: "denoise", model, items: [{ cond, t: 500, branch: "cond" }, { cond, t: 500, branch: "uncond" }], x: float32Tensor(latent(), shape) },
    ),
  },
  { name: "unknown op", code: "unknown_op", send: () => requestWith(worker.client, { op: "stats" }, { wireOp: "teleport" }) },
  { name: "unknown model source", code: "unknown_model", send: () => worker.client.request({ op: "load", source: "/nowhere/no-such-model" }) },
  { name: "unknown model handle", code: "unknown_model", send: () => worker.client.request({ op: "encodePrompt", model: "no-such-handle", text: "x" }) },
  {
    name: "unknown condition handle",
    code: "unknown_handle",
    send: () => worker.client.request(
      { op: "denoise", model, items: [{ cond: "released-long-ago", t: 500, branch: "cond" }], x: float32Tensor(latent(), shape) },
    ),
  },
  {
    name: "missing argument",
    code: "bad_args",
    send: () => requestRaw(worker.client, "prepareLatents", (id) => encodeFrames({ v: 1, op: "prepare_latents", id, args: { model } })),
  },
  {
    name: "truncated tensor frame",
    code: "bad_message",
    send: () =>
      requestRaw(worker.client, "denoise", (id) => {
        const frames = encodeRequest(id, { op: "denoise", model, items: [{ cond, t: 500, branch: "cond" }], x: float32Tensor(latent(), shape) });
        return [frames[0] as Buffer, (frames[1] as Buffer).subarray(0, 8)];
      }),
  },
  {
    name: "a missing tensor frame",
    code: "bad_message",
    send: () => requestRaw(
      worker.client,
      "denoise",
      (id) => [encodeRequest(id, { op: "denoise", model, items: [{ cond, t: 500, branch: "cond" }], x: float32Tensor(latent(), shape) })[0] as Buffer],
    ),
  },
  { name: "a header from a future protocol version", code: "unsupported_version", send: () => requestWith(worker.client, { op: "stats" }, { version: 99 }) },
];

for (const c of badCases) {
  test(`${c.name} → a typed "${c.code}" error with a sentence, and the worker keeps serving`, async (t) => {
    const error = await t.throwsAsync(c.send(), { instanceOf: WorkerError });
    t.is(error?.code, c.code);
    t.regex(error?.message ?? "", /\w+ \w+/);
    await stillServing(t);
  });
}

test("garbage frames get a bad_message reply (id 0) and the worker keeps serving", async (t) => {
  const { Dealer } = await import("zeromq");
  const raw = new Dealer({ linger: 0 });
  raw.connect(worker.client.endpoint);
  await raw.send([Buffer.from([0xc1, 0x00, 0xff, 0x13])]);
  const [reply] = await raw.receive();
  raw.close();
  const { decodeReply } = await import("../../ts/worker/codec.js");
  const decoded = decodeReply([reply as Buffer]);
  t.false(decoded.ok);
  if (!decoded.ok) t.is(decoded.error.code, "bad_message");
  t.is(decoded.id, 0);
  await stillServing(t);
});

test.serial("a killed worker is reported as WorkerDiedError to the request in flight, promptly", async (t) => {
  // The worker sleeps 3 s before each forward (a test-only switch), so the kill lands mid-request.
  const victim = await WorkerProcess.start({ device: "cpu", threads: 1, args: ["--debug-delay-ms", "3000"], env: { SENCACHE_WORKER_DEBUG: "1" } });
  try {
    const m = (await victim.client.request({ op: "load", source: tinyModelDir() })).model;
    const c = (await victim.client.request({ op: "encodePrompt", model: m, text: "a blue circle" })).cond;
    const pending = victim.client.request({ op: "denoise", model: m, items: [{ cond: c, t: 700, branch: "cond" }], x: float32Tensor(latent(0.2), shape) });
    const started = Date.now();
    setTimeout(() => victim.kill("SIGKILL"), 300);
    const error = await t.throwsAsync(pending, { instanceOf: WorkerDiedError });
    t.regex(error?.message ?? "", /exited unexpectedly/);
    t.true(Date.now() - started < 2_500, "noticed before the forward would have finished");
    await t.throwsAsync(victim.client.request({ op: "stats" }), { instanceOf: WorkerDiedError });
  } finally {
    await victim.shutdown();
  }
});

test.serial("a worker that fails during start-up becomes a WorkerDiedError carrying the Python exception", async (t) => {
  if (existsSync("/dev/nvidia0")) {
    // On a GPU machine the same request must succeed instead.
    const gpu = await WorkerProcess.start({ device: "cuda" });
    t.regex(gpu.hello.device, /^cuda/);
    await gpu.shutdown();
    return;
  }
  const error = await t.throwsAsync(WorkerProcess.start({ device: "cuda" }), { instanceOf: WorkerDiedError });
  t.regex(error?.message ?? "", /start-up with RuntimeError: --device cuda was asked for but torch sees no CUDA device/);
  t.regex(error?.stderr ?? "", /Traceback \(most recent call last\)/);
});

test("tracebackSummary picks the exception line of the last traceback", (t) => {
  const stderr =
    "log line\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    boom()\nValueError: first\nmore\n" +
    "Traceback (most recent call last):\n  File \"y.py\", line 2\nzmq.error.ZMQError: Address already in use\n";
  t.is(tracebackSummary(stderr), "zmq.error.ZMQError: Address already in use");
  t.is(tracebackSummary("no traceback here"), undefined);
});
