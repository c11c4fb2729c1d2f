import test from "ava";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ProfileError,
  aggregateProfile,
  assertProfileCompatible,
  eulerStep,
  flowNoise,
  loadProfile,
  lookup,
  makeProfile,
  measure,
  meanStd,
  nextTimestep,
  profileFromJson,
  resampleProfile,
  saveProfile,
} from "../../ts/sensitivity/index.js";
import { schedulerConfigHash } from "../../ts/schedulers/index.js";

const wan = { family: "wan", source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" };
const sched = {
  className: "FlowMatchEulerDiscreteScheduler",
  configHash: schedulerConfigHash("FlowMatchEulerDiscreteScheduler", { shift: 3, num_train_timesteps: 1000 }),
};
const profile = makeProfile({
  timesteps: [1000, 750, 500, 250],
  J_x_norm: [1, 2, 3, 4],
  J_t_norm: [0.1, 0.2, 0.3, 0.4],
  sampleCounts: [8, 8, 8, 8],
  J_x_std: [0, 0.1, 0.2, 0.3],
  J_t_std: [0, 0, 0, 0],
  validFor: { model: wan, scheduler: sched, steps: 4, latentShape: [16, 21, 60, 104] },
});
const run = { timesteps: [1000, 750, 500, 250], latentShape: [16, 21, 60, 104], model: wan, scheduler: sched };

test("lookup takes the nearest calibrated timestep", (t) => {
  t.like(lookup(profile, 990), { index: 0, alphaX: 1, alphaT: 0.1 });
  t.like(lookup(profile, 620), { index: 2, t: 500 });
  t.like(lookup(profile, 0), { index: 3 });
  t.like(lookup(profile, 625), { index: 1 }); // tie → first
});

test("JSON round trip and validation errors", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "profile-"));
  await saveProfile(join(dir, "p.json"), profile);
  t.deepEqual(await loadProfile(join(dir, "p.json")), profile);
  const bad = (obj: unknown) => (t.throws(() => profileFromJson(JSON.stringify(obj))) as ProfileError).code;
  t.is(bad({ ...profile, J_x_norm: [1, 2] }), "invalid_profile");
  t.is(bad({ ...profile, version: 2 }), "invalid_profile");
  t.is(bad({ ...profile, J_t_norm: [1, 2, -1, 3] }), "invalid_profile");
  t.is(bad({ ...profile, validFor: { steps: 0 } }), "invalid_profile");
  t.is((t.throws(() => profileFromJson("{")) as ProfileError).code, "invalid_profile");
  // Per-sample rows: optional, but when present both, one value (or null) per timestep, non-negative.
  const rows = { J_x_samples: [[1, 2, null, 4]], J_t_samples: [[0.1, 0.2, null, 0.4]] };
  t.deepEqual(profileFromJson(JSON.stringify({ ...profile, ...rows })).J_t_samples, rows.J_t_samples);
  t.is(bad({ ...profile, J_x_samples: rows.J_x_samples }), "invalid_profile");
  t.is(bad({ ...profile, ...rows, J_x_samples: [[1, 2, 3]] }), "invalid_profile");
  t.is(bad({ ...profile, ...rows, J_t_samples: [[1, 2, -3, 4]] }), "invalid_profile");
  t.is(bad({ ...profile, ...rows, J_t_samples: [[1, 2, 3, 4], [1, 2, 3, 4]] }), "invalid_profile");
  t.is(((await t.throwsAsync(loadProfile(join(dir, "missing.json")))) as ProfileError).code, "profile_io");
});

