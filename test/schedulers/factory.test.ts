import test from "ava";
import { createScheduler, SeededNoiseSource, SUPPORTED_SCHEDULERS, UnsupportedSchedulerError } from "../../ts/schedulers/index.js";

test("an unknown scheduler class is a typed error naming the supported classes", (t) => {
  const err = t.throws(() => createScheduler({ className: "LCMScheduler", config: {} }, 10));
  t.true(UnsupportedSchedulerError.isInstance(err));
  t.is((err as UnsupportedSchedulerError).code, "unsupported_scheduler_class");
  t.regex(err!.message, /LCMScheduler/);
  for (const name of SUPPORTED_SCHEDULERS) t.true(err!.message.includes(name));
});

test("an unsupported option value is a typed error naming the option and what is supported", (t) => {
  const err = t.throws(() =>
    createScheduler({ className: "FlowMatchEulerDiscreteScheduler", config: { time_shift_type: "cosine" } }, 10),
  );
  t.true(UnsupportedSchedulerError.isInstance(err));
  t.is((err as UnsupportedSchedulerError).code, "unsupported_scheduler_option");
  t.regex(err!.message, /time_shift_type/);
  t.regex(err!.message, /"exponential", "linear"/);
});

test("dynamic shifting without mu is a typed call error", (t) => {
  const err = t.throws(() =>
    createScheduler({ className: "FlowMatchEulerDiscreteScheduler", config: { use_dynamic_shifting: true } }, 10),
  );
  t.is((err as UnsupportedSchedulerError).code, "invalid_scheduler_call");
});

test("SeededNoiseSource is deterministic, seed-dependent and roughly standard normal", (t) => {
  const a = new SeededNoiseSource(42).normal(20001);
  const b = new SeededNoiseSource(42);
  const b1 = b.normal(10000);
  const b2 = b.normal(10001);
  t.deepEqual(a, Float32Array.from([...b1, ...b2]));
  const c = new SeededNoiseSource(43).normal(20001);
  t.notDeepEqual(a, c);
  let mean = 0;
  let sq = 0;
  for (const v of a) {
    mean += v;
    sq += v * v;
  }
  mean /= a.length;
  const variance = sq / a.length - mean * mean;
  t.true(Math.abs(mean) < 0.03, `mean ${mean}`);
  t.true(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
});
