/** Test helpers shipped as `sencache/testing`: a fake denoiser, a fake model for generate()/runMany(), and a minimal reference loop. */

export { FakeDenoiser, fakeModel, sinusoidalEmbedding, seededNormal } from "./fake-denoiser.js";
export type { FakeDenoiserCall, Branch, DenoiseItem, Denoiser } from "./fake-denoiser.js";
export { flowSchedule, runTrajectory } from "./trajectory.js";
export type { TrajectoryOptions, TrajectoryResult } from "./trajectory.js";
export { FakeModel, type FakeModelOptions } from "./fake-model.js";
