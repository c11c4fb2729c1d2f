/**
 * The SDK in one call: open the bundled model (worker spawned and supervised behind it), generate one
 * clip with SenCache using the model's own sensitivity profile, and print what the cache did.
 *
 *   npx tsx examples/generate.ts
 */
import * as sencache from "sencache";

const model = await sencache.load("models/tiny-wan-t2v", { device: "cpu" });
try {
  const { policy, notes } = sencache.resolvePolicyForModel("sencache:preset=fast", model); // the model's own sensitivity.json
  for (const n of notes) console.log(`note: ${n}`);
  const result = await sencache.generate(model, { prompt: "a red square moving right on a blue background", seed: 0, policy });
  const s = result.summary;
  console.log(`${s.policy}: NFE ${s.nfe} of ${s.totalSteps} (speed-up ×${s.speedup.toFixed(2)}), reused steps [${s.reusedSteps.join(", ")}]`);
} finally {
  await model.close();
}
