import test from "ava";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ProtocolError } from "../../ts/errors.js";
import { decodeReply, encodeRequest, parseResult } from "../../ts/worker/codec.js";
import { decodeFrames, encodeFrames } from "../../ts/worker/frames.js";
import { OPS } from "../../ts/worker/ops.js";
import { float32Tensor } from "../../ts/worker/tensors.js";
import { buildRequestVectors, REQUESTS_DIR } from "../../scripts/gen-proto-vectors.js";

const REPLIES_DIR = fileURLToPath(new URL("../../proto/vectors/replies/", import.meta.url));

test("a denoise request round-trips: header keys on the wire, tensor bytes in their own frame", (t) => {
  const x = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
  const frames = encodeRequest(7, { op: "denoise", model: "m", items: [{ cond: "c", t: 981.25, branch: "cond" }], x: float32Tensor(x, [1, 2, 1, 3, 4]) });
  t.is(frames.length, 2);
  t.is(frames[1]?.byteLength, 96);
  const { header, tensors } = decodeFrames(frames);
  t.like(header, { v: 1, op: "denoise", id: 7, args: { model: "m", items: [{ cond: "c", t: 981.25, branch: "cond" }] } });
  t.deepEqual(tensors[0]?.shape, [1, 2, 1, 3, 4]);
  t.deepEqual(Array.from(tensors[0]?.data as Float32Array), Array.from(x));
});

test("request vectors on disk are what the codec writes now (the --check of the generator)", (t) => {
  const files = buildRequestVectors();
  const onDisk = readdirSync(REQUESTS_DIR).filter((f) => f.endsWith(".json")).sort();
  t.deepEqual(onDisk, Object.keys(files).sort());
  for (const f of onDisk) t.is(readFileSync(join(REQUESTS_DIR, f), "utf8"), files[f] as string, f);
});

test("reply vectors written by the Python protocol module decode to their stated header and tensors", (t) => {
  const files = readdirSync(REPLIES_DIR).filter((f) => f.endsWith(".json"));
  t.true(files.length >= 4, "the Python side must have written reply vectors (python -m sencache_fixtures.vectors)");
  for (const f of files) {
    const v = JSON.parse(
      readFileSync(join(REPLIES_DIR, f), "utf8"),
    ) as { frames: string[]; header: Record<string, unknown>; tensors: { name: string; dtype: string; shape: number[]; values: number[] }[] };
    const frames = v.frames.map((b) => Buffer.from(b, "base64"));
    const { header, tensors } = decodeFrames(frames);
    t.deepEqual(header, v.header, f);
    t.deepEqual(
      tensors.map((x) => ({ name: x.name, dtype: x.dtype, shape: x.shape, values: Array.from(x.data as ArrayLike<number | bigint>, Number) })),
      v.tensors,
      f,
    );
    const reply = decodeReply(frames);
    if (reply.ok && reply.op !== "unknown") t.notThrows(() => parseResult(reply.op as never, reply.result, reply.tensors), f);
    if (!reply.ok) t.regex(reply.error.code, /^[a-z_]+$/, f);
  }
});

test("every op of the table has a golden request vector and a golden reply vector", (t) => {
  const requests = new Set(readdirSync(REQUESTS_DIR));
  const replies = new Set(readdirSync(REPLIES_DIR));
  for (const spec of Object.values(OPS)) {
    t.true(requests.has(`${spec.wire}.json`), `proto/vectors/requests/${spec.wire}.json`);
    t.true(replies.has(`${spec.wire}.json`), `proto/vectors/replies/${spec.wire}.json`);
  }
});

