/**
 * A policy's options, declared once: one schema per policy, from which follow
 *
 *  - the TypeScript type of its options (`OptionsOf<typeof schema>`, through the `option.*` builders),
 *  - parsing of spec strings (`coerceOptions`, the syntax is spec.ts) and validation (`validateOptions`),
 *  - the defaults (`withDefaults`: a constant, or a function of the other options) and required options,
 *  - the help text of `sencache policies` and `--help` (`describeOptions`, `optionInfo`, in options-help.ts).
 *
 *     export const fooSchema = {
 *       k: option.integer("compute every k-th step", { min: 1, required: 'the interval k; write e.g. "foo:k=3"' }),
 *       warmup: option.integer("steps computed at the start", { min: 0, default: 0 }),
 *     };
 *     export type FooOptions = OptionsOf<typeof fooSchema>;      // { readonly k: number; readonly warmup: number }
 *     const options = parseOptions("foo", fooSchema, input);      // validated, defaults filled in
 *
 * Plain object schemas (`{ kind: "number", description: … }`) keep working for plugins; they type every
 * option as `unknown`.
 */

import { PolicyOptionsError } from "./errors.js";
import { normKey, parseNumber } from "./spec.js";

export type OptionKind = "number" | "integer" | "boolean" | "string" | "enum" | "number-list" | "object";

/** The options a computed default sees (annotate its parameter with it: `default: (o: OptionValues) => …`). */
export type OptionValues = Readonly<Record<string, unknown>>;

/** The value an option left out takes: a constant, or computed from the other options (after their defaults). */
export type OptionDefault<T> = T | ((options: OptionValues) => T);

export interface OptionSpec<T = unknown> {
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
  /** The value when the option is left out (see withDefaults). */
  readonly default?: OptionDefault<T>;
  /**
   * A required option: what the missing-option error says after "The policy "id" needs ", e.g.
   * `'the interval k; write e.g. "fixed-interval:k=3"'`.
   */
  readonly required?: string;
  /** Never set: carries the TypeScript type of the option's value for OptionsOf. */
  readonly __type?: T;
}

export type OptionSchema = Readonly<Record<string, OptionSpec>>;

type ValueOf<S> = S extends OptionSpec<infer T> ? T : unknown;
type Settled<S> = S extends { readonly default: unknown } ? true : S extends { readonly required: string } ? true : false;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** A policy's validated options: an option with a default or marked required is always set; the others may be absent. */
export type OptionsOf<S extends OptionSchema> = Simplify<
  { readonly [K in keyof S as Settled<S[K]> extends true ? K : never]: ValueOf<S[K]> } & {
    readonly [K in keyof S as Settled<S[K]> extends true ? never : K]?: ValueOf<S[K]>;
  }
>;

/** What a caller may pass to a policy's create function: every option optional. */
export type InputOf<S extends OptionSchema> = { readonly [K in keyof S]?: ValueOf<S[K]> };

type Extra<T> = Omit<OptionSpec<T>, "kind" | "description" | "values" | "__type">;

function builder<T>(kind: OptionKind) {
  return <const E extends Extra<T> = Record<never, never>>(
    description: string,
    extra?: E,
  ): OptionSpec<T> & E => ({ kind, description, ...extra }) as OptionSpec<T> & E;
}

/** Typed option builders: the spec they build carries the value's type, and its default / required flag, for OptionsOf. */
export const option = {
  number: builder<number>("number"),
  integer: builder<number>("integer"),
  boolean: builder<boolean>("boolean"),
  string: builder<string>("string"),
  numberList: builder<readonly number[]>("number-list"),
  enum<const V extends readonly string[], const E extends Extra<V[number]> = Record<never, never>>(
    values: V,
    description: string,
    extra?: E,
  ): OptionSpec<V[number]> & E {
    return { kind: "enum", values, description, ...extra } as unknown as OptionSpec<V[number]> & E;
  },
  /** An object option (an SDK caller passes the object) that a spec string gives as a file path. */
  objectOrPath<T>(description: string, extra: Omit<Extra<T | string>, "acceptsString" | "default"> = {}): OptionSpec<T | string> {
    return { kind: "object", acceptsString: true, description, ...extra };
  },
  /** Mark an option required: `what` is what the error says the policy needs (and how to give it). */
  required<S extends OptionSpec>(spec: S, what: string): S & { readonly required: string } {
    return { ...spec, required: what };
  },
};

/** The canonical name of `key` in a schema (aliases and spelling resolved), or undefined. */
export function canonicalKey(schema: OptionSchema, key: string): string | undefined {
  const n = normKey(key);
  for (const [name, spec] of Object.entries(schema)) {
    if (normKey(name) === n || spec.aliases?.some((a) => normKey(a) === n)) return name;
  }
  return undefined;
}

function resolveKey(policy: string, schema: OptionSchema, key: string): string {
  const name = canonicalKey(schema, key);
  if (name !== undefined) return name;
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
  const message = `The option "${name}" of "${policy}" must be ${what}${range ? ` ${range}` : ""} (got "${text}"); ${spec.description}.`;
  return new PolicyOptionsError("invalid_option", policy, message, name);
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
export function validateOptions<S extends OptionSchema>(policy: string, schema: S, input: Readonly<Record<string, unknown>>): InputOf<S> {
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
  return out as InputOf<S>;
}

/**
 * Fill in the defaults of the options left out (constants first, then the computed ones in schema
 * order, each seeing the options before it) and check the required ones. Keys come out in schema order.
 */
export function withDefaults<S extends OptionSchema>(policy: string, schema: S, given: InputOf<S>): OptionsOf<S> {
  const out: Record<string, unknown> = {};
  const set = given as Readonly<Record<string, unknown>>;
  for (const [name, spec] of Object.entries(schema)) {
    const value = set[name] ?? (typeof spec.default === "function" ? undefined : spec.default);
    if (value !== undefined) out[name] = value;
  }
  for (const [name, spec] of Object.entries(schema)) {
    if (out[name] === undefined && typeof spec.default === "function") out[name] = (spec.default as (o: OptionValues) => unknown)(out);
    if (out[name] === undefined && spec.required !== undefined) {
      throw new PolicyOptionsError("missing_option", policy, `The policy "${policy}" needs ${spec.required}.`, name);
    }
  }
  const ordered: Record<string, unknown> = {};
  for (const name of Object.keys(schema)) if (out[name] !== undefined) ordered[name] = out[name];
  return ordered as OptionsOf<S>;
}

/** validateOptions then withDefaults: what a policy's create function starts with. */
export function parseOptions<S extends OptionSchema>(policy: string, schema: S, input: Readonly<Record<string, unknown>>): OptionsOf<S> {
  return withDefaults(policy, schema, validateOptions(policy, schema, input));
}
