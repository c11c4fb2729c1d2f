/** `sencache policies`: the registered cache policies and their options, as a CLI user writes them. */
import type { CommandModule } from "yargs";
import { defaultPolicyRegistry, describeOptions, listPolicies, optionInfo } from "../../policies/index.js";
import { loadPlugins, pluginOption, type PluginArgs } from "../plugins.js";

interface PoliciesArgs extends PluginArgs {
  json: boolean;
}

export function policiesText(): string {
  const lines: string[] = [];
  for (const { id, description } of listPolicies()) {
    lines.push(`${id}: ${description}`);
    for (const line of describeOptions(defaultPolicyRegistry.get(id).optionSchema)) lines.push(`    ${line}`);
    lines.push("");
  }
  lines.push('Use one with --policy "id:key=value,key=value", e.g. --policy "sencache:profile=profile.json,eps=0.1".');
  lines.push(
    "A policy that takes a profile (or magcache its ratios) and names none uses the model folder's own sensitivity.json (magcache-ratios.json) when it " +
      "has one.",
  );
  return lines.join("\n");
}

export const policiesCommand: CommandModule<object, PoliciesArgs> = {
  command: "policies",
  describe: "List the registered cache policies and their options",
  builder: (y) => pluginOption(y).option(
    "json",
    { type: "boolean", default: false, describe: "print as JSON: each option's name, type, default, range, values, aliases and description" },
  ) as never,
  handler: async (args) => {
    await loadPlugins(args.plugin);
    if (args.json) {
      const out = listPolicies().map(({ id, description }) => ({ id, description, options: optionInfo(defaultPolicyRegistry.get(id).optionSchema) }));
      console.log(JSON.stringify(out, null, 2));
    } else {
      console.log(policiesText());
    }
  },
};
