/**
 * What the TS ⇄ Python bridge costs, as ratios measured in one run (interleaved, medians):
 *
 * 1. Sampling: the bundled model driven from TS through the worker (`generate`, CFG, the pipeline's
 *    scheduler, a fixed schedule computing every K-th step) against the same loop in one Python
 *    process (`python -m sencache_worker.bench_bridge loop`). Goal: ≤ 1.03×.
 * 2. Echo: the SDK's `echo` (WorkerClient → worker) against a raw zeromq.js DEALER ⇄ raw pyzmq ROUTER
 *    echo of the same header + frame, at 10 KB and 8.4 MB. Goal: ≤ 1.25×.
 *
 *   nice -n 10 npx tsx scripts/bench-bridge.ts [--runs 7] [--steps 20] [--every 2] [--threads 1] [--echo-repeats 200] [--pin]
 *
 * --pin (Linux, `taskset`, ≥ 2 CPUs): this process on CPU 0 and every Python process on the others, so the TS
 * side's work between steps does not run on the core a CPU forward just left (and take its caches).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Dealer } from "zeromq";
import { createFixedIntervalPolicy } from "../ts/policies/fixed-interval.js";
import { generate } from "../ts/sampling/generate.js";
import { Model } from "../ts/sampling/model.js";
import { encodeFrames } from "../ts/worker/frames.js";
import { WorkerClient } from "../ts/worker/client.js";
import { float32Tensor } from "../ts/worker/tensors.js";
import { defaultPython, PACKAGE_ROOT, WorkerProcess } from "../ts/worker/supervisor.js";
import { workerScriptOptions } from "./script-args.js";

const { values } = parseArgs({
  options: {
    ...workerScriptOptions({ steps: "20" }),
    runs: { type: "string", default: "7" },
    every: { type: "string", default: "2" },
    "echo-repeats": { type: "string", default: "200" },
    only: { type: "string" },
    pin: { type: "boolean", default: false },
  },
});
/** The Python interpreter of every process this benchmark starts (with --pin: a wrapper that pins it off CPU 0). */
const python = ((): string => {
  if (!values.pin) return defaultPython();
  const cpus = availableParallelism();
  if (cpus < 2) throw new Error("--pin needs at least 2 CPUs");
  execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
  const wrapper = join(mkdtempSync(join(tmpdir(), "sencache-pin-")), "python");
  writeFileSync(wrapper, `#!/bin/sh\nexec taskset -c 1-${cpus - 1} ${JSON.stringify(defaultPython())} "$@"\n`, { mode: 0o755 });
  console.log(`pinned: this process on CPU 0, the worker and the Python processes on CPUs 1-${cpus - 1}`);
  return wrapper;
})();
const runs = Number(values.runs);
const steps = Number(values.steps);
const every = Number(values.every);
const threads = Number(values.threads);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
/** The paired ratio a[i]/b[i] as a geometric mean with a 95 % interval (mean ± 1.96 standard errors of the log ratios). */
const pairedRatio = (a: readonly number[], b: readonly number[]): string => {
  const logs = a.map((x, i) => Math.log(x / (b[i] as number)));
  const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, logs.length - 1));
  const se = sd / Math.sqrt(logs.length);
  const f = (x: number) => Math.exp(x).toFixed(3);
  return `paired ${f(mean)}× (95 % interval ${f(mean - 1.96 * se)}–${f(mean + 1.96 * se)}, ${logs.length} pairs)`;
};
const env = { ...process.env, PYTHONPATH: join(PACKAGE_ROOT, "py"), OMP_WAIT_POLICY: "PASSIVE", HF_HUB_OFFLINE: "1" };
const prompt = "a red circle moving right";

