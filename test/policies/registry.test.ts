import test from "ava";
import {
  POLICY_API_VERSION,
  PolicyOptionsError,
  PolicyRegistryError,
  createPolicyRegistry,
  definePolicy,
  listPolicies,
  parseSpec,
  resolvePolicy,
} from "../../ts/policies/index.js";
import { flatProfile } from "./helpers.js";

const profile = flatProfile(1, 0);

test("spec strings parse into id and raw options, brackets keep lists together", (t) => {
  t.deepEqual(parseSpec("none"), { id: "none", raw: {} });
  t.deepEqual(parseSpec(" sencache:eps=0.1,n=2 "), { id: "sencache", raw: { eps: "0.1", n: "2" } });
  t.deepEqual(parseSpec("teacache:coefficients=[1,-2,3e-1,4,5],delta=0.08").raw, { coefficients: "[1,-2,3e-1,4,5]", delta: "0.08" });
});

test("the brief's spec strings resolve to typed options", (t) => {
  const s = resolvePolicy("sencache:eps=0.1,n=2", { profile });
  t.is(s.id, "sencache");
  t.like(s.options as object, { epsMain: 0.1, n: 2, epsStart: 0.01, forceLast: false });
  t.is(resolvePolicy("none").id, "none");
  t.like(resolvePolicy("fixed-interval:k=3,warmup=2").options as object, { k: 3, warmup: 2, forceLast: false });
  t.like(resolvePolicy("teacache:delta=0.08").options as object, { delta: 0.08, model: "wan2.1-t2v-1.3b" });
  t.like(resolvePolicy("magcache:delta=0.12,k=4").options as object, { delta: 0.12, K: 4, retention: 0.2 });
  t.like(resolvePolicy("easycache:tau=0.05").options as object, { tau: 0.05, forceLast: true });
  t.like(resolvePolicy("sencache:preset=fast", { profile }).options as object, { epsMain: 0.2, n: 3 });
  t.like(resolvePolicy("sencache:eps_start=0.02,force-last=true", { profile }).options as object, { epsStart: 0.02, forceLast: true });
  t.deepEqual((resolvePolicy("teacache:coefficients=[1,2,3,4,5]").options as { coefficients: number[] }).coefficients, [1, 2, 3, 4, 5]);
  t.is(resolvePolicy("sencache:nfe=20", { profile }).id, "sencache-budget");
  t.is(resolvePolicy({ id: "fixed-interval", options: { k: 2 } }).id, "fixed-interval");
});

test("unknown ids list the known ones", (t) => {
  const err = t.throws(() => resolvePolicy("deepcache:k=2"));
  t.true(PolicyRegistryError.isInstance(err));
  t.is((err as PolicyRegistryError).code, "unknown_policy");
  t.true((err as PolicyRegistryError).known.includes("sencache"));
  t.regex(err!.message, /none, sencache/);
  t.deepEqual(
    listPolicies().map((p) => p.id),
    ["easycache", "fixed-interval", "magcache", "none", "sencache", "sencache-budget", "static-optimal", "teacache"],
  );
});

test("option errors are typed with stable codes", (t) => {
  const code = (f: () => unknown): string | undefined => {
    const e = t.throws(f);
    t.true(PolicyOptionsError.isInstance(e), String(e));
    return (e as PolicyOptionsError).code;
  };
  t.is(code(() => resolvePolicy("fixed-interval:k=0")), "invalid_option");
  t.is(code(() => resolvePolicy("fixed-interval:k=2.5")), "invalid_option");
  t.is(code(() => resolvePolicy("fixed-interval")), "missing_option");
  t.is(code(() => resolvePolicy("fixed-interval:k=2,bogus=1")), "unknown_option");
  t.is(code(() => resolvePolicy("fixed-interval:k")), "invalid_spec");
  t.is(code(() => resolvePolicy("teacache:delta=abc")), "invalid_option");
  t.is(code(() => resolvePolicy("teacache:model=sd15")), "invalid_option");
  t.is(code(() => resolvePolicy("teacache:coefficients=[1,2]")), "invalid_option");
  t.is(code(() => resolvePolicy("sencache:eps=0.1")), "missing_profile");
  t.is(code(() => resolvePolicy("sencache:eps=-1", { profile })), "invalid_option");
  t.is(code(() => resolvePolicy("easycache:tau=0")), "invalid_option");
  t.is(code(() => resolvePolicy("fixed-interval:k=2,k=3")), "invalid_spec");
  const e = t.throws(() => resolvePolicy("fixed-interval:k=2,bogus=1"));
  t.regex(e!.message, /use one of: k, warmup, forceLast/);
});

test("registering plugins: duplicates, bad ids and API-version mismatches are typed errors", (t) => {
  const registry = createPolicyRegistry();
  const plugin = definePolicy<{ every: number }>({
    id: "my-plugin",
    apiVersion: POLICY_API_VERSION,
    description: "test",
    optionSchema: { every: { kind: "integer", min: 1, description: "interval" } },
    create: (o) => ({
      id: "my-plugin",
      apiVersion: POLICY_API_VERSION,
      options: { every: (o.every as number) ?? 1 },
      reset() {},
      decide: () => ({ action: "compute" }),
    }),
  });
  registry.register(plugin);
  t.deepEqual(registry.resolve("my-plugin:every=4").options, { every: 4 });
  const dup = t.throws(() => registry.register(plugin));
  t.is((dup as PolicyRegistryError).code, "duplicate_policy");
  registry.register(plugin, { replace: true });
  const old = t.throws(() => registry.register({ ...plugin, id: "old-plugin", apiVersion: 0 }));
  t.is((old as PolicyRegistryError).code, "api_version_mismatch");
  const bad = t.throws(() => registry.register({ ...plugin, id: "Bad Id" }));
  t.is((bad as PolicyRegistryError).code, "invalid_factory");
  // a factory that lies about the version of the policy it builds
  registry.register({ ...plugin, id: "liar", create: () => ({ id: "liar", apiVersion: 99, options: {}, reset() {}, decide: () => ({ action: "compute" }) }) });
  t.is((t.throws(() => registry.resolve("liar")) as PolicyRegistryError).code, "api_version_mismatch");
});

test("each resolve builds a fresh policy with its own state", (t) => {
  const a = resolvePolicy("easycache");
  const b = resolvePolicy("easycache");
  t.not(a, b);
});

test("a number option that does not parse echoes what was typed, not NaN", (t) => {
  for (const spec of ["teacache:delta=abc", "fixed-interval:k=two", "magcache:ratios=[1,x]"]) {
    const e = t.throws(() => resolvePolicy(spec)) as Error;
    t.true(PolicyOptionsError.isInstance(e), spec);
    t.notRegex(e.message, /NaN/, spec);
  }
  t.regex((t.throws(() => resolvePolicy("teacache:delta=abc")) as Error).message, /\(got "abc"\)/);
});
