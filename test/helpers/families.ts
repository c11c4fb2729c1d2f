/**
 * Tiny random pipelines of every supported diffusers pipeline class (py/sencache_fixtures/families.py),
 * built on demand into the system temp folder (keyed by the builder's source), and the pipelines' own
 * `__call__` as reference, many jobs per Python process so a test file pays Python's start-up once.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { float32Tensor, type Tensor } from "../../ts/worker/tensors.js";
import { fixturesHash, runPython } from "./tiny.js";

function root(): string {
  const key = fixturesHash().digest("hex").slice(0, 12);
  const dir = join(tmpdir(), `sencache-families-${key}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Folders of the tiny pipelines of `cases` (see `python -m sencache_fixtures.families list`), built once. */
export function familyModels(cases: readonly string[]): Record<string, string> {
  const dir = root();
  const missing = cases.filter((c) => !existsSync(join(dir, c, "model_index.json")));
  if (missing.length) runPython(["-m", "sencache_fixtures.families", "build-many", "--root", dir, "--cases", missing.join(",")]);
  return Object.fromEntries(cases.map((c) => [c, join(dir, c)]));
}

/** A deterministic conditioning image [H, W, 3] (smooth colour ramps, so every resize path is well defined). */
export function testImage(height: number, width: number): Tensor<Uint8Array> {
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((255 * x) / Math.max(1, width - 1));
      data[i + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      data[i + 2] = (x * 37 + y * 11) % 256;
    }
  }
  return { dtype: "uint8", shape: [height, width, 3], data };
}

export interface ReferenceJob {
  readonly model: string;
  /** Keyword arguments of `__call__` (snake_case), with `seed`. */
  readonly args: Readonly<Record<string, unknown>>;
  readonly image?: Tensor<Uint8Array>;
}

export interface Reference {
  readonly latent: Float32Array;
  readonly shape: number[];
  /** Every noise tensor a stochastic scheduler's step drew (CogVideoXDPMScheduler), in wire order. */
  readonly noise?: Float32Array;
}

/** Run every job's `__call__(output_type="latent")` in one Python process; latents in the wire layout [1, C, F', H', W']. */
export function pipelineReferences(jobs: readonly ReferenceJob[]): Reference[] {
  const dir = join(tmpdir(), `sencache-famref-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  try {
    const spec = jobs.map((job, i) => {
      const out = join(dir, `${i}.bin`);
      if (!job.image) return { model: job.model, args: job.args, out };
      const image = join(dir, `${i}.rgb`);
      writeFileSync(image, job.image.data);
      return { model: job.model, args: job.args, out, image, image_size: [job.image.shape[0], job.image.shape[1]] };
    });
    writeFileSync(join(dir, "jobs.json"), JSON.stringify(spec));
    runPython(["-m", "sencache_fixtures.families", "references", "--jobs", join(dir, "jobs.json")]);
    return spec.map(({ out }) => {
      const meta = JSON.parse(readFileSync(`${out}.json`, "utf8")) as { shape: number[]; noise?: number };
      const bytes = readFileSync(out);
      const latent = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      if (meta.noise === undefined) return { latent, shape: meta.shape };
      const nb = readFileSync(`${out}.noise`);
      return { latent, shape: meta.shape, noise: new Float32Array(nb.buffer.slice(nb.byteOffset, nb.byteOffset + nb.byteLength)) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Split a recorded noise stream into draws of one latent each (for ReplayNoiseSource). */
export function noiseDraws(noise: Float32Array, numel: number): Float32Array[] {
  const draws: Float32Array[] = [];
  for (let i = 0; i + numel <= noise.length; i += numel) draws.push(noise.slice(i, i + numel));
  return draws;
}

export { float32Tensor };
