/** The help a schema gives: `sencache policies` (one line per option) and `--json` (structured), with each option's default. */

import type { OptionSchema, OptionValues } from "./options.js";

/** One option as the CLI takes it in a spec string ("id:key=value"), for `sencache policies --json`. */
export interface OptionInfo {
  readonly name: string;
  /** number, integer, boolean, string, enum, number-list, or path (an object option a spec gives as a file path). */
  readonly type: string;
  readonly description: string;
  /** The value used when the option is left out and the other options are too (absent when it has none). */
  readonly default?: unknown;
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: boolean;
  readonly values?: readonly string[];
  readonly length?: number;
  readonly aliases?: readonly string[];
}

/** The defaults of a schema when no option is given (computed defaults that fail are left out). */
export function schemaDefaults(schema: OptionSchema): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) if (spec.default !== undefined && typeof spec.default !== "function") out[name] = spec.default;
  for (const [name, spec] of Object.entries(schema)) {
    if (typeof spec.default !== "function") continue;
    try {
      out[name] = (spec.default as (o: OptionValues) => unknown)(out);
    } catch {
      // a default that needs options the caller must give
    }
  }
  return out;
}

export function optionInfo(schema: OptionSchema): OptionInfo[] {
  const defaults = schemaDefaults(schema);
  return Object.entries(schema).map(([name, spec]) => {
    const d = defaults[name];
    const shown = d !== undefined && (typeof d !== "object" || (Array.isArray(d) && d.length <= 8));
    const path = spec.kind === "object" && spec.acceptsString;
    return {
      name,
      type: spec.kind === "object" ? (path ? "path" : "object (SDK only)") : spec.kind,
      description: path ? spec.description.replace(/^a sensitivity profile object or a path to /, "a path to ") : spec.description,
      ...(shown ? { default: d } : {}),
      ...(spec.required !== undefined ? { required: true } : {}),
      ...(spec.min !== undefined ? { min: spec.min } : {}),
      ...(spec.max !== undefined ? { max: spec.max } : {}),
      ...(spec.exclusiveMin ? { exclusiveMin: true } : {}),
      ...(spec.values ? { values: spec.values } : {}),
      ...(spec.length !== undefined ? { length: spec.length } : {}),
      ...(spec.aliases?.length ? { aliases: spec.aliases } : {}),
    };
  });
}

/** Help text for a schema: one line per option, as `sencache policies` prints it. */
export function describeOptions(schema: OptionSchema): string[] {
  return optionInfo(schema).map((o) => {
    const min = o.min === undefined ? "" : `${o.exclusiveMin ? ">" : "≥"} ${o.min}`;
    const max = o.max === undefined ? "" : `≤ ${o.max}`;
    const range = [min, max].filter(Boolean).join(" and ");
    const list = `[n, n, …]${o.length !== undefined ? ` (${o.length})` : ""}`;
    const type = o.type === "enum" ? (o.values ?? []).join("|") : o.type === "number-list" ? list : o.type;
    const def = o.default === undefined ? "" : `default ${Array.isArray(o.default) ? `[${o.default.join(",")}]` : String(o.default)}`;
    const meta = [type, o.required ? "required" : "", range, def].filter(Boolean).join(", ");
    return `${o.name} (${meta}): ${o.description}${o.aliases?.length ? ` (also: ${o.aliases.join(", ")})` : ""}`;
  });
}
