/**
 * The two op tables agree: the real worker lists its own (protocol/ops.py's `OPS`, through the `ops` op) and it
 * must match ts/worker/ops.ts's `OPS`: the same ops under the same wire names, on the same thread, with the
 * same argument, tensor and result names.
 */
import test from "ava";
import type { OpSpec, TensorSpec } from "../../ts/worker/op-spec.js";
import { OPS } from "../../ts/worker/ops.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";

let worker: WorkerProcess;

test.before(async () => {
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
});

test.after.always(async () => {
  await worker?.shutdown();
});

const sorted = (names: Iterable<string>): string[] => [...names].sort();

/** Tensor names as the worker writes them: `file*` for file0, file1, …; `*` for any. */
function tensorNames(spec: TensorSpec): string[] {
  if (spec === "any") return ["*"];
  return Object.entries(spec).map(([name, s]) => (typeof s === "object" && "prefix" in s ? `${s.prefix}*` : name));
}

test("the worker's op table and ops.ts's OPS have the same ops, threads, arguments, tensors and result fields", async (t) => {
  const { ops } = await worker.client.request({ op: "ops" });
  const python = new Map(ops.map((entry) => [entry.name, entry]));
  const ts = new Map<string, OpSpec>(Object.values(OPS).map((spec) => [spec.wire, spec]));
  t.deepEqual(sorted(python.keys()), sorted(ts.keys()), "the same op names");
  for (const [name, spec] of ts) {
    const py = python.get(name);
    if (py === undefined) continue;
    t.is(py.inline, spec.inline, `${name}: inline`);
    t.deepEqual(sorted(Object.keys(py.args)), sorted(Object.keys(spec.args)), `${name}: arguments`);
    t.deepEqual(sorted(Object.keys(py.tensorsIn)), sorted(tensorNames(spec.tensorsIn)), `${name}: tensors in`);
    t.deepEqual(sorted(py.result), sorted(Object.keys(spec.result)), `${name}: result fields`);
    t.deepEqual(sorted(py.tensorsOut), sorted(tensorNames(spec.tensorsOut)), `${name}: tensors out`);
  }
});
