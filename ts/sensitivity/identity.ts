/**
 * The identity of a model, as sensitivity profiles and MagCache ratios record it: a location-independent
 * name, so that a profile stays valid in another clone or folder.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";

/** Bytes read from each end of a weight file for the identity hash. */
const IDENTITY_SAMPLE_BYTES = 1 << 20;

/**
 * A hub id as given, or for a local pipeline folder `local:<folder name>@<hash>`. The hash covers
 * model_index.json, every component's JSON configs, and each weight file's size and its first and last
 * MiB, so retrained weights of the same architecture get a new identity without reading a
 * multi-gigabyte checkpoint whole.
 */
export function modelIdentity(source: string): string {
  const dir = resolve(source);
  if (!existsSync(join(dir, "model_index.json"))) return source;
  const hash = createHash("sha256").update(readFileSync(join(dir, "model_index.json")));
  for (const sub of readdirSync(dir).sort()) {
    const path = join(dir, sub);
    if (!statSync(path).isDirectory()) continue;
    for (const file of readdirSync(path).sort()) {
      if (file.endsWith(".json")) hash.update(`${sub}/${file}`).update(readFileSync(join(path, file)));
      else if (file.endsWith(".safetensors") || file.endsWith(".bin")) hashWeights(hash, `${sub}/${file}`, join(path, file));
    }
  }
  return `local:${basename(dir)}@${hash.digest("hex").slice(0, 12)}`;
}

function hashWeights(hash: ReturnType<typeof createHash>, name: string, path: string): void {
  const size = statSync(path).size;
  hash.update(`${name}:${size}`);
  const fd = openSync(path, "r");
  try {
    const n = Math.min(size, IDENTITY_SAMPLE_BYTES);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 0);
    hash.update(buf);
    readSync(fd, buf, 0, n, size - n);
    hash.update(buf);
  } finally {
    closeSync(fd);
  }
}
