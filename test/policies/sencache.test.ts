import test from "ava";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSencachePolicy } from "../../ts/policies/index.js";
import { ProfileError } from "../../ts/sensitivity/errors.js";
import { profileToJson } from "../../ts/sensitivity/profile-files.js";
import { makeProfile } from "../../ts/sensitivity/profile-validate.js";
import { FakeDenoiser, flowSchedule, runTrajectory, seededNormal } from "../../ts/testing/index.js";
import { FAKE_MODEL, computed, ctx, flatProfile, runInfo } from "./helpers.js";

const zeros = () => new Float32Array(4);
const at = (v: number) => Float32Array.from([v, 0, 0, 0]);

test("first step is always computed; last step only with forceLast", (t) => {
  const p = createSencachePolicy({ profile: flatProfile(0, 0), epsMain: 1, epsStart: 1 });
  t.is(p.decide(ctx({ step: 0, T: 10, latent: zeros() })).action, "compute");
  const last = computed(8, 10, zeros());
  t.is(p.decide(ctx({ step: 9, T: 10, latent: zeros(), last })).action, "reuse");
  const q = createSencachePolicy({ profile: flatProfile(0, 0), epsMain: 1, forceLast: true });
  t.like(q.decide(ctx({ step: 9, T: 10, latent: zeros(), last })), { action: "compute", reason: "forced last step" });
});

test("S exactly at ε·√N reuses; just above computes", (t) => {
  // N = 4 → √N = 2; ε_main = 0.25 → threshold 0.5; α_x = 1, α_t = 0 → S = ‖x − x_ref‖.
  const p = createSencachePolicy({ profile: flatProfile(1, 0), epsMain: 0.25, n: 5 });
  const last = computed(4, 10, zeros());
  const d = p.decide(ctx({ step: 5, T: 10, latent: at(0.5), last }));
  t.like(d, { action: "reuse", score: 0.5, threshold: 0.5 });
  const e = p.decide(ctx({ step: 5, T: 10, latent: at(0.5000001), last }));
  t.is(e.action, "compute");
});

test("the score adds α_t·|t − t_ref| with α's looked up at the nearest calibrated timestep to t_ref", (t) => {
  const profile = makeProfile({ timesteps: [0, 500, 1000], J_x_norm: [1, 2, 3], J_t_norm: [0.1, 0.2, 0.3], validFor: {} });
  const p = createSencachePolicy({ profile, epsMain: 100, n: 5 });
  const last = computed(2, 10, zeros(), undefined, 760); // nearest calibrated t = 1000 → α = (3, 0.3)
  const d = p.decide(ctx({ step: 3, T: 10, latent: Float32Array.from([3, 4, 0, 0]), last, t: 700 }));
  t.is(d.score, 3 * 5 + 0.3 * 60);
  // α's frozen while reusing: the current t (700 → nearest 500) does not change them
  const d2 = p.decide(ctx({ step: 4, T: 10, latent: Float32Array.from([3, 4, 0, 0]), last, t: 400, streak: 1 }));
  t.is(d2.score, 3 * 5 + 0.3 * 360);
});

test("n = 1 allows exactly one reuse, then computes; n = 0 never reuses", (t) => {
  const p = createSencachePolicy({ profile: flatProfile(0, 0), epsMain: 1, n: 1 });
  const last = computed(4, 10, zeros());
  t.is(p.decide(ctx({ step: 5, T: 10, latent: zeros(), last, streak: 0 })).action, "reuse");
  t.like(p.decide(ctx({ step: 6, T: 10, latent: zeros(), last, streak: 1 })), { action: "compute", reason: "streak limit" });
  const q = createSencachePolicy({ profile: flatProfile(0, 0), epsMain: 1, n: 0 });
  t.is(q.decide(ctx({ step: 5, T: 10, latent: zeros(), last, streak: 0 })).action, "compute");
});

