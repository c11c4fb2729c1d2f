/**
 * The sampling loop as an async-iterable stream of typed events: the loop of `loop.ts`, pulled by its
 * consumer (back-pressure: a step starts once the events before it were taken) and cancelled when the
 * consumer leaves the iteration early.
 */
import { AbortError } from "../errors.js";
import { runLoop, type SampleOptions, type SampleResult } from "./loop.js";
import type { StepEvent } from "./types.js";

export type SampleEvent = StepEvent | { readonly type: "done"; readonly result: SampleResult };

/**
 * The same loop as an async-iterable stream of typed events, ending with a "done" event. Leaving the
 * `for await` early (break, return, a throw) cancels the sample: no denoise call starts afterwards,
 * and the loop has stopped by the time the iteration is left. The stream is pulled: the loop starts a
 * step once the consumer has taken the events before it.
 */
export async function* streamSample(options: Omit<SampleOptions, "onStep">): AsyncGenerator<SampleEvent, void, undefined> {
  const queue: SampleEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: { error: unknown } | undefined;
  let finished = false;
  const push = (e: SampleEvent): void => {
    queue.push(e);
    wake?.();
  };
  // Back-pressure: the loop starts a step only once the consumer has taken every event so far, so a
  // consumer that stops reading stops the sampling one step later.
  let drained: (() => void) | undefined;
  const beforeStep = (): Promise<void> => (queue.length === 0 ? Promise.resolve() : new Promise<void>((res) => (drained = res)));
  const controller = new AbortController();
  const outer = options.signal;
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener("abort", forward, { once: true });
  const run = runLoop({ ...options, signal: controller.signal, onStep: push }, beforeStep).then(
    (result) => {
      push({ type: "done", result });
      finished = true;
      wake?.();
    },
    (error: unknown) => {
      failure = { error };
      finished = true;
      wake?.();
    },
  );
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        if (queue.length === 0) {
          drained?.();
          drained = undefined;
        }
        if (next.type === "done") return;
        continue;
      }
      if (failure) throw failure.error;
      if (finished && queue.length === 0) return;
      await new Promise<void>((res) => (wake = res));
      wake = undefined;
    }
  } finally {
    outer?.removeEventListener("abort", forward);
    if (!finished) {
      controller.abort(new AbortError("The stream was left before the sample finished."));
      drained?.();
      await run;
    }
  }
}
