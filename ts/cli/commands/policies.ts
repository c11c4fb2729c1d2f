/** `sencache policies`: the registered cache policies and their options, as a CLI user writes them. */
import type { CommandModule } from "yargs";
import { defaultPolicyRegistry, listPolicies, type OptionSchema, type OptionSpec, type PolicyFactory } from "../../policies/index.js";
import { loadPlugins, pluginOption, type PluginArgs } from "../plugins.js";

interface PoliciesArgs extends PluginArgs {
  json: boolean;
}

/** One option as the CLI takes it in a spec string ("id:key=value"). */
export interface OptionInfo {
  readonly name: string;
  /** number, integer, boolean, string, enum, number-list, or path (an object option a spec gives as a file path). */
  readonly type: string;
  readonly description: string;
  /** The value used when the option is left out, when the policy has one without other options. */
  readonly default?: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: boolean;
  readonly values?: readonly string[];
  readonly length?: number;
  readonly aliases?: readonly string[];
}

/** The type a CLI user writes: an object option that accepts a string is a file path on the command line. */
function cliType(spec: OptionSpec): string {
  if (spec.kind === "object") return spec.acceptsString ? "path" : "object (SDK only)";
  return spec.kind;
}

/** The defaults a policy fills in when built with no options (none when it needs some, e.g. a profile). */
function defaultsOf(factory: PolicyFactory<unknown>): Readonly<Record<string, unknown>> {
  try {
    return factory.create({}).options as Readonly<Record<string, unknown>>;
  } catch {
    return {};
  }
}

export function optionInfo(factory: PolicyFactory<unknown>): OptionInfo[] {
  const schema: OptionSchema = factory.optionSchema;
  const defaults = defaultsOf(factory);
  return Object.entries(schema).map(([name, spec]) => {
    const d = defaults[name];
    const shown = d !== undefined && (typeof d !== "object" || (Array.isArray(d) && d.length <= 8));
    return {
      name,
      type: cliType(spec),
      description: spec.kind === "object" && spec.acceptsString ? spec.description.replace(/^a sensitivity profile object or a path to /, "a path to ") : spec.description,
      ...(shown ? { default: d } : {}),
      ...(spec.min !== undefined ? { min: spec.min } : {}),
      ...(spec.max !== undefined ? { max: spec.max } : {}),
      ...(spec.exclusiveMin ? { exclusiveMin: true } : {}),
      ...(spec.values ? { values: spec.values } : {}),
      ...(spec.length !== undefined ? { length: spec.length } : {}),
      ...(spec.aliases?.length ? { aliases: spec.aliases } : {}),
    };
  });
}

function optionLine(o: OptionInfo): string {
  const range = [o.min === undefined ? "" : `${o.exclusiveMin ? ">" : "≥"} ${o.min}`, o.max === undefined ? "" : `≤ ${o.max}`].filter(Boolean).join(" and ");
  const type = o.type === "enum" ? (o.values ?? []).join("|") : o.type === "number-list" ? `[n, n, …]${o.length !== undefined ? ` (${o.length})` : ""}` : o.type;
  const def = o.default === undefined ? "" : `default ${Array.isArray(o.default) ? `[${o.default.join(",")}]` : String(o.default)}`;
  const meta = [type, range, def].filter(Boolean).join(", ");
  return `${o.name} (${meta}): ${o.description}${o.aliases?.length ? ` (also: ${o.aliases.join(", ")})` : ""}`;
}

export function policiesText(): string {
  const lines: string[] = [];
  for (const { id, description } of listPolicies()) {
    lines.push(`${id}: ${description}`);
    for (const o of optionInfo(defaultPolicyRegistry.get(id))) lines.push(`    ${optionLine(o)}`);
    lines.push("");
  }
  lines.push('Use one with --policy "id:key=value,key=value", e.g. --policy "sencache:profile=profile.json,eps=0.1".');
  lines.push("A policy that takes a profile (or magcache its ratios) and names none uses the model folder's own sensitivity.json (magcache-ratios.json) when it has one.");
  return lines.join("\n");
}

export const policiesCommand: CommandModule<object, PoliciesArgs> = {
  command: "policies",
  describe: "List the registered cache policies and their options",
  builder: (y) => pluginOption(y).option("json", { type: "boolean", default: false, describe: "print as JSON: each option's name, type, default, range, values, aliases and description" }) as never,
  handler: async (args) => {
    await loadPlugins(args.plugin);
    if (args.json) {
      const out = listPolicies().map(({ id, description }) => ({ id, description, options: optionInfo(defaultPolicyRegistry.get(id)) }));
      console.log(JSON.stringify(out, null, 2));
    } else {
      console.log(policiesText());
    }
  },
};
