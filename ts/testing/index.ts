/** Test helpers shipped as `sencache/testing`: a fake denoiser and a minimal reference loop. */

export { FakeDenoiser, fakeModel, sinusoidalEmbedding, seededNormal } from "./fake-denoiser.js";
export type { FakeDenoiserCall, Branch, DenoiseItem, Denoiser } from "./fake-denoiser.js";
export { flowSchedule, runTrajectory } from "./trajectory.js";
export type { TrajectoryOptions, TrajectoryResult } from "./trajectory.js";
