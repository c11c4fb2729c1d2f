import test from "ava";
import { resampleProfile, transferProfile } from "../../ts/sensitivity/profile-carry.js";
import { assertProfileCompatible } from "../../ts/sensitivity/profile-compatibility.js";
import { profileFromJson, profileToJson } from "../../ts/sensitivity/profile-files.js";
import { interpolate, propagationGain } from "../../ts/sensitivity/profile-lookup.js";
import { makeProfile, validateProfile } from "../../ts/sensitivity/profile-validate.js";
import { withExpertSections } from "../../ts/sensitivity/profile-experts.js";
import { ProfileError } from "../../ts/sensitivity/errors.js";

const base = () =>
  makeProfile({
    timesteps: [1000, 750, 500, 250],
    J_x_norm: [8, 4, 2, 1],
    J_t_norm: [0.4, 0.3, 0.2, 0.1],
    validFor: { steps: 4 },
    propagation: { version: 1, timesteps: [750, 500, 250], gain: [3, 1, 0.5], samples: 2, steps: 4, guidanceScale: 5 },
  });

test("interpolate: linear between nodes, clamped outside, any order of nodes", (t) => {
  t.is(interpolate([0, 10], [1, 3], 5), 2);
  t.is(interpolate([10, 0], [3, 1], 2.5), 1.5);
  t.is(interpolate([0, 10], [1, 3], -4), 1);
  t.is(interpolate([0, 10], [1, 3], 40), 3);
});

test("transferProfile on the calibrated schedule returns the calibrated values", (t) => {
  const p = base();
  const q = transferProfile(p, p.timesteps);
  t.deepEqual(q.J_x_norm, p.J_x_norm);
  for (let i = 0; i < 4; i++) t.true(Math.abs(q.J_t_norm[i]! - p.J_t_norm[i]!) < 1e-12);
  t.deepEqual(q.propagation, p.propagation);
});

test("transferProfile: J_x interpolated; J_t the interval-weighted mean of the calibrated secants", (t) => {
  const q = transferProfile(base(), [1000, 500]);
  t.deepEqual(q.J_x_norm, [8, 2]);
  // run interval [500, 1000] covers the calibrated [750, 1000] (0.4) and [500, 750] (0.3) equally
  t.true(Math.abs(q.J_t_norm[0]! - 0.35) < 1e-12);
  // [0, 500]: [250, 500] (0.2) and [0, 250] (0.1)
  t.true(Math.abs(q.J_t_norm[1]! - 0.15) < 1e-12);
  const finer = transferProfile(base(), [875, 625]);
  t.deepEqual(finer.J_x_norm, [6, 3]);
  // [625, 875]: half of [750,1000] at 0.4, half of [500,750] at 0.3
  t.true(Math.abs(finer.J_t_norm[0]! - 0.35) < 1e-12);
  t.is(finer.validFor.steps, 2);
});

test("assertProfileCompatible carries a profile over by interpolation on request", (t) => {
  const notes: string[] = [];
  const r = assertProfileCompatible(base(), { timesteps: [1000, 500] }, { resample: true, resampleMethod: "interpolate", log: (m) => notes.push(m) });
  t.true(r.resampled);
  t.deepEqual(r.profile.J_x_norm, [8, 2]);
  t.regex(notes.join(), /carried it over by timestep/);
  // the default method stays nearest-timestep
  t.deepEqual(assertProfileCompatible(base(), { timesteps: [900, 400] }, { resample: true, log: () => {} }).profile.J_x_norm, [8, 2]);
});

test("propagation: round-trips through JSON, is looked up by timestep, and is validated", (t) => {
  const p = profileFromJson(profileToJson(base()));
  t.deepEqual(p.propagation?.gain, [3, 1, 0.5]);
  t.is(propagationGain(p, 625), 2);
  t.is(propagationGain(p, 1000), 3);
  t.is(propagationGain(makeProfile({ timesteps: [1], J_x_norm: [1], J_t_norm: [1], validFor: {} }), 1), undefined);
  const bad = (patch: Record<string, unknown>) => {
    const o = JSON.parse(profileToJson(base()));
    o.propagation = { ...o.propagation, ...patch };
    return t.throws(() => validateProfile(o, "x"));
  };
  t.true(ProfileError.isInstance(bad({ version: 2 })));
  t.regex(bad({ version: 2 })!.message, /propagation.version/);
  t.regex(bad({ gain: [1, 2] })!.message, /propagation.gain/);
  t.regex(bad({ gain: [1, -2, 3] })!.message, /negative/);
  t.regex(bad({ samples: 0 })!.message, /propagation.samples/);
});

test("a version-2 (two-expert) profile carried to another schedule keeps one section per expert, each from its own section", (t) => {
  const experts = [
    { name: "transformer", tMin: 875, tMax: 1000 },
    { name: "transformer_2", tMin: 0, tMax: 875 },
  ];
  const ts = [1000, 950, 900, 800, 600, 400, 200];
  const whole = makeProfile({
    timesteps: ts,
    J_x_norm: ts.map((x) => (x >= 875 ? 1 : 100)),
    J_t_norm: ts.map((x) => (x >= 875 ? 2 : 50)),
    J_x_samples: [ts.map((x) => (x >= 875 ? 1 : 100))],
    J_t_samples: [ts.map((x) => (x >= 875 ? 2 : 50))],
    validFor: { steps: ts.length },
    propagation: base().propagation!,
  });
  const p = withExpertSections(whole, experts, ts);
  t.is(p.version, 2);
  const target = [1000, 980, 930, 880, 870, 700, 500, 300, 100, 20];
  for (const carry of [transferProfile, resampleProfile]) {
    const q = carry(p, target);
    t.is(q.version, 2, carry.name);
    const want = [["transformer", [1000, 980, 930, 880]], ["transformer_2", [870, 700, 500, 300, 100, 20]]];
    t.deepEqual(q.experts?.map((e) => [e.name, e.timesteps]), want, carry.name);
    // Nothing leaks across the boundary: t = 870 (low-noise expert) is 100 though its nearest calibrated neighbour of the
    // whole profile, 900, belongs to the other expert; t = 880 is 1.
    t.true(q.experts![0]!.J_x_norm.every((v) => v === 1), carry.name);
    t.true(q.experts![1]!.J_x_norm.every((v) => v === 100), carry.name);
    t.deepEqual(q.J_x_norm, [...q.experts![0]!.J_x_norm, ...q.experts![1]!.J_x_norm]);
    t.is(q.validFor.steps, target.length);
    t.deepEqual(q.propagation, p.propagation);
    if (carry === resampleProfile) t.deepEqual(q.J_x_samples, [q.J_x_norm]);
    t.deepEqual(validateProfile(JSON.parse(profileToJson(q))), q);
  }
  // Through the compatibility check (what resampleProfile=true does) too.
  const run = { timesteps: target };
  for (const resampleMethod of ["nearest", "interpolate"] as const) {
    const r = assertProfileCompatible(p, run, { resample: true, resampleMethod, log: () => undefined });
    t.deepEqual(r.profile.experts?.map((e) => e.timesteps.length), [4, 6], resampleMethod);
  }
  // An expert with none of the schedule's timesteps is left out.
  t.deepEqual(resampleProfile(p, [500, 100]).experts?.map((e) => e.name), ["transformer_2"]);
});
