/**
 * Test helpers around the real worker: build the tiny random Wan-family pipeline once (cached in the
 * system temp folder, keyed by the builder's source), spawn real workers, run the diffusers reference.
 */
import { execFileSync } from "node:child_process";
import { createHash, type Hash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT, defaultPython } from "../../ts/worker/supervisor.js";

const PY_ENV = { ...process.env, PYTHONPATH: join(PACKAGE_ROOT, "py"), HF_HUB_OFFLINE: "1", OMP_WAIT_POLICY: "PASSIVE" };

export function runPython(args: string[]): string {
  return execFileSync(defaultPython(), args, { cwd: join(PACKAGE_ROOT, "py"), env: PY_ENV, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const FIXTURES = join(PACKAGE_ROOT, "py", "sencache_fixtures");

/** A hash of the pipeline builders' sources (py/sencache_fixtures: the parts, families.py and tiny.py), for cache keys. */
export function fixturesHash(): Hash {
  const hash = createHash("sha256");
  for (const name of ["parts.py", "families.py", "tiny.py"]) hash.update(readFileSync(join(FIXTURES, name)));
  return hash;
}

/** Folder of a tiny random WanPipeline saved with save_pretrained (built once per builder version). */
export function tinyModelDir(scheduler = "flow-euler"): string {
  const key = fixturesHash().update(scheduler).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), `sencache-tiny-${scheduler}-${key}`);
  if (existsSync(join(dir, "model_index.json"))) return dir;
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  runPython(["-m", "sencache_fixtures.tiny", "build", "--out", staging, "--scheduler", scheduler]);
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another test process won the race
  }
  return dir;
}

export interface ReferenceArgs {
  readonly model: string;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly guidance: number;
  readonly height: number;
  readonly width: number;
  readonly frames: number;
  readonly maxSequenceLength?: number;
}

/** The real diffusers pipeline's `__call__` (output_type="latent") for the same inputs. */
export function diffusersReference(a: ReferenceArgs): { latent: Float32Array; shape: number[] } {
  const out = join(tmpdir(), `sencache-ref-${process.pid}-${Date.now()}.bin`);
  const args = [
    "-m", "sencache_fixtures.tiny", "reference", "--model", a.model, "--prompt", a.prompt, "--negative-prompt", a.negativePrompt,
    "--seed", String(a.seed), "--steps", String(a.steps), "--guidance", String(a.guidance),
    "--height", String(a.height), "--width", String(a.width), "--frames", String(a.frames), "--out", out,
  ];
  if (a.maxSequenceLength !== undefined) args.push("--max-sequence-length", String(a.maxSequenceLength));
  runPython(args);
  const bytes = readFileSync(out);
  const { shape } = JSON.parse(readFileSync(`${out}.json`, "utf8")) as { shape: number[] };
  rmSync(out, { force: true });
  rmSync(`${out}.json`, { force: true });
  return { latent: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), shape };
}

export function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / Math.max(scale, 1e-12);
}
