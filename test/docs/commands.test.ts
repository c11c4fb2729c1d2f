/**
 * Every command in README.md and docs/ runs as written on a fresh clone. Read from the fenced code
 * blocks (continuation lines joined, comments dropped):
 *
 * - `sencache …` runs through this checkout's CLI (`sencache` is `node dist/cli/main.js`, here through
 *   tsx). Cheap, read-only commands run for real (`policies`, `profile show`, `--help`); the others —
 *   model runs that take minutes, or that write into docs/ — run with SENCACHE_CHECK_ARGS=1, which
 *   parses and validates every argument (command, options, number and file-name checks) and stops
 *   before the command runs. A placeholder such as "…" fails: a guide's command must be runnable.
 * - `npm run X` / `npm test`: the script exists in package.json; `sh FILE`, `npx tsx FILE`,
 *   `.venv/bin/python FILE`: the file exists.
 */
import test from "ava";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";

const CLI = join(PACKAGE_ROOT, "ts", "cli", "main.ts");

function markdownFiles(): string[] {
  const out = [join(PACKAGE_ROOT, "README.md")];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith(".md")) out.push(join(dir, e.name));
    }
  };
  walk(join(PACKAGE_ROOT, "docs"));
  return out;
}

/** Shell words of one command line (quotes and backslashes as sh reads them; stops at an unquoted #). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? line.length : end;
      has = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) cur += line[j] === "\\" && j + 1 < line.length ? (line[++j] as string) : line[j];
      i = j;
      has = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (c === "#" && !has) {
      break;
    } else if (/\s/.test(c)) {
      if (has) words.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) words.push(cur);
  return words;
}

interface DocCommand {
  readonly where: string;
  readonly words: string[];
}

function docCommands(): DocCommand[] {
  const out: DocCommand[] = [];
  for (const file of markdownFiles()) {
    const lines = readFileSync(file, "utf8").split("\n");
    let inBlock = false;
    let shellBlock = false;
    for (let i = 0; i < lines.length; i++) {
      const fence = /^\s*```\s*([\w-]*)/.exec(lines[i] as string);
      if (fence) {
        inBlock = !inBlock;
        shellBlock = inBlock && ["", "sh", "bash", "shell", "console"].includes(fence[1] ?? "");
        continue;
      }
      if (!inBlock || !shellBlock) continue;
      let text = (lines[i] as string).replace(/^\s*\$ /, "");
      const start = i;
      while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, " ") + (lines[++i] as string);
      const words = shellWords(text);
      while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0] as string)) words.shift(); // env assignments
      if (words.length > 0) out.push({ where: `${relative(PACKAGE_ROOT, file)}:${start + 1}`, words });
    }
  }
  return out;
}

function cli(args: readonly string[], checkOnly: boolean): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", CLI, ...args],
      { cwd: PACKAGE_ROOT, env: { ...process.env, HF_HUB_OFFLINE: "1", ...(checkOnly ? { SENCACHE_CHECK_ARGS: "1" } : {}) }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

const RUN_FOR_REAL = (args: readonly string[]): boolean => args[0] === "policies" || args.includes("--help") || (args[0] === "profile" && args[1] === "show");

const commands = docCommands();
const scripts = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

test("the guides hold commands to check", (t) => {
  t.true(commands.filter((c) => c.words[0] === "sencache").length >= 10, `${commands.length} commands`);
});

test("npm scripts and script files the guides name exist", (t) => {
  for (const { where, words } of commands) {
    const [head, ...rest] = words;
    if (head === "npm" && rest[0] === "run") t.true(
      rest[1] !== undefined && rest[1] in scripts,
      `${where}: npm run ${rest[1]} is not a script in package.json`,
    );
    else if (head === "npm" && rest[0] === "test") t.true("test" in scripts, where);
    else if (head === "sh" || (head === "npx" && rest[0] === "tsx") || head === ".venv/bin/python") {
      const file = head === "npx" ? rest[1] : rest[0];
      if (file !== undefined && !file.startsWith("-")) t.true(existsSync(join(PACKAGE_ROOT, file)), `${where}: ${file} does not exist`);
    }
  }
});

test.serial("every sencache command in README.md and docs/ is accepted as written (cheap ones run for real)", async (t) => {
  const failures: string[] = [];
  const queue = commands.filter((c) => c.words[0] === "sencache");
  const check = async ({ where, words }: DocCommand): Promise<void> => {
    const args = words.slice(1);
    if (args.some((a) => a.includes("…") || a === "...")) {
      failures.push(`${where}: "${words.join(" ")}" has a placeholder; write a command that runs as written`);
      return;
    }
    const { code, output } = await cli(args, !RUN_FOR_REAL(args));
    if (code !== 0) failures.push(`${where}: sencache ${args.join(" ")} → exit ${code}: ${output.split("\n").at(-1)}`);
  };
  // Two at a time (each is a CLI process start).
  const lanes = [0, 1].map(async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) await check(c);
  });
  await Promise.all(lanes);
  t.deepEqual(failures.sort(), []);
});