test("a reply that lacks a field of its op's table entry is a ProtocolError naming the field", (t) => {
  const result = {
    model: "m",
    family: "wan",
    pipeline_class: "P",
    scheduler: { class_name: "S", config: {} },
    latent: { channels: 4, spatial_scale: 8, temporal_scale: 4 },
  };
  const defaults = { height: 32, width: 32, num_frames: 5, guidance_scale: 5, num_inference_steps: 10 };
  t.throws(
    () => parseResult("load", { ...result, defaults: { ...defaults, height: "32" } }, []),
    { instanceOf: ProtocolError, message: /load reply lacks the whole number "defaults.height"/ },
  );
  t.throws(() => parseResult("load", result, []), { instanceOf: ProtocolError, message: /lacks the map "defaults"/ });
  const parsed = parseResult("load", { ...result, defaults, extra: 1 }, []);
  t.deepEqual(parsed.defaults, { height: 32, width: 32, numFrames: 5, guidanceScale: 5, numInferenceSteps: 10 });
  t.is(parsed.scheduler.className, "S");
  t.throws(() => parseResult("denoise", { items: 1 }, []), { instanceOf: ProtocolError, message: /lacks the float32 or bfloat16 or float16 tensor "out"/ });
});

test("truncated, garbage and mislabelled frames are ProtocolErrors, before any tensor is built", (t) => {
  const frames = encodeRequest(
    1,
    { op: "denoise", model: "m", items: [{ cond: "c", t: 1, branch: "cond" }], x: float32Tensor(new Float32Array(6), [1, 1, 1, 2, 3]) },
  );
  t.throws(() => decodeFrames([frames[0] as Buffer]), { instanceOf: ProtocolError, message: /announces 1 tensor frames but carries 0/ });
  t.throws(() => decodeFrames([frames[0] as Buffer, (frames[1] as Buffer).subarray(0, 20)]), { instanceOf: ProtocolError, message: /should have 24 bytes/ });
  t.throws(() => decodeFrames([Buffer.from([0xc1, 0xff, 0x00])]), { instanceOf: ProtocolError });
  t.throws(() => decodeFrames([encodeFrames({ v: 1 })[0] as Buffer, Buffer.alloc(4)]), { instanceOf: ProtocolError });
  t.throws(() => decodeFrames(frames, 10), { instanceOf: ProtocolError, message: /exceeds the limit/ });
  t.throws(() => decodeFrames([]), { instanceOf: ProtocolError });
});

test("a reply from a future protocol version is refused with a sentence naming both versions", (t) => {
  const frames = encodeFrames({ v: 2, op: "hello", id: 1, ok: true, result: {} });
  t.throws(() => decodeReply(frames), { instanceOf: ProtocolError, message: /version 2 but this client speaks 1/ });
});

test("small frames at unaligned offsets still decode (copied to an aligned buffer)", (t) => {
  const withTensor = encodeFrames(
    { v: 1, op: "denoise", id: 3, ok: true, result: { items: 1 } },
    [{ name: "out", ...float32Tensor(Float32Array.of(1.5, -2), [1, 2]) }],
  );
  const raw = Buffer.alloc(9);
  (withTensor[1] as Buffer).copy(raw, 1);
  const reply = decodeReply([withTensor[0] as Buffer, raw.subarray(1)]);
  t.true(reply.ok);
  if (reply.ok) t.deepEqual(Array.from(parseResult("denoise", reply.result, reply.tensors).out.data), [1.5, -2]);
});

test("encodeVideo: options as snake_case args, the frames as tensor `video`; the file comes back as uint8 `data`", (t) => {
  const video = { dtype: "uint8" as const, shape: [2, 2, 2, 3], data: new Uint8Array(24).fill(7) };
  const { header, tensors } = decodeFrames(encodeRequest(3, { op: "encodeVideo", video, format: "mp4", fps: 8, scale: 4 }));
  t.like(header, { op: "encode_video", id: 3, args: { format: "mp4", fps: 8, scale: 4 } });
  t.false("labels" in (header["args"] as object));
  t.deepEqual(tensors[0]?.shape, [2, 2, 2, 3]);
  const file = { name: "data", dtype: "uint8" as const, shape: [3], data: Uint8Array.of(1, 2, 3) };
  const r = parseResult("encodeVideo", { format: "mp4", width: 2, height: 2, frames: 2, fps: 8, pad_bottom: 0, pad_right: 1 }, [file]);
  t.deepEqual({ ...r, data: Array.from(r.data) }, { data: [1, 2, 3], format: "mp4", width: 2, height: 2, frames: 2, fps: 8, padBottom: 0, padRight: 1 });
  t.throws(() => parseResult("encodeVideo", { format: "mp4" }, [file]), { instanceOf: ProtocolError });
});

