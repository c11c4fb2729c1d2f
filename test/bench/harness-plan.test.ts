/** Sweep syntax and plan expansion of the benchmark harness (no model needed). */
import test from "ava";
import { expandSettings, parseSweep } from "../../ts/bench/plan.js";

test("parseSweep: values follow the swept key; later key=value options are shared", (t) => {
  t.deepEqual(parseSweep("sencache:eps=0.05,0.1,0.2"), { policy: "sencache", param: "eps", values: ["0.05", "0.1", "0.2"] });
  t.deepEqual(
    parseSweep("sencache:nfe=14..26..4,n=3,resample=true"),
    { policy: "sencache", param: "nfe", values: ["14", "18", "22", "26"], options: "n=3,resample=true" },
  );
  t.deepEqual(parseSweep("fixed-interval:k=2..5").values, ["2", "3", "4", "5"]);
});

test("parseSweep: bad sweeps fail with a hint", (t) => {
  for (const bad of ["sencache", "sencache:0.1,0.2", "sencache:eps=0.1,n=2,0.3", "fixed-interval:k=5..2"]) {
    const error = t.throws(() => parseSweep(bad));
    t.regex(error!.message, /sweep/i, bad);
  }
});

test("expandSettings: sweeps expand, the default profile goes only to policies that take one, ids resolve", (t) => {
  const profile = "/nowhere/profile.json"; // only loaded when a run prepares
  const settings = expandSettings(
    { settings: ["none", "fixed-interval:k=3", parseSweep("sencache:eps=0.1,0.2"), { policy: "sencache", param: "nfe", values: [12] }], profile },
  );
  t.deepEqual(settings.map((s) => s.label), ["fixed-interval:k=3", "sencache:eps=0.1", "sencache:eps=0.2", "sencache:nfe=12"]);
  t.deepEqual(settings.map((s) => s.policy), ["fixed-interval", "sencache", "sencache", "sencache-budget"]);
  t.deepEqual(settings[0]!.overrides, {});
  t.deepEqual(settings[1]!.overrides, { profile });
  // A spec naming its own profile keeps it.
  t.deepEqual(expandSettings({ settings: ["sencache:eps=0.1,profile=/a.json"], profile })[0]!.overrides, {});
});

test("expandSettings: duplicates, unknown policies and a missing profile fail before any run", (t) => {
  t.throws(() => expandSettings({ settings: ["fixed-interval:k=2", "fixed-interval:k=2"] }), { message: /twice/ });
  t.throws(() => expandSettings({ settings: ["nosuch:x=1"] }), { message: /no cache policy/ });
  t.throws(() => expandSettings({ settings: ["sencache:eps=0.1"] }), { message: /profile/ });
});
