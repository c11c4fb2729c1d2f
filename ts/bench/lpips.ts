/**
 * LPIPS (Zhang et al. 2018), only where its weights are already on this machine.
 *
 * LPIPS needs the `lpips` Python package (which bundles its small linear heads) and the ImageNet
 * backbone weights torchvision keeps under TORCH_HOME (`hub/checkpoints/alexnet-owt-….pth`). The
 * benchmark never downloads anything: the probe runs a short Python script (the worker's Python)
 * with `torch.hub.download_url_to_file` replaced by a function that raises, so missing weights
 * surface as "unavailable" with the reason instead of a download. Scores are per clip: the mean
 * over frames of LPIPS(AlexNet) with frames mapped to [-1, 1].
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultPython } from "../worker/supervisor.js";

export type LpipsStatus =
  | { readonly available: true; readonly net: string; readonly python: string; readonly torchHome?: string }
  | { readonly available: false; readonly reason: string };

export interface LpipsOptions {
  /** false skips LPIPS ("turned off"). */
  readonly enabled?: boolean;
  /** A TORCH_HOME folder holding the backbone weights (default: torch's own default). */
  readonly torchHome?: string;
  /** Python to run (default: the worker's). */
  readonly python?: string;
  /** Smallest decoded frame side; AlexNet's pooling needs ≥ 32 px. */
  readonly minSide?: number;
}

/** The frame side below which AlexNet LPIPS cannot run (its feature maps shrink to nothing). */
export const LPIPS_MIN_SIDE = 32;

const PRELUDE = `
import json, sys
def _no_download(url, *a, **k):
    raise RuntimeError("weights not available locally (" + str(url) + "); sencache bench does not download")
try:
    import torch, torch.hub
    torch.hub.download_url_to_file = _no_download
    import lpips
except ImportError as e:
    print(json.dumps({"ok": False, "reason": "the Python package lpips is not installed (" + str(e) + ")"})); sys.exit(0)
try:
    net = lpips.LPIPS(net="alex", verbose=False).eval()
except Exception as e:
    print(json.dumps({"ok": False, "reason": "LPIPS weights could not be loaded: " + str(e)})); sys.exit(0)
`;

const PROBE = `${PRELUDE}
print(json.dumps({"ok": True}))
`;

const SCORE = `${PRELUDE}
import numpy as np
manifest = json.load(open(sys.argv[1]))
scores = []
with torch.no_grad():
    for item in manifest["items"]:
        shape = item["shape"]
        a = np.fromfile(item["a"], dtype=np.uint8).reshape(shape)
        b = np.fromfile(item["b"], dtype=np.uint8).reshape(shape)
        ta = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1
        tb = torch.from_numpy(b).permute(0, 3, 1, 2).float() / 127.5 - 1
        scores.append(float(net(ta, tb).mean()))
print(json.dumps({"ok": True, "scores": scores}))
`;

function runPython(python: string, args: string[], torchHome: string | undefined, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      python,
      args,
      {
        env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE", ...(torchHome ? { TORCH_HOME: torchHome } : {}) },
        maxBuffer: 64 << 20,
        timeout: 600_000,
        ...(signal ? { signal } : {}),
      },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

function lastJson(stdout: string): { ok: boolean; reason?: string; scores?: number[] } {
  const line = stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as { ok: boolean; reason?: string; scores?: number[] };
}

/** Whether LPIPS can run here without downloading anything, and why not. */
export async function probeLpips(options: LpipsOptions = {}, frameSide?: number): Promise<LpipsStatus> {
  if (options.enabled === false) return { available: false, reason: "LPIPS was turned off (--lpips off)." };
  const minSide = options.minSide ?? LPIPS_MIN_SIDE;
  if (frameSide !== undefined && frameSide < minSide) {
    return { available: false, reason: `decoded frames are ${frameSide} px on their short side; LPIPS (AlexNet) needs at least ${minSide} px.` };
  }
  let python: string;
  try {
    python = options.python ?? defaultPython();
  } catch (error) {
    return { available: false, reason: `no Python to run LPIPS: ${(error as Error).message}` };
  }
  try {
    const out = lastJson(await runPython(python, ["-c", PROBE], options.torchHome));
    if (!out.ok) return { available: false, reason: `${out.reason ?? "unknown"}.` };
    return { available: true, net: "alex", python, ...(options.torchHome ? { torchHome: options.torchHome } : {}) };
  } catch (error) {
    return { available: false, reason: `the LPIPS probe failed: ${(error as Error).message.split("\n")[0]}` };
  }
}

export interface VideoPair {
  readonly shape: readonly number[];
  readonly a: Uint8Array;
  readonly b: Uint8Array;
}

/** Per-pair LPIPS (mean over frames). Only call with an available status. */
export async function lpipsScores(status: LpipsStatus, pairs: readonly VideoPair[], signal?: AbortSignal): Promise<number[]> {
  if (!status.available) throw new Error(`LPIPS is unavailable: ${status.reason}`);
  if (pairs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "sencache-lpips-"));
  try {
    const items = pairs.map((p, i) => {
      const a = join(dir, `${i}.a.u8`);
      const b = join(dir, `${i}.b.u8`);
      writeFileSync(a, p.a);
      writeFileSync(b, p.b);
      const s = p.shape.length === 5 ? p.shape.slice(1) : [...p.shape];
      return { a, b, shape: s };
    });
    const manifest = join(dir, "manifest.json");
    writeFileSync(manifest, JSON.stringify({ items }));
    const out = lastJson(await runPython(status.python, ["-c", SCORE, manifest], status.torchHome, signal));
    if (!out.ok || !out.scores || out.scores.length !== pairs.length) throw new Error(`LPIPS scoring failed: ${out.reason ?? "wrong number of scores"}`);
    return out.scores;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
