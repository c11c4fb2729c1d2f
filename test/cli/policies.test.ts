/** `sencache policies`: options as a CLI user writes them, and structured option info with --json. */
import test from "ava";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";

const run = promisify(execFile);
const CLI = join(PACKAGE_ROOT, "ts", "cli", "main.ts");
const policies = (args: string[]) => run(process.execPath, ["--import", "tsx", CLI, "policies", ...args], { cwd: PACKAGE_ROOT });

test("text: a profile is a path to the CLI user, never (object), and defaults are shown", async (t) => {
  const { stdout } = await policies([]);
  t.notRegex(stdout, /\(object/);
  t.regex(stdout, /^ {4}profile \(path[^)]*\): .*\.json/m);
  t.regex(stdout, /^ {4}delta \(number, > 0, default 0\.08\)/m);
});

test("--json: each option is structured (name, type, default, range, values, description)", async (t) => {
  const { stdout } = await policies(["--json"]);
  const list = JSON.parse(stdout) as { id: string; options: Record<string, unknown>[] }[];
  const teacache = list.find((p) => p.id === "teacache")!;
  t.like(
    teacache.options.find((o) => o["name"] === "delta"),
    { name: "delta", type: "number", min: 0, exclusiveMin: true, default: 0.08, aliases: ["threshold", "thresh"] },
  );
  t.is(typeof teacache.options.find((o) => o["name"] === "delta")?.["description"], "string");
  const sencache = list.find((p) => p.id === "sencache")!;
  t.like(sencache.options.find((o) => o["name"] === "profile"), { name: "profile", type: "path" });
  t.like(sencache.options.find((o) => o["name"] === "preset"), { type: "enum", values: ["slow", "fast"] });
});
