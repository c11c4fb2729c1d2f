/**
 * sencache: sensitivity-aware caching for diffusion (video) inference — the public SDK. What a user
 * needs: open a model (`load`, or `openWorker` + `Model.load`), generate, run many, resolve or write
 * cache policies, calibrate profiles, benchmark. Wire-level codec functions and numeric helpers stay
 * inside the package (their modules are not part of the API).
 */
export { SencacheError, WorkerError, ProtocolError, WorkerTimeoutError, WorkerDiedError, WorkerAuthError, InvalidInputError, AbortError } from "./errors.js";

// Opening a model and its worker.
export { load, type OpenModel, type OpenModelOptions } from "./sampling/open-model.js";
export { Model, type LoadOptions, type LatentSize, type RestartEvent } from "./sampling/model.js";
export { openWorker, type OpenedWorker, type OpenWorkerOptions } from "./worker/open.js";
export { WorkerProcess, isWorkerDied, type SpawnOptions } from "./worker/supervisor.js";
export { WorkerClient, type ClientOptions, type RequestOptions, type WorkerLike } from "./worker/client.js";
export { readPoolFile } from "./worker/pool-file.js";
export { WorkerPool, openPool, type PoolOptions, type PoolEndpoint, type PoolEvent } from "./worker/pool.js";
export { clientKeyPair, readKey, writeKeyPair, type SecurityOptions, type KeyFiles } from "./worker/security.js";
export { PROTOCOL_VERSION } from "./worker/ops.js";
export { float32Tensor } from "./worker/tensors.js";
export type { HelloResult, LoadResult, LoadExpert, LoadGeometry, StatsResult } from "./worker/ops.js";
export type { DType, TensorData, Tensor } from "./worker/tensors.js";

// Sampling.
export { sample, guide, type SampleOptions, type SampleResult } from "./sampling/loop.js";
export { streamSample, type SampleEvent } from "./sampling/stream.js";
export { generate, dynamicCfgScale, type GenerateModel, type GenerateOptions, type GenerateResult } from "./sampling/generate.js";
export { runMany, type RunRequest, type RunManyOptions } from "./sampling/runner.js";
export type { Denoiser, DenoiseItem as DenoiserItem, StepEvent, RunSummary, Branch as DenoiseBranch } from "./sampling/types.js";

// Schedulers (built from a pipeline's own scheduler config).
export {
  createScheduler,
  SUPPORTED_SCHEDULERS,
  UnsupportedSchedulerError,
  SeededNoiseSource,
  ReplayNoiseSource,
  FlowMatchEulerDiscreteScheduler,
  UniPCMultistepScheduler,
  DPMSolverMultistepScheduler,
  CogVideoXDDIMScheduler,
  CogVideoXDPMScheduler,
} from "./schedulers/index.js";
export type {
  DiffusersSchedulerConfig,
  NoiseSource,
  PredictionType,
  Scheduler,
  SchedulerSpec,
  SetTimestepsOptions,
  SchedulerErrorCode,
} from "./schedulers/index.js";

// Cache policies, sensitivity profiles, calibration.
export * from "./policies/index.js";
export * from "./sensitivity/index.js";

// Benchmarking (what `sencache bench` runs).
export { runBench, type BenchOptions, type BenchProgress, type BenchResult, type BenchEnvironment, type TimingPair } from "./bench/harness.js";
export { writeBenchOutputs, writeBenchPlots, readBenchResult, benchMarkdown, type BenchFiles } from "./bench/report.js";
export { parseSweep, expandSettings, REFERENCE_LABEL, type BenchPlan, type PlanEntry, type Sweep, type PolicySetting } from "./bench/plan.js";
export type {
  Aggregates,
  SettingAggregate,
  MeanSe,
  PairedComparison,
  CurvePoint,
  NfePointValue,
  NfePointComparison,
  RunRecord,
  Clip,
} from "./bench/aggregate.js";
export { probeLpips, type LpipsStatus, type LpipsOptions } from "./bench/lpips.js";

// Mixed TS/Python pipelines.
export { callPython, pythonPromptHook, closePython, parseFunctionRef, type PythonFunctionRef } from "./interop/python.js";

export * as media from "./media/index.js";
export * as metrics from "./bench/metrics.js";
