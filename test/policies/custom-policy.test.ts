import test from "ava";
import { createPolicyRegistry, registerPolicy, resolvePolicy, PolicyOptionsError } from "../../ts/policies/index.js";
import { FakeDenoiser, runTrajectory, seededNormal } from "../../ts/testing/index.js";
import { sigmaGapFactory } from "../../examples/custom-policy.js";

test("the example plugin registers and runs through the public API", async (t) => {
  registerPolicy(sigmaGapFactory);
  const policy = resolvePolicy("sigma-gap:maxGap=0.12");
  t.is(policy.id, "sigma-gap");
  t.deepEqual(policy.options, { maxGap: 0.12 });
  // σ falls by 0.05 per step over 20 steps: gaps 0.05 and 0.10 reuse, 0.15 computes → 0, 3, 6, …
  const r = await runTrajectory({ policy, denoiser: new FakeDenoiser(), latent: seededNormal(8, 1), steps: 20 });
  t.deepEqual(r.computedSteps, [0, 3, 6, 9, 12, 15, 18]);
  t.like(r.decisions[1], { action: "reuse", reason: "σ close to the cached step" });
});

test("the example plugin validates its options with typed errors", (t) => {
  const registry = createPolicyRegistry();
  registry.register(sigmaGapFactory);
  const e = t.throws(() => registry.resolve("sigma-gap"));
  t.true(PolicyOptionsError.isInstance(e));
  t.is((e as PolicyOptionsError).code, "missing_option");
  t.is((t.throws(() => registry.resolve("sigma-gap:maxGap=-1")) as PolicyOptionsError).code, "invalid_option");
  t.deepEqual(registry.resolve("sigma-gap:x=0.2").options, { maxGap: 0.2 });
});
