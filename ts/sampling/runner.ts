/**
 * The runner for many samples: keeps up to `concurrency` samples in flight against one model. Each
 * sample has its own loop, scheduler, policy state and cached outputs; the worker merges the denoise
 * requests that wait at the same moment into one forward. A decision is never shared between samples.
 */
import type { CachePolicy } from "../policies/types.js";
import { generate, type GenerateModel, type GenerateOptions, type GenerateResult } from "./generate.js";

export interface RunRequest extends Omit<GenerateOptions, "policy" | "signal"> {
  /** A factory, so every sample gets a fresh policy state. */
  readonly policy?: () => CachePolicy;
}

export interface RunManyOptions {
  /** Samples in flight at once (default 4). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Called as each sample finishes (index in `requests`). */
  readonly onResult?: (index: number, result: GenerateResult) => void;
}

export async function runMany(model: GenerateModel, requests: readonly RunRequest[], options: RunManyOptions = {}): Promise<GenerateResult[]> {
  const results = new Array<GenerateResult>(requests.length);
  let next = 0;
  const controller = new AbortController();
  const forward = (): void => controller.abort();
  options.signal?.addEventListener("abort", forward, { once: true });
  const lane = async (): Promise<void> => {
    while (next < requests.length) {
      const index = next++;
      const { policy, ...rest } = requests[index] as RunRequest;
      const result = await generate(model, { ...rest, ...(policy ? { policy: policy() } : {}), signal: controller.signal });
      results[index] = result;
      options.onResult?.(index, result);
    }
  };
  try {
    const lanes = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, requests.length)) }, lane);
    await Promise.all(lanes.map((p) => p.catch((error: unknown) => {
      controller.abort(); // one failure stops the others instead of leaving them running
      throw error;
    })));
  } finally {
    options.signal?.removeEventListener("abort", forward);
  }
  return results;
}
