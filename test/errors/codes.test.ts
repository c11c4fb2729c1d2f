/** Every error code the SDK raises is snake_case, the wire's convention (docs/architecture.md, "Error codes"). */
import test from "ava";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

function sources(dir: string): string[] {
  return readdirSync(
    dir,
    { withFileTypes: true },
  ).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

test("the error codes in ts/ (code unions and the first argument of the constructors that take a code) are snake_case", (t) => {
  const codes = new Set<string>();
  for (const file of sources("ts")) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/ErrorCode =([^;]*);/g)) for (const c of m[1]!.replace(/\/\/.*$/gm, "").matchAll(/"([^"]+)"/g)) codes.add(c[1]!);
    for (const m of text.matchAll(/new (?:Sencache|Worker|PolicyOptions|PolicyRegistry|Profile|UnsupportedScheduler)Error\(\s*"([^"]+)"/g)) codes.add(m[1]!);
  }
  t.true(codes.size > 20, `found only ${codes.size} codes`);
  t.deepEqual([...codes].filter((c) => !/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(c)), []);
});
