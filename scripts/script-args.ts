/** The options every worker-driving script takes (node:util parseArgs form), declared once. */
import { join } from "node:path";
import { PACKAGE_ROOT } from "../ts/worker/supervisor.js";

/** The bundled tiny model. */
export const TINY_MODEL = join(PACKAGE_ROOT, "models", "tiny-wan-t2v");

/** `--model` (default the bundled model), `--threads` (torch CPU threads) and `--steps`, as strings. */
export function workerScriptOptions(defaults: { steps: string; threads?: string }) {
  return {
    model: { type: "string", default: TINY_MODEL },
    threads: { type: "string", default: defaults.threads ?? "1" },
    steps: { type: "string", default: defaults.steps },
  } as const;
}