async function samplingRatio(): Promise<void> {
  const worker = await WorkerProcess.start({ device: "cpu", threads, python });
  const py = spawn(
    python,
    [
      "-m",
      "sencache_worker.bench_bridge",
      "loop",
      "--model",
      values.model as string,
      "--steps",
      String(steps),
      "--every",
      String(every),
      "--threads",
      String(threads),
      "--prompt",
      prompt,
    ],
    { env, stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, number>> => JSON.parse(((await lines.next()).value as string) ?? "{}") as Record<string, number>;
  await next(); // ready
  try {
    const model = await Model.load(worker.client, values.model as string);
    const run = (seed: number) => generate(model, { prompt, seed, steps, policy: createFixedIntervalPolicy({ k: every }), decode: false });
    await run(0); // warm-up: prompt handles, first forward
    py.stdin.write("run 0\n");
    await next();
    const ts: number[] = [];
    const pys: number[] = [];
    // The seconds each run spent in its forwards (the worker's stats time them; the Python loop times its own): the
    // rest is the part the bridge can change, without the forwards' run-to-run swing.
    const tsForwards: number[] = [];
    const pyForwards: number[] = [];
    const forwardSeconds = async () => (await worker.client.request({ op: "stats" })).forwardSeconds;
    let nfe = 0;
    const tsRun = async (r: number) => {
      const f0 = await forwardSeconds();
      const t0 = performance.now();
      const res = await run(r + 1);
      ts.push((performance.now() - t0) / 1000);
      tsForwards.push((await forwardSeconds()) - f0);
      nfe = res.summary.nfe;
    };
    const pyRun = async (r: number) => {
      py.stdin.write(`run ${r + 1}\n`);
      const done = await next();
      pys.push(done["seconds"] as number);
      pyForwards.push(done["forward_seconds"] as number);
    };
    for (let r = 0; r < runs; r++) {
      // Pairs in alternating order (TS first, then Python first), so neither side always runs after the other.
      if (r % 2 === 0) await tsRun(r).then(() => pyRun(r));
      else await pyRun(r).then(() => tsRun(r));
    }
    const a = median(ts);
    const b = median(pys);
    const ms = (x: number, digits = 1) => (x * 1000).toFixed(digits);
    const outside = (walls: number[], forwards: number[]) => median(walls.map((w, i) => w - (forwards[i] as number)));
    const tsOutside = outside(ts, tsForwards);
    const pyOutside = outside(pys, pyForwards);
    console.log(`sampling, ${steps} steps, compute every ${every} (NFE ${nfe}), CFG, torch threads ${threads}, ${runs} interleaved runs`);
    console.log(`  TS-driven through the worker: median ${ms(a)} ms   [${ts.map((x) => ms(x, 0)).join(", ")}]`);
    console.log(`  one Python process:           median ${ms(b)} ms   [${pys.map((x) => ms(x, 0)).join(", ")}]`);
    console.log(`  ratio TS/Python: ${(a / b).toFixed(3)}× of the medians; ${pairedRatio(ts, pys)}  (goal ≤ 1.03×)`);
    console.log(
      `  outside the forwards, median per run: TS-driven ${ms(tsOutside)} ms, one Python process ${ms(pyOutside)} ms; ` +
        `the bridge and the TS loop add ${ms((tsOutside - pyOutside) / nfe)} ms per computed step`,
    );
    console.log(
      `  in the forwards, median per run: worker ${ms(median(tsForwards))} ms, one Python process ${ms(median(pyForwards))} ms; ` +
        `worker/Python ${pairedRatio(tsForwards, pyForwards)}`,
    );
  } finally {
    py.stdin.end();
    await worker.shutdown();
  }
}

async function echoRatio(): Promise<void> {
  const repeats = Number(values["echo-repeats"]);
  const dir = mkdtempSync(join(tmpdir(), "sencache-echo-"));
  // The raw echo, and the same with a msgpack header unpacked and packed in Python (the least a Python worker does).
  const rawEndpoint = `ipc://${join(dir, "raw.sock")}`;
  const headerEndpoint = `ipc://${join(dir, "header.sock")}`;
  const echoServer = (endpoint: string, extra: string[]) =>
    spawn(python, ["-m", "sencache_worker.bench_bridge", "echo", "--endpoint", endpoint, ...extra], {
      env,
      stdio: ["ignore", "ignore", "inherit"],
    });
  const servers = [echoServer(rawEndpoint, []), echoServer(headerEndpoint, ["--header"])];
  const worker = await WorkerProcess.start({ device: "cpu", threads, python });
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(rawEndpoint);
  const headerDealer = new Dealer({ linger: 0 });
  headerDealer.connect(headerEndpoint);
  // The SDK's own client against the header-only ROUTER: what the SDK costs over any Python worker's least.
  const headerClient = new WorkerClient(headerEndpoint);
  try {
    for (const [label, n] of [["10 KB", 2_560], ["8.4 MB (Wan 480p latent, f32)", 16 * 21 * 60 * 104]] as const) {
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
      const tensor = { name: "x", ...float32Tensor(data, [n]) };
      const frames = encodeFrames({ v: 1, op: "echo", id: 1 }, [tensor]);
      const sdk: number[] = [];
      const rawT: number[] = [];
      const headerT: number[] = [];
      const sdkFloor: number[] = [];
      const reps = n > 100_000 ? Math.max(20, Math.round(repeats / 10)) : repeats;
      for (let r = 0; r < reps + 5; r++) {
        const t0 = performance.now();
        await dealer.send(frames);
        const back = await dealer.receive();
        const t1 = performance.now();
        const { tensors } = await worker.client.request({ op: "echo", tensors: [tensor] });
        const t2 = performance.now();
        await headerDealer.send(frames);
        const parsed = await headerDealer.receive();
        const t3 = performance.now();
        const floor = await headerClient.request({ op: "echo", tensors: [tensor] });
        const t4 = performance.now();
        const same = back[1]?.byteLength === n * 4 && parsed[1]?.byteLength === n * 4 && floor.tensors[0]?.data.byteLength === n * 4;
        if (!same || (tensors[0]?.data as Float32Array)[n - 1] !== data[n - 1]) throw new Error("an echo came back different");
        if (r >= 5) {
          rawT.push(t1 - t0);
          sdk.push(t2 - t1);
          headerT.push(t3 - t2);
          sdkFloor.push(t4 - t3);
        }
      }
      // Medians of consecutive blocks, paired: the machine's drift moves both sides of a block together.
      const blocks = (xs: number[]) => {
        const size = Math.max(5, Math.floor(xs.length / 10));
        return Array.from({ length: Math.floor(xs.length / size) }, (_, k) => median(xs.slice(k * size, (k + 1) * size)));
      };
      const a = median(sdk);
      const b = median(rawT);
      const c = median(headerT);
      const d = median(sdkFloor);
      console.log(
        `echo ${label}: SDK ${a.toFixed(3)} ms, raw DEALER⇄ROUTER ${b.toFixed(3)} ms, ratio ${(a / b).toFixed(2)}× (goal ≤ 1.25×; block medians ` +
          `${pairedRatio(blocks(sdk), blocks(rawT))}); raw + a Python msgpack header ${c.toFixed(3)} ms (${(c / b).toFixed(2)}× raw); the SDK ` +
          `against that header-only ROUTER ${d.toFixed(3)} ms (${(d / b).toFixed(2)}× raw); median of ${reps} interleaved`,
      );
    }
  } finally {
    for (const d of [dealer, headerDealer]) {
      await d.send([Buffer.from("stop")]).catch(() => undefined);
      d.close();
    }
    headerClient.close();
    for (const server of servers) server.kill();
    await worker.shutdown();
  }
}

if (values.only !== "echo") await samplingRatio();
if (values.only !== "sampling") await echoRatio();
process.exit(0);
