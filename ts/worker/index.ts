export { WorkerClient, type ClientOptions, type RequestOptions, type WorkerLike } from "./client.js";
export { isDType, numel, float32Tensor, type DType, type TensorData, type Tensor } from "./tensors.js";
export { decodeFrames, encodeFrames, type WireMessage } from "./frames.js";
export {
  camel,
  nullable,
  oneOf,
  list,
  record,
  optional,
  withDefault,
  str,
  num,
  int,
  bool,
  opaque,
  intMap,
  dims2,
  dims3,
  type Kind,
  type Optional,
  type Fields,
  type Camel,
  type Infer,
} from "./header-fields.js";
export type { TensorSpec, TensorList, NamedTensor, OpSpec } from "./op-spec.js";
export * from "./ops.js";
export * from "./codec.js";
export { WorkerProcess, PACKAGE_ROOT, defaultPython, tracebackSummary, isWorkerDied, type SpawnOptions } from "./supervisor.js";
export { openWorker, type OpenedWorker, type OpenWorkerOptions } from "./open.js";
export { isRemoteEndpoint, checkEndpoint, clientKeyPair, readKey, writeKeyPair, type SecurityOptions, type KeyFiles } from "./security.js";
export { readPoolFile } from "./pool-file.js";
export { WorkerPool, openPool, type PoolOptions, type PoolEndpoint, type PoolEvent } from "./pool.js";
