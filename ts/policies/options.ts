/**
 * Option schemas shared by the built-in policies and user plugins: parse the CLI convenience syntax
 * `"id:key=value,key=value"` and validate typed option records against a small schema.
 *
 * Spec syntax: `id` or `id:key=value[,key=value…]`. Values are numbers (`0.1`, `1e-3`, `inf`),
 * booleans (`true`/`false`), bare strings, or lists in brackets (`coefficients=[1,-2,3]`; commas
 * inside brackets do not split options). Keys are matched case-insensitively and ignoring `-`/`_`,
 * so `eps_start`, `eps-start` and `epsStart` are the same option.
 */

import { PolicyOptionsError } from "./errors.js";

export type OptionKind = "number" | "integer" | "boolean" | "string" | "enum" | "number-list" | "object";

export interface OptionSpec {
  readonly kind: OptionKind;
  readonly description: string;
  /** Inclusive bounds for numbers (and list entries). */
  readonly min?: number;
  readonly max?: number;
  /** Lower bound is exclusive (e.g. a threshold that must be > 0). */
  readonly exclusiveMin?: boolean;
  /** Allowed values for "enum". */
  readonly values?: readonly string[];
  /** Other spellings accepted (`eps` for `epsMain`). */
  readonly aliases?: readonly string[];
  /** "integer" also accepts Infinity ("no limit"). */
  readonly allowInfinity?: boolean;
  /** "object" options also accept a string (e.g. a file path) in a spec string. */
  readonly acceptsString?: boolean;
  /** Length of a "number-list" (exact). */
  readonly length?: number;
}

export type OptionSchema = Readonly<Record<string, OptionSpec>>;

export interface ParsedSpec {
  readonly id: string;
  /** Raw string values by key as written. */
  readonly raw: Readonly<Record<string, string>>;
}

const normKey = (key: string): string => key.replace(/[-_\s]/g, "").toLowerCase();

/**
 * Split `"k=v,k2=[1,2]"` at the commas outside brackets (parts are not trimmed). `balanced` is false
 * when a `]` comes before its `[` or a `[` is never closed.
 */
export function splitTopLevel(body: string): { parts: string[]; balanced: boolean } {
  const parts: string[] = [];
  let depth = 0;
  let balanced = true;
  let current = "";
  for (const ch of body) {
    if (ch === "[") depth += 1;
    if (ch === "]") depth -= 1;
    if (depth < 0) balanced = false;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return { parts, balanced: balanced && depth === 0 };
}

/** Split `"id:k=v,k2=[1,2]"` into its id and raw key/value strings. */
export function parseSpec(spec: string): ParsedSpec {
  const text = spec.trim();
  const colon = text.indexOf(":");
  const id = (colon < 0 ? text : text.slice(0, colon)).trim();
  if (id === "" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new PolicyOptionsError(
      "invalid_spec",
      id,
      `The policy spec "${spec}" does not start with a policy id; write it as "id" or "id:key=value,key=value", e.g. "sencache:eps=0.1,n=2".`,
    );
  }
  const raw: Record<string, string> = {};
  if (colon < 0) return { id, raw };
  const { parts, balanced } = splitTopLevel(text.slice(colon + 1));
  if (!balanced) {
    throw new PolicyOptionsError("invalid_spec", id, `The policy spec "${spec}" has unbalanced brackets; write lists as key=[a,b,c].`);
  }
  for (const part of parts) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) {
      throw new PolicyOptionsError(
        "invalid_spec",
        id,
        `The option "${part.trim()}" in "${spec}" has no value; write each option as key=value, separated by commas.`,
      );
    }
    const key = part.slice(0, eq).trim();
    if (key in raw) {
      throw new PolicyOptionsError("invalid_spec", id, `The option "${key}" appears twice in "${spec}"; give each option once.`, key);
    }
    raw[key] = part.slice(eq + 1).trim();
  }
  return { id, raw };
}

function parseNumber(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === "inf" || t === "infinity" || t === "+inf") return Infinity;
  if (t === "-inf" || t === "-infinity") return -Infinity;
  if (t === "" || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return NaN;
  return Number(t);
}

function resolveKey(policy: string, schema: OptionSchema, key: string): string {
  const n = normKey(key);
  for (const [name, spec] of Object.entries(schema)) {
    if (normKey(name) === n) return name;
    if (spec.aliases?.some((a) => normKey(a) === n)) return name;
  }
  throw new PolicyOptionsError(
    "unknown_option",
    policy,
    `The policy "${policy}" has no option "${key}"; use one of: ${Object.keys(schema).join(", ") || "(none)"}.`,
    key,
  );
}

/** The error for a spec value that is not a number, quoting the text as typed. */
function notANumber(policy: string, name: string, spec: OptionSpec, text: string): PolicyOptionsError {
  const range = describeRange(spec);
  const what = spec.kind === "integer" ? "an integer" : "a number";
  return new PolicyOptionsError("invalid_option", policy, `The option "${name}" of "${policy}" must be ${what}${range ? ` ${range}` : ""} (got "${text}"); ${spec.description}.`, name);
}