test("load results carry experts, guidance, geometry and set_timesteps; an older worker's load result gets single-expert defaults", (t) => {
  const parse = (f: string) => {
    const v = JSON.parse(readFileSync(join(REPLIES_DIR, f), "utf8")) as { frames: string[] };
    const reply = decodeReply(v.frames.map((b) => Buffer.from(b, "base64")));
    if (!reply.ok) throw new Error(f);
    return parseResult("load", reply.result, reply.tensors);
  };
  const two = parse("load_two_experts.json");
  t.deepEqual(two.experts, [{ name: "transformer", tMin: 900, tMax: 1000 }, { name: "transformer_2", tMin: 0, tMax: 900 }]);
  t.deepEqual(two.guidance, { scale: 5, scale2: 3, dynamic: false });
  t.true(two.imageToVideo);
  t.deepEqual(two.geometry, { patch: [1, 2, 2], spatialMultiple: 16, frameRule: { multiple: 4, plus: 1 }, maxLatent: [32, 64, 64] });
  const ltx = parse("load_ltx.json");
  t.deepEqual(ltx.setTimesteps, { sigmas: "linspace", mu: "sequence_length" });
  t.is(ltx.geometry?.maxLatent, undefined);
  t.is(ltx.defaults.fps, 25);
  const {
    experts: _e,
    guidance: _g,
    geometry: _geo,
    set_timesteps: _s,
    image_to_video: _i,
    ...old
  } = (JSON.parse(readFileSync(join(REPLIES_DIR, "load.json"), "utf8")) as { header: { result: Record<string, unknown> } }).header.result;
  const legacy = parseResult("load", old, []);
  t.is(legacy.experts, undefined); // Model.experts then falls back on the folder, else one expert
  t.is(legacy.guidance, undefined);
  t.deepEqual(legacy.setTimesteps, { sigmas: null, mu: null });
  t.is(legacy.geometry, undefined);
  t.falsy(legacy.imageToVideo);
});

test("encode_image carries the image as a uint8 tensor frame; denoise items name the handle, nothing else image-related", (t) => {
  const image = { dtype: "uint8" as const, shape: [2, 2, 3], data: new Uint8Array(12) };
  const frames = encodeRequest(3, { op: "encodeImage", model: "m", seed: 1, height: 32, width: 32, numFrames: 9, image });
  const { header, tensors } = decodeFrames(frames);
  t.like(header, { op: "encode_image", args: { model: "m", seed: 1, height: 32, width: 32, num_frames: 9 } });
  t.deepEqual(tensors.map((x) => [x.name, x.dtype, x.shape]), [["image", "uint8", [2, 2, 3]]]);
  const d = decodeFrames(
    encodeRequest(
      4,
      { op: "denoise", model: "m", items: [{ cond: "c", t: 1, branch: "cond", image: "i1" }], x: float32Tensor(new Float32Array(2), [1, 1, 1, 1, 2]) },
    ),
  );
  t.deepEqual((d.header["args"] as { items: unknown[] }).items, [{ cond: "c", t: 1, branch: "cond", image: "i1" }]);
  t.deepEqual(d.tensors.map((x) => x.name), ["x"]);
});

test("readMedia: every file is its own uint8 tensor file<i>, names and size as args", (t) => {
  const { header, tensors } = decodeFrames(
    encodeRequest(4, { op: "readMedia", files: [Uint8Array.of(1, 2), Uint8Array.of(3)], names: ["a.png", "b.png"], height: 8, width: 6, numFrames: 5 }),
  );
  t.like(header, { op: "read_media", args: { names: ["a.png", "b.png"], height: 8, width: 6, num_frames: 5 } });
  t.deepEqual(tensors.map((x) => [x.name, x.dtype, x.shape]), [["file0", "uint8", [2]], ["file1", "uint8", [1]]]);
});
