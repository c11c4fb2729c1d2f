/**
 * Writes proto/vectors/requests/*.json: golden request messages encoded by the TypeScript codec, read
 * by the Python tests. `--check` exits 1 when the files on disk differ from what the codec writes now.
 *
 *   npx tsx scripts/gen-proto-vectors.ts [--check]
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeRequest } from "../ts/worker/codec.js";
import { decodeFrames } from "../ts/worker/frames.js";
import type { Request } from "../ts/worker/ops.js";
import { float32Tensor } from "../ts/worker/tensors.js";

export const REQUESTS_DIR = fileURLToPath(new URL("../proto/vectors/requests/", import.meta.url));

const cases: Record<string, { description: string; id: number; request: Request }> = {
  hello: { description: "handshake", id: 1, request: { op: "hello", client: "sencache-ts" } },
  load: { description: "load a pipeline by local path", id: 2, request: { op: "load", source: "models/tiny-wan-t2v", dtype: "float32" } },
  encode_prompt: {
    description: "encode one prompt",
    id: 3,
    request: { op: "encodePrompt", model: "m0", text: "a red square moving left on a blue background", maxSequenceLength: 16 },
  },
  prepare_latents: {
    description: "seeded initial latent",
    id: 4,
    request: { op: "prepareLatents", model: "m0", seed: 42, height: 32, width: 32, numFrames: 9 },
  },
  denoise: {
    description: "a CFG pair at a fractional and a whole timestep, with a small float32 latent",
    id: 5,
    request: {
      op: "denoise",
      model: "m0",
      items: [
        { cond: "c1", t: 999.5, branch: "cond" },
        { cond: "c2", t: 500, branch: "uncond" },
      ],
      x: float32Tensor(Float32Array.from({ length: 2 * 2 * 1 * 2 * 3 }, (_, i) => (i - 11) / 8), [2, 2, 1, 2, 3]),
    },
  },
  encode_image: {
    description: "image-to-video: one sample's conditioning image [H, W, 3] uint8, prepared for its seed and size",
    id: 10,
    request: {
      op: "encodeImage",
      model: "m0",
      seed: 42,
      height: 32,
      width: 32,
      numFrames: 9,
      image: { dtype: "uint8", shape: [2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i * 21) },
    },
  },
  prepare_latents_image: {
    description: "the initial latent an image handle holds",
    id: 11,
    request: { op: "prepareLatents", model: "m0", seed: 42, height: 32, width: 32, numFrames: 9, image: "i3" },
  },
  denoise_image: {
    description: "an image-to-video CFG pair: each item names the sample's image handle",
    id: 12,
    request: {
      op: "denoise",
      model: "m0",
      items: [
        { cond: "c1", t: 999, branch: "cond", image: "i3" },
        { cond: "c2", t: 999, branch: "uncond", image: "i3" },
      ],
      x: float32Tensor(Float32Array.from({ length: 2 * 2 * 1 * 1 * 2 }, (_, i) => i / 4), [2, 2, 1, 1, 2]),
    },
  },
  time_embedding: { description: "probe of the time embedding", id: 6, request: { op: "timeEmbedding", model: "m0", timesteps: [999, 500.25, 0] } },
  release: { description: "release handles", id: 7, request: { op: "release", handles: ["c1", "c2"] } },
  stats: { description: "counters", id: 8, request: { op: "stats" } },
  ping: { description: "heartbeat", id: 9, request: { op: "ping" } },
  ops: { description: "the worker's op table", id: 20, request: { op: "ops" } },
  decode: {
    description: "decode a float32 latent",
    id: 10,
    request: { op: "decode", model: "m0", latents: float32Tensor(Float32Array.from({ length: 2 * 1 * 2 * 2 }, (_, i) => i / 4 - 1), [1, 2, 1, 2, 2]) },
  },
  encode_media: {
    description: "encode a uint8 video [F, H, W, 3], sampling the posterior",
    id: 11,
    request: {
      op: "encodeMedia",
      model: "m0",
      sample: true,
      video: { dtype: "uint8", shape: [1, 2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i * 21) },
    },
  },
  echo: {
    description: "two tensors of different dtypes to be sent back",
    id: 12,
    request: {
      op: "echo",
      tensors: [
        { name: "a", ...float32Tensor(Float32Array.of(0.5, -1.25), [2]) },
        { name: "b", dtype: "int64", shape: [2], data: BigInt64Array.of(-(2n ** 40n), 7n) },
      ],
    },
  },
  shutdown: { description: "stop the worker", id: 13, request: { op: "shutdown" } },
  read_media: {
    description: "two image files (their bytes, one uint8 tensor each) read as a 2-frame video",
    id: 15,
    request: {
      op: "readMedia",
      names: ["a.png", "b.png"],
      height: 16,
      width: 16,
      numFrames: 2,
      files: [Uint8Array.of(137, 80, 78, 71), Uint8Array.of(137, 80)],
    },
  },
  encode_video: {
    description: "a two-frame video as an MP4 at 8 fps, upscaled 4x",
    id: 14,
    request: {
      op: "encodeVideo",
      format: "mp4",
      fps: 8,
      scale: 4,
      video: { dtype: "uint8", shape: [2, 1, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => 255 - i * 20) },
    },
  },
};

function toJsonValue(v: unknown): unknown {
  return typeof v === "bigint" ? Number(v) : v;
}

export function buildRequestVectors(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, c] of Object.entries(cases)) {
    const frames = encodeRequest(c.id, c.request);
    const { header, tensors } = decodeFrames(frames);
    const vector = {
      description: c.description,
      frames: frames.map((f) => f.toString("base64")),
      header,
      tensors: tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, values: Array.from(t.data as ArrayLike<unknown>, toJsonValue) })),
    };
    files[`${name}.json`] = `${JSON.stringify(vector, null, 1)}\n`;
  }
  return files;
}

function main(): void {
  const check = process.argv.includes("--check");
  const files = buildRequestVectors();
  if (check) {
    const onDisk = readdirSync(REQUESTS_DIR).filter((f) => f.endsWith(".json"));
    const stale = Object.keys(files).filter((f) => readFileSync(join(REQUESTS_DIR, f), { encoding: "utf8", flag: "r" }) !== files[f]);
    const extra = onDisk.filter((f) => !(f in files));
    if (stale.length || extra.length) {
      console.error(`request vectors out of date: ${[...stale, ...extra].join(", ")}; run npx tsx scripts/gen-proto-vectors.ts`);
      process.exit(1);
    }
    console.log(`${onDisk.length} request vectors up to date`);
    return;
  }
  mkdirSync(REQUESTS_DIR, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(REQUESTS_DIR, f), text);
  console.log(`wrote ${Object.keys(files).length} request vectors to ${REQUESTS_DIR}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
