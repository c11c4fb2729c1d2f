/**
 * `--plugin ./my-policy.js`: a module that adds cache policies. Loading it registers every policy
 * factory it exports (built with `definePolicy`), and keeps any it registered itself with
 * `registerPolicy`. A `.ts` plugin is loaded through tsx when it is installed.
 */
import { existsSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Argv } from "yargs";
import { InvalidInputError } from "../errors.js";
import { defaultPolicyRegistry, type PolicyFactory, type PolicyRegistry } from "../policies/index.js";

export interface PluginArgs {
  plugin?: string[];
}

export function pluginOption<T>(y: Argv<T>): Argv<T & PluginArgs> {
  return y.option("plugin", {
    type: "string",
    array: true,
    describe: "a module (.js, or .ts with tsx installed) that exports or registers cache policies; repeatable",
  }) as unknown as Argv<T & PluginArgs>;
}

function isFactory(value: unknown): value is PolicyFactory<unknown> {
  const v = value as Partial<PolicyFactory<unknown>> | null;
  return (
    typeof v === "object" && v !== null &&
    typeof v.id === "string" && typeof v.apiVersion === "number" && typeof v.create === "function" && typeof v.optionSchema === "object"
  );
}

let tsxRegistered = false;

async function enableTypeScript(path: string): Promise<void> {
  if (tsxRegistered || process.execArgv.some((a) => a.includes("tsx")) || (process.env["NODE_OPTIONS"] ?? "").includes("tsx")) return;
  try {
    const api = (await import("tsx/esm/api" as string)) as { register: () => unknown };
    api.register();
    tsxRegistered = true;
  } catch {
    throw new InvalidInputError(`The plugin ${path} is TypeScript and tsx is not installed; compile it to .js, or install tsx (npm i -D tsx).`);
  }
}

/** Import each plugin module and register the policies it offers; returns the ids it added. */
export async function loadPlugins(paths: readonly string[] = [], registry: PolicyRegistry = defaultPolicyRegistry): Promise<string[]> {
  const added: string[] = [];
  for (const path of paths) {
    const file = resolve(path);
    if (!existsSync(file)) throw new InvalidInputError(`The plugin ${path} does not exist; pass the path of a module that exports a policy factory.`);
    if ([".ts", ".mts", ".cts"].includes(extname(file))) await enableTypeScript(path);
    const before = new Set(registry.ids());
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      throw new InvalidInputError(
        `The plugin ${path} failed to load (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); fix it or leave it out.`,
      );
    }
    for (const value of Object.values(mod)) {
      if (!isFactory(value)) continue;
      if (registry.has(value.id) && registry.get(value.id) === value) continue; // registered by the module itself
      registry.register(value);
    }
    const mine = registry.ids().filter((id) => !before.has(id));
    if (mine.length === 0) throw new InvalidInputError(`The plugin ${path} added no cache policy; export a factory made with definePolicy() from it.`);
    added.push(...mine);
  }
  return added;
}
