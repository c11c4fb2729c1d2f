import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PYTHON = `${ROOT}.venv/bin/python`;
export const HAS_PYTHON = existsSync(PYTHON);

/** Run a Python script of the repo with the project venv and parse its JSON stdout. */
export function runPythonJson<T>(script: string, args: readonly string[]): T {
  const out = execFileSync(PYTHON, [`${ROOT}${script}`, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out) as T;
}

/** Deterministic pseudo-random bytes (xorshift32), the same sequence for the same seed. */
export function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

export interface ImageInfo {
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
}

/** What Pillow reads from an image file (format, size, frame count). */
export function imageInfo(path: string): ImageInfo {
  const code = [
    "import json,sys",
    "from PIL import Image",
    "im=Image.open(sys.argv[1])",
    "print(json.dumps(dict(format=im.format,width=im.width,height=im.height,frames=getattr(im,'n_frames',1))))",
  ].join("\n");
  return JSON.parse(execFileSync(PYTHON, ["-c", code, path], { encoding: "utf8" })) as ImageInfo;
}