test("compatibility: a matching run passes; model, shape, scheduler and timestep differences are typed errors", (t) => {
  t.like(assertProfileCompatible(profile, run), { resampled: false, unchecked: [] });
  const code = (r: object, o = {}) => (t.throws(() => assertProfileCompatible(profile, { ...run, ...r }, o)) as ProfileError).code;
  t.is(code({ model: { family: "cogvideox", source: "THUDM/CogVideoX-2b" } }), "profile_model_mismatch");
  t.is(code({ latentShape: [16, 21, 90, 160] }), "profile_shape_mismatch");
  t.is(code({ scheduler: { ...sched, configHash: "different" } }), "profile_scheduler_mismatch");
  t.is(code({ timesteps: [1000, 800, 600, 400, 200] }), "profile_timesteps_mismatch");
  // resample fixes schedule differences only, and logs it
  const logs: string[] = [];
  const r = assertProfileCompatible(profile, { ...run, timesteps: [1000, 800, 600, 400, 200] }, { resample: true, log: (m) => logs.push(m) });
  t.true(r.resampled);
  t.deepEqual(r.profile.J_x_norm, [1, 2, 3, 3, 4]); // 1000→1000, 800→750, 600→500, 400→500, 200→250
  t.regex(logs[0]!, /resampled it by nearest timestep/);
  t.is(code({ model: { family: "x", source: "y" } }, { resample: true }), "profile_model_mismatch");
  // force accepts another model, loudly
  const forced = assertProfileCompatible(profile, { ...run, model: { family: "x", source: "y" } }, { force: true, log: (m) => logs.push(m) });
  t.is(forced.profile, profile);
  t.regex(logs.at(-1)!, /using it anyway/);
  // a profile that records nothing can't be checked: say which fields
  t.deepEqual(
    assertProfileCompatible(makeProfile({ timesteps: [1000, 750, 500, 250], J_x_norm: [1, 1, 1, 1], J_t_norm: [1, 1, 1, 1], validFor: {} }), run).unchecked,
    ["model", "latentShape", "scheduler"],
  );
});

test("resampling copies the nearest calibrated timestep's values", (t) => {
  const r = resampleProfile(profile, [900, 600, 100]);
  t.deepEqual(r.J_x_norm, [1, 3, 4]); // 900→1000, 600→500, 100→250
  t.deepEqual(r.sampleCounts, [8, 8, 8]);
  t.is(r.validFor.steps, 3);
});

test("scheduler hashes ignore key order and diffusers' private keys", (t) => {
  t.is(schedulerConfigHash("A", { b: 1, a: [1, 2] }), schedulerConfigHash("A", { a: [1, 2], b: 1, _diffusers_version: "0.33" }));
  t.not(schedulerConfigHash("A", { shift: 3 }), schedulerConfigHash("A", { shift: 5 }));
  t.not(schedulerConfigHash("A", { shift: 3 }), schedulerConfigHash("B", { shift: 3 }));
});

test("calibration maths: J_x = ‖y' − y‖/‖x' − x‖, J_t = ‖f(x, t_{k+1}) − y‖/|Δt|, averaged with spread", (t) => {
  const m = measure([0, 0], [3, 4], [0, 0], [0, 1], [0, 2], 1000, 990);
  t.deepEqual(m, { dyLatent: 5, dx: 1, dyTime: 2, dt: 10 });
  t.deepEqual(meanStd([1, 3]), { mean: 2, std: Math.SQRT2, count: 2 });
  t.deepEqual(meanStd([4]), { mean: 4, std: 0, count: 1 });
  t.is(nextTimestep([1000, 500], 0), 500);
  t.is(nextTimestep([1000, 500], 1), 0);
  t.deepEqual(Array.from(flowNoise([1, 1], [0, 2], 0.25)), [0.75, 1.25]);
  t.deepEqual(Array.from(eulerStep([1, -1], [0, 0], 1, 0.5)), [-0.5, 0.5]);
  const { profile: p, dropped } = aggregateProfile(
    [1000, 500],
    [
      [{ dyLatent: 2, dx: 1, dyTime: 1, dt: 500 }, { dyLatent: 4, dx: 1, dyTime: 1, dt: 500 }],
      [{ dyLatent: 4, dx: 1, dyTime: 3, dt: 500 }, { dyLatent: 1, dx: 0, dyTime: 1, dt: 500 }], // dx = 0 → dropped
    ],
    { model: wan },
  );
  t.deepEqual(p.J_x_norm, [3, 4]);
  t.deepEqual(p.J_t_norm, [0.004, 0.002]);
  t.deepEqual(p.sampleCounts, [2, 1]);
  t.deepEqual(p.J_x_std, [Math.SQRT2, 0]);
  // Every sample's values are kept, null where dropped.
  t.deepEqual(p.J_x_samples, [[2, 4], [4, null]]);
  t.deepEqual(p.J_t_samples, [[0.002, 0.002], [0.006, null]]);
  t.deepEqual(profileFromJson(JSON.stringify(p)).J_x_samples, [[2, 4], [4, null]]);
  t.deepEqual(dropped, [0, 1]);
  t.is(p.validFor.steps, 2);
  t.throws(() => aggregateProfile([1000], [[{ dyLatent: 1, dx: 0, dyTime: 1, dt: 1 }]], {}), { instanceOf: RangeError });
});
