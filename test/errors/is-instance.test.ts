/** `isInstance` of each error class is true for that class (and its subclasses) only, across copies of the package. */
import test from "ava";
import { AbortError, InvalidInputError, ProtocolError, SencacheError, WorkerDiedError, WorkerError, WorkerTimeoutError } from "../../ts/errors.js";
import { PolicyOptionsError, PolicyRegistryError } from "../../ts/policies/errors.js";
import { UnsupportedSchedulerError } from "../../ts/schedulers/errors.js";
import { ProfileError } from "../../ts/sensitivity/errors.js";

const make = {
  WorkerError: () => new WorkerError("bad_shape", "m", "denoise"),
  ProtocolError: () => new ProtocolError("m"),
  WorkerTimeoutError: () => new WorkerTimeoutError("m"),
  WorkerDiedError: () => new WorkerDiedError("m"),
  InvalidInputError: () => new InvalidInputError("m"),
  AbortError: () => new AbortError(),
  PolicyOptionsError: () => new PolicyOptionsError("invalid_option", "p", "m"),
  PolicyRegistryError: () => new PolicyRegistryError("unknown_policy", "p", "m"),
  UnsupportedSchedulerError: () => new UnsupportedSchedulerError("invalid_scheduler_config", "m"),
  ProfileError: () => new ProfileError("invalid_profile", "m"),
};
const classes = {
  WorkerError,
  ProtocolError,
  WorkerTimeoutError,
  WorkerDiedError,
  InvalidInputError,
  AbortError,
  PolicyOptionsError,
  PolicyRegistryError,
  UnsupportedSchedulerError,
  ProfileError,
};

test("each class's isInstance recognises its own errors and no other class's", (t) => {
  for (const [name, cls] of Object.entries(classes)) {
    for (const [other, build] of Object.entries(make)) {
      t.is(cls.isInstance(build()), name === other, `${name}.isInstance(new ${other}())`);
    }
  }
  t.false(WorkerDiedError.isInstance(new SencacheError("x", "m")));
  t.false(AbortError.isInstance(new Error("m")));
});

test("SencacheError.isInstance is true for every sencache error", (t) => {
  for (const [name, build] of Object.entries(make)) t.true(SencacheError.isInstance(build()), name);
  t.false(SencacheError.isInstance(new Error("m")));
  t.false(SencacheError.isInstance(null));
});

test("isInstance works across copies of the package (a plain object carrying the brands)", (t) => {
  // Another copy's error has none of this copy's prototypes, only the global-symbol brands.
  const copy = Object.assign(Object.create(Error.prototype) as object, { ...make.WorkerDiedError() }) as Record<symbol, unknown>;
  for (const s of Object.getOwnPropertySymbols(make.WorkerDiedError())) copy[s] = true;
  t.true(WorkerDiedError.isInstance(copy));
  t.true(SencacheError.isInstance(copy));
  t.false(InvalidInputError.isInstance(copy));
  t.false(copy instanceof WorkerDiedError);
});
