import test from "ava";
import { fileURLToPath } from "node:url";
import { InvalidInputError, SencacheError } from "../../ts/errors.js";
import { callPython, closePython, parseFunctionRef, pythonPromptHook } from "../../ts/interop/python.js";

const hooks = fileURLToPath(new URL("../fixtures/python/hooks.py", import.meta.url));

test.after.always(async () => {
  await closePython();
});

test.serial("a Python prompt hook rewrites the prompt (real Python through pythonia)", async (t) => {
  const hook = pythonPromptHook(`${hooks}:add_background`);
  t.is(await hook("a red square"), "a red square on a black background");
  t.is(await hook("a red square on a blue background"), "a red square on a blue background");
});

test.serial("JSON-able values cross both ways", async (t) => {
  t.deepEqual(await callPython(`${hooks}:stats`, [1, 2, 3, 6]), { n: 4, mean: 3 });
});

test.serial("a Python exception becomes a typed error naming the function", async (t) => {
  const error = await t.throwsAsync(callPython(`${hooks}:broken`, "x"));
  t.true(SencacheError.isInstance(error));
  t.regex(error?.message ?? "", /hooks\.py:broken failed .*broken on purpose/);
});

test.serial("a hook that returns a non-string is refused with a sentence", async (t) => {
  await t.throwsAsync(pythonPromptHook(`${hooks}:not_a_string`)("x"), { instanceOf: InvalidInputError, message: /returned number/ });
});

test("bad references are refused before Python starts", (t) => {
  t.throws(() => parseFunctionRef("no-colon"), { instanceOf: InvalidInputError });
  t.throws(() => parseFunctionRef("missing.py:f"), { instanceOf: InvalidInputError, message: /does not exist/ });
  t.deepEqual(parseFunctionRef("json:dumps"), { module: "json", fn: "dumps" });
});