/** Convert the raw strings of a parsed spec to typed values (still to be validated). */
export function coerceOptions(policy: string, schema: OptionSchema, raw: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(raw)) {
    const name = resolveKey(policy, schema, key);
    const spec = schema[name]!;
    switch (spec.kind) {
      case "number":
      case "integer":
        out[name] = parseNumber(text);
        if (Number.isNaN(out[name])) throw notANumber(policy, name, spec, text);
        break;
      case "boolean": {
        const t = text.toLowerCase();
        out[name] = t === "true" || t === "1" || t === "yes" ? true : t === "false" || t === "0" || t === "no" ? false : text;
        break;
      }
      case "number-list": {
        const inner = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
        const items = inner.trim() === "" ? [] : inner.split(/[,;\s]+/).filter((s) => s !== "");
        const bad = items.find((s) => Number.isNaN(parseNumber(s)));
        if (bad !== undefined) throw notANumber(policy, name, spec, bad);
        out[name] = items.map(parseNumber);
        break;
      }
      case "object":
        if (!spec.acceptsString) {
          throw new PolicyOptionsError(
            "invalid_option",
            policy,
            `The option "${name}" of "${policy}" cannot be written in a spec string; pass it in the options object instead.`,
            name,
          );
        }
        out[name] = text;
        break;
      default:
        out[name] = text;
    }
  }
  return out;
}

function describeRange(spec: OptionSpec): string {
  const lo = spec.min === undefined ? "" : spec.exclusiveMin ? `> ${spec.min}` : `≥ ${spec.min}`;
  const hi = spec.max === undefined ? "" : `≤ ${spec.max}`;
  return [lo, hi].filter((s) => s !== "").join(" and ");
}

function checkNumber(policy: string, name: string, spec: OptionSpec, value: number, integer: boolean): void {
  const range = describeRange(spec);
  const what = integer ? `an integer${spec.allowInfinity ? " (or inf)" : ""}` : "a finite number";
  const bad =
    typeof value !== "number" ||
    Number.isNaN(value) ||
    (integer ? !(Number.isInteger(value) || (spec.allowInfinity === true && value === Infinity)) : !Number.isFinite(value)) ||
    (spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min)) ||
    (spec.max !== undefined && value > spec.max);
  if (bad) {
    throw new PolicyOptionsError(
      "invalid_option",
      policy,
      `The option "${name}" of "${policy}" must be ${what}${range ? ` ${range}` : ""} (got ${String(value)}); ${spec.description}.`,
      name,
    );
  }
}

/**
 * Validate an options record against a schema: canonicalises keys (aliases, case), rejects unknown
 * keys, checks types and ranges. Returns a new record with canonical keys; absent keys stay absent.
 */
export function validateOptions(policy: string, schema: OptionSchema, input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const name = resolveKey(policy, schema, key);
    if (name in out) {
      throw new PolicyOptionsError("invalid_option", policy, `The option "${name}" of "${policy}" was given twice (as "${key}" too); give it once.`, name);
    }
    const spec = schema[name]!;
    switch (spec.kind) {
      case "number":
        checkNumber(policy, name, spec, value as number, false);
        break;
      case "integer":
        checkNumber(policy, name, spec, value as number, true);
        break;
      case "boolean":
        if (typeof value !== "boolean") {
          throw new PolicyOptionsError("invalid_option", policy, `The option "${name}" of "${policy}" must be true or false (got ${String(value)}).`, name);
        }
        break;
      case "string":
        if (typeof value !== "string" || value === "") {
          throw new PolicyOptionsError("invalid_option", policy, `The option "${name}" of "${policy}" must be a non-empty string; ${spec.description}.`, name);
        }
        break;
      case "enum":
        if (typeof value !== "string" || !(spec.values ?? []).includes(value)) {
          throw new PolicyOptionsError(
            "invalid_option",
            policy,
            `The option "${name}" of "${policy}" must be one of ${(spec.values ?? []).join(", ")} (got ${String(value)}).`,
            name,
          );
        }
        break;
      case "number-list": {
        const list = value as unknown;
        const ok = Array.isArray(list) || ArrayBuffer.isView(list);
        const arr = ok ? Array.from(list as ArrayLike<number>) : [];
        if (!ok || (spec.length !== undefined && arr.length !== spec.length) || arr.some((v) => typeof v !== "number" || !Number.isFinite(v))) {
          throw new PolicyOptionsError(
            "invalid_option",
            policy,
            `The option "${name}" of "${policy}" must be a list of ${spec.length ?? "one or more"} finite numbers; ${spec.description}.`,
            name,
          );
        }
        for (const v of arr) checkNumber(policy, name, spec, v, false);
        out[name] = arr;
        continue;
      }
      case "object":
        if (value === null || (typeof value !== "object" && !(spec.acceptsString && typeof value === "string"))) {
          throw new PolicyOptionsError("invalid_option", policy, `The option "${name}" of "${policy}" has the wrong type; ${spec.description}.`, name);
        }
        break;
    }
    out[name] = value;
  }
  return out;
}

/** Help text for a schema: one line per option. */
export function describeOptions(schema: OptionSchema): string[] {
  return Object.entries(schema).map(([name, spec]) => {
    const range = describeRange(spec);
    const kind = spec.kind === "enum" ? (spec.values ?? []).join("|") : spec.kind;
    return `${name} (${kind}${range ? `, ${range}` : ""}): ${spec.description}`;
  });
}
