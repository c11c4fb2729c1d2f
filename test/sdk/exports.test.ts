/** The package's public surface, as a user imports it by name: what a user needs, and no wire internals. */
import test from "ava";
import * as sencache from "sencache";
import * as testing from "sencache/testing";

test("the root export has the SDK's bench, load and fake-free essentials", (t) => {
  const essentials = [
    "load", "openWorker", "Model", "generate", "runMany", "streamSample", "resolvePolicy",
    "registerPolicy", "calibrate", "runBench", "writeBenchOutputs", "parseSweep", "createScheduler", "SencacheError",
  ];
  for (const name of essentials) {
    t.is(typeof (sencache as Record<string, unknown>)[name], "function", name);
  }
});

test("the root export leaves out wire codec internals and numeric helpers", (t) => {
  const internals = [
    "encodeRequest", "decodeReply", "decodeFrames", "encodeFrames", "parseResult", "linspace",
    "calculateShift", "numel", "isDType", "tracebackSummary", "defaultPython", "checkEndpoint",
  ];
  for (const name of internals) {
    t.false(name in sencache, name);
  }
});

test("sencache/testing has a fake model beside the fake denoiser", (t) => {
  t.is(typeof testing.FakeModel, "function");
  t.is(typeof testing.FakeDenoiser, "function");
});