for (const [T, switchAt] of [[7, 1], [10, 2], [33, 7], [50, 10]] as const) {
  test(`ε_start applies for k < round(0.2·T) = ${switchAt} when T = ${T}`, (t) => {
    const p = createSencachePolicy({ profile: flatProfile(1, 0), epsStart: 0.01, epsMain: 0.1, n: 3 });
    const thr = (k: number) => p.decide(ctx({ step: k, T, latent: zeros(), last: computed(k - 1, T, zeros()) })).threshold;
    if (switchAt > 1) t.is(thr(switchAt - 1), 0.01 * 2);
    t.is(thr(switchAt), 0.1 * 2);
    t.is(thr(T - 1), 0.1 * 2);
  });
}

test("a NaN score computes and is reported in diagnostics", (t) => {
  const p = createSencachePolicy({ profile: flatProfile(1, 0), epsMain: 1e9 });
  const last = computed(4, 10, zeros());
  const d = p.decide(ctx({ step: 5, T: 10, latent: Float32Array.from([NaN, 0, 0, 0]), last }));
  t.is(d.action, "compute");
  t.regex(p.diagnostics!().join("\n"), /score was not finite.*1 step, first at step 5/);
  p.reset();
  t.deepEqual(p.diagnostics!(), []);
});

test("a path-given profile is loaded in prepare and checked against the run", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sencache-"));
  const path = join(dir, "p.json");
  await writeFile(
    path,
    profileToJson(
      makeProfile(
        {
          timesteps: [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100],
          J_x_norm: Array(10).fill(1),
          J_t_norm: Array(10).fill(0),
          validFor: { model: { family: "wan", source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" } },
        },
      ),
    ),
  );
  const p = createSencachePolicy({ profile: path });
  t.throws(() => p.decide(ctx({ step: 1, T: 10, latent: zeros(), last: computed(0, 10, zeros()) })), { message: /prepare/ });
  await p.prepare!(runInfo(10, { model: { family: "wan", source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" } }));
  t.is(p.decide(ctx({ step: 1, T: 10, latent: zeros(), last: computed(0, 10, zeros()) })).action, "reuse");
  const err = await t.throwsAsync(Promise.resolve(p.prepare!(runInfo(10, { model: { family: "cogvideox", source: "THUDM/CogVideoX-2b" } }))));
  t.true(ProfileError.isInstance(err));
  t.is((err as ProfileError).code, "profile_model_mismatch");
  const e2 = await t.throwsAsync(Promise.resolve(p.prepare!(runInfo(20, { model: { family: "wan", source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" } }))));
  t.is((e2 as ProfileError).code, "profile_timesteps_mismatch");
  const logs: string[] = [];
  const r = createSencachePolicy({ profile: path, resampleProfile: true });
  await r.prepare!(runInfo(20, { model: { family: "wan", source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" }, log: (m) => logs.push(m) }));
  t.regex(logs.join(), /resampled it by nearest timestep/);
  t.regex(r.diagnostics!().join(), /resampled/);
});

test("whole trajectories on the fake denoiser: more tolerance, fewer evaluations; guidance counts one NFE per step", async (t) => {
  const latent = seededNormal(64, 7);
  const profile = flatProfile(1, 0.001, Array.from(flowSchedule(30).timesteps), { model: FAKE_MODEL });
  const nfe = async (eps: number, g = 1) => {
    const r = await runTrajectory(
      { policy: createSencachePolicy({ profile, epsStart: eps / 10, epsMain: eps, n: 3 }), denoiser: new FakeDenoiser(), latent, steps: 30, guidanceScale: g },
    );
    t.deepEqual(r.diagnostics, []);
    t.is(r.computedSteps[0], 0);
    return r.nfe;
  };
  const tight = await nfe(1e-4);
  const loose = await nfe(0.05);
  t.is(tight, 30);
  t.true(loose < tight && loose >= Math.ceil(30 / 4), `loose NFE ${loose}`);
  const den = new FakeDenoiser();
  const guided = await runTrajectory({ policy: createSencachePolicy({ profile, epsMain: 0.05, n: 3 }), denoiser: den, latent, steps: 30, guidanceScale: 5 });
  t.is(den.calls.length, 2 * guided.nfe);
  t.deepEqual(den.calls.slice(0, 2).map((c) => c.branch), ["cond", "uncond"]);
});
