/** sencache: sensitivity-aware caching for diffusion (video) inference — the public SDK. */
export * from "./errors.js";
export * from "./worker/index.js";
export * from "./schedulers/index.js";
export * from "./policies/index.js";
export * from "./sensitivity/index.js";
export { sample, streamSample, guide, type SampleOptions, type SampleResult, type SampleEvent } from "./sampling/loop.js";
export { Model, type LoadOptions, type LatentSize } from "./sampling/model.js";
export { generate, type GenerateOptions, type GenerateResult } from "./sampling/generate.js";
export { runMany, type RunRequest, type RunManyOptions } from "./sampling/runner.js";
export type { Denoiser, DenoiseItem as DenoiserItem, StepEvent, RunSummary, Branch as DenoiseBranch } from "./sampling/types.js";
export { callPython, pythonPromptHook, closePython, parseFunctionRef, type PythonFunctionRef } from "./interop/python.js";
export * as media from "./media/index.js";
export * as metrics from "./bench/metrics.js";
