import test from "ava";
import { interpolate, makeProfile, profileFromJson, profileToJson, propagationGain, transferProfile, validateProfile, assertProfileCompatible } from "../../ts/sensitivity/profile.js";
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
