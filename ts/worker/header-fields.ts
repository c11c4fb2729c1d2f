/**
 * The kinds of header fields an op's arguments and result are declared with (`str`, `int`, `list`,
 * `record`, `optional`, `withDefault`, …): how each is written into a header and checked when read
 * back, and the TypeScript type a map of them has (snake_case on the wire, camelCase in TypeScript).
 */
import { InvalidInputError, ProtocolError } from "../errors.js";

/**
 * A kind of header value: how a TypeScript value is written into a header, and how a decoded header
 * value is checked and read back. `what` names the kind in error sentences.
 */
export interface Kind<T> {
  readonly what: string;
  read(value: unknown, path: string, op: string): T;
  write(value: T): unknown;
}

/**
 * A field a message may leave out. With `fill`, a request carries `fill` when the caller gives nothing,
 * and a reply that lacks the field reads as `fill` (so the result always has it).
 */
export interface Optional<T> {
  readonly optional: Kind<T>;
  readonly fill?: T;
}

type Field = Kind<any> | Optional<any>;
/** The fields of a map, keyed by their wire (snake_case) names; the TypeScript side sees them in camelCase. */
export type Fields = { readonly [wireKey: string]: Field };

/** `max_sequence_length` → `maxSequenceLength`, as a type. */
export type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
export type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ValueOf<F> = F extends Optional<infer T> ? T : F extends Kind<infer T> ? T : never;
/** Which side reads the map: a caller writing a request ("in") may leave out a filled field; a result ("out") always has it. */
type Side = "in" | "out";
type IsOptional<F, D extends Side> = F extends Optional<any> ? (D extends "out" ? (F extends { readonly fill: unknown } ? false : true) : true) : false;
type RequiredKeys<S, D extends Side> = { [K in keyof S]: IsOptional<S[K], D> extends true ? never : K }[keyof S] & string;
type OptionalKeys<S, D extends Side> = { [K in keyof S]: IsOptional<S[K], D> extends true ? K : never }[keyof S] & string;
/** The TypeScript value of a map with these fields. */
export type Infer<S extends Fields, D extends Side = "out"> = Simplify<
  { readonly [K in RequiredKeys<S, D> as Camel<K>]: ValueOf<S[K]> } & { readonly [K in OptionalKeys<S, D> as Camel<K>]?: ValueOf<S[K]> }
>;

/** `max_sequence_length` → `maxSequenceLength`. */
export function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function lacks(op: string, what: string, path: string): ProtocolError {
  return new ProtocolError(`The worker's ${op} reply lacks ${what} "${path}"; it does not follow proto/SPEC.md.`);
}

function scalar<T>(what: string, is: (v: unknown) => v is T): Kind<T> {
  return {
    what,
    read(value, path, op) {
      if (!is(value)) throw lacks(op, what, path);
      return value;
    },
    write: (value) => value,
  };
}

export const str = scalar("the string", (v): v is string => typeof v === "string");
export const num = scalar("the number", (v): v is number => typeof v === "number");
export const int = scalar("the whole number", (v): v is number => Number.isInteger(v));
export const bool = scalar("the boolean", (v): v is boolean => typeof v === "boolean");
/** A map passed through as it is (keys stay snake_case): the diffusers scheduler config. */
export const opaque = scalar("the map", (v): v is Readonly<Record<string, unknown>> => typeof v === "object" && v !== null && !Array.isArray(v));

/** A value that may be nil (`scale_2: null`). */
export function nullable<T>(of: Kind<T>): Kind<T | null> {
  return {
    what: of.what,
    read: (value, path, op) => (value === null ? null : of.read(value, path, op)),
    write: (value) => (value === null ? null : of.write(value)),
  };
}

/** A map of whole numbers by snake_case name, passed through as it is (`hello`'s `limits`). */
export const intMap = scalar(
  "the map of whole numbers",
  (v): v is Readonly<Record<string, number>> =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => Number.isInteger(x)),
);

/** Two whole numbers ([height, width]). */
export const dims2 = scalar(
  "the two whole numbers",
  (v): v is readonly [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x)),
);

/** Three positive whole numbers ([pt, ph, pw], [F', H', W']). */
export const dims3 = scalar(
  "the three positive whole numbers",
  (v): v is readonly [number, number, number] => Array.isArray(v) && v.length === 3 && v.every((x) => Number.isInteger(x) && (x as number) > 0),
);

export function oneOf<const V extends string>(...values: readonly V[]): Kind<V> {
  return scalar(`one of ${values.map((v) => `"${v}"`).join(", ")} as`, (v): v is V => values.includes(v as V));
}

export function list<T>(of: Kind<T>): Kind<readonly T[]> {
  return {
    what: `the list of ${of.what.replace(/^the /, "")}s`,
    read(value, path, op) {
      if (!Array.isArray(value)) throw lacks(op, this.what, path);
      return value.map((v: unknown, i) => of.read(v, `${path}[${i}]`, op));
    },
    write: (value) => value.map((v) => of.write(v)),
  };
}

/** A nested map with its own fields. */
export function record<const S extends Fields>(fields: S): Kind<Infer<S>> {
  return {
    what: "the map",
    read(value, path, op) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw lacks(op, "the map", path);
      return readFields(fields, value as Record<string, unknown>, op, `${path}.`) as Infer<S>;
    },
    write: (value) => writeFields(fields, value as Record<string, unknown>, "a nested map"),
  };
}

export function optional<T>(kind: Kind<T>): Optional<T> {
  return { optional: kind };
}

/** An optional field with a default (see `Optional`). */
export function withDefault<T>(kind: Kind<T>, fill: T): Optional<T> & { readonly fill: T } {
  return { optional: kind, fill };
}

function isOptional(field: Field): field is Optional<any> {
  return "optional" in field;
}

export function writeFields(fields: Fields, value: Record<string, unknown>, op: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields)) {
    const given = value[camel(key)];
    if (isOptional(field)) {
      const v = given === undefined ? field.fill : given;
      if (v !== undefined) out[key] = field.optional.write(v);
    } else {
      if (given === undefined) throw new InvalidInputError(`A "${op}" request needs "${camel(key)}"; pass it.`);
      out[key] = field.write(given);
    }
  }
  return out;
}

export function readFields(fields: Fields, value: Record<string, unknown>, op: string, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields)) {
    const v = value[key];
    const kind = isOptional(field) ? field.optional : field;
    if (v === undefined || v === null) {
      if (isOptional(field)) {
        if ("fill" in field) out[camel(key)] = field.fill;
        continue;
      }
      throw lacks(op, kind.what, `${prefix}${key}`);
    }
    out[camel(key)] = kind.read(v, `${prefix}${key}`, op);
  }
  return out;
}
