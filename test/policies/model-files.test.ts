/** A bare spec resolved for a model takes the model's own calibration files, and says when constants are another model's. */
import test from "ava";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PolicyOptionsError } from "../../ts/policies/errors.js";
import { resolvePolicyForModel } from "../../ts/policies/model-files.js";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";

const bundled = { source: join(PACKAGE_ROOT, "models", "tiny-wan-t2v") };
const bare = { source: mkdtempSync(join(tmpdir(), "sencache-bare-model-")) };

test("sencache without profile= uses the model's sensitivity.json (also in budget mode)", (t) => {
  for (const spec of ["sencache", "sencache:preset=fast", "sencache:nfe=18"]) {
    const { policy, notes } = resolvePolicyForModel(spec, bundled);
    t.is((policy.options as { profile?: unknown }).profile, join(bundled.source, "sensitivity.json"), spec);
    t.regex(notes.join("\n"), /own sensitivity profile/);
  }
  const explicit = resolvePolicyForModel("sencache:profile=mine.json", bundled);
  t.is((explicit.policy.options as { profile?: unknown }).profile, "mine.json");
});

test("sencache on a model without a profile is refused in CLI terms", (t) => {
  const e = t.throws(() => resolvePolicyForModel("sencache", bare));
  t.true(PolicyOptionsError.isInstance(e));
  t.regex(e!.message, /has no sensitivity\.json; add profile=<file\.json\|file\.npz>.*sencache calibrate --model/);
  t.notRegex(e!.message, /profile object/);
});

test("bare magcache prefers the model's magcache-ratios.json; without one it warns that the ratios are Wan 1.3B's", (t) => {
  const own = resolvePolicyForModel("magcache", bundled);
  t.is((own.policy.options as { ratiosFile?: string }).ratiosFile, join(bundled.source, "magcache-ratios.json"));
  t.true(Array.isArray((own.policy.options as { ratios?: unknown }).ratios));
  const published = resolvePolicyForModel("magcache:delta=0.1", bare);
  t.regex(published.notes.join("\n"), /published for Wan 2\.1 T2V 1\.3B are used on another model/);
  t.deepEqual(resolvePolicyForModel("magcache:model=wan2.1-t2v-1.3b", bare).notes, [], "named constants: the user chose them");
  t.deepEqual(resolvePolicyForModel("magcache", { source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" }).notes, []);
});

test("bare teacache on another model warns that its coefficients are Wan 1.3B's", (t) => {
  t.regex(resolvePolicyForModel("teacache:delta=0.08", bundled).notes.join("\n"), /published for Wan 2\.1 T2V 1\.3B, not/);
  t.deepEqual(resolvePolicyForModel("teacache", { source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" }).notes, []);
});
