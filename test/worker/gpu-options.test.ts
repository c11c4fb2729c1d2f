/**
 * GPU-ready worker options, checked on CPU against the real worker: bf16 weights with bf16 latents on the
 * wire (lossless against float32 latents on the same bf16 model), offload / VAE tiling / slicing accepted
 * and reported, --device cuda refused in one sentence on a machine without CUDA; the bf16 / fp16 edge
 * conversions round to nearest even as torch does.
 */
import test from "ava";
import { Model } from "../../ts/sampling/model.js";
import { fromBfloat16, fromFloat16, toBfloat16, toFloat16 } from "../../ts/worker/half.js";
import { WorkerProcess } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";

test("float32 → bf16 / fp16 bit patterns round to nearest even; back to float32 exactly", (t) => {
  const x = Float32Array.of(1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -9, 3.14159, 65504, 70000, 2 ** -20, 0, NaN);
  t.deepEqual(Array.from(toBfloat16(x)).slice(0, 5), [0x3f80, 0xc020, 0x3f80, 0x3f81, 0x4049]);
  t.true(Number.isNaN(fromBfloat16(toBfloat16(x))[9]!));
  t.deepEqual(Array.from(fromBfloat16(toBfloat16(Float32Array.of(1.5, -0.25)))), [1.5, -0.25]);
  const h = toFloat16(x);
  t.deepEqual(Array.from(h).slice(0, 3), [0x3c00, 0xc100, 0x3c04]);
  t.is(h[5], 0x7bff);
  t.is(h[6], 0x7c00, "overflow is +inf");
  t.is(fromFloat16(h)[7], 2 ** -20, "a subnormal survives");
  t.deepEqual(Array.from(fromFloat16(toFloat16(Float32Array.of(0.1)))), [Math.fround(0.0999755859375)]);
});

let worker: WorkerProcess;
test.before(async () => {
  worker = await WorkerProcess.start({ device: "cpu", threads: 1 });
});
test.after.always(async () => {
  await worker?.shutdown();
});

test.serial("bf16 weights: bf16 latents on the wire give exactly what float32 latents give on the same model", async (t) => {
  const dir = tinyModelDir();
  const bf16 = await Model.load(worker.client, dir, { dtype: "bfloat16", offload: "model", vaeTiling: true, vaeSlicing: true });
  t.is(bf16.info.wireDtype, "bfloat16");
  t.like(bf16.info.loadOptions, { dtype: "bfloat16", offload: "none", vae_tiling: true, vae_slicing: true, wire_dtype: "bfloat16" });
  t.regex(String((bf16.info.loadOptions?.["notes"] as string[])[0]), /offload=model applies to a CUDA device; not applied on cpu/);
  const f32wire = await Model.load(worker.client, dir, { dtype: "bfloat16", wireDtype: "float32" });
  t.is(f32wire.info.wireDtype, "float32");
  const cond = await bf16.encodePrompt("a red square");
  const cond2 = await f32wire.encodePrompt("a red square");
  const x = await bf16.prepareLatents(1, { height: 16, width: 16, numFrames: 5 });
  const [a] = await bf16.denoise([{ cond, branch: "cond", t: 700, x: x.data, shape: x.shape }]);
  const [b] = await f32wire.denoise([{ cond: cond2, branch: "cond", t: 700, x: x.data, shape: x.shape }]);
  t.is(a!.length, x.data.length);
  t.deepEqual(Array.from(a!), Array.from(b!));
  t.true(a!.some((v) => v !== 0));
});

test.serial("--device cuda on a machine without CUDA is one clear sentence", async (t) => {
  const error = await t.throwsAsync(WorkerProcess.start({ device: "cuda:1", threads: 1 }));
  t.regex(error?.message ?? "", /--device cuda:1 was asked for but torch sees no CUDA device; use --device cpu or auto/);
});
