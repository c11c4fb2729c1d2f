export { WorkerClient, type ClientOptions, type RequestOptions, type WorkerLike } from "./client.js";
export * from "./codec.js";
export { WorkerProcess, PACKAGE_ROOT, defaultPython, tracebackSummary, isWorkerDied, type SpawnOptions } from "./supervisor.js";
export { openWorker, type OpenedWorker, type OpenWorkerOptions } from "./open.js";
export { isRemoteEndpoint, checkEndpoint, readKey, writeKeyPair, type SecurityOptions, type KeyFiles } from "./security.js";
export { WorkerPool, openPool, readPoolFile, type PoolOptions, type PoolEndpoint, type PoolEvent } from "./pool.js";
