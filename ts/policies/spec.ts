/**
 * The CLI convenience syntax of a policy setting: `id` or `id:key=value[,key=value…]`. Values are
 * numbers (`0.1`, `1e-3`, `inf`), booleans (`true`/`false`), bare strings, or lists in brackets
 * (`coefficients=[1,-2,3]`; commas inside brackets do not split options). Keys are matched
 * case-insensitively and ignoring `-`/`_`, so `eps_start`, `eps-start` and `epsStart` are the same
 * option. What the values mean is the policy's option schema (options.ts).
 */

import { PolicyOptionsError } from "./errors.js";

export interface ParsedSpec {
  readonly id: string;
  /** Raw string values by key as written. */
  readonly raw: Readonly<Record<string, string>>;
}

/** An option key as matched: case-insensitive, ignoring `-`, `_` and spaces. */
export const normKey = (key: string): string => key.replace(/[-_\s]/g, "").toLowerCase();

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

/** A number as a spec writes it (`0.1`, `1e-3`, `inf`); NaN when it is not one. */
export function parseNumber(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === "inf" || t === "infinity" || t === "+inf") return Infinity;
  if (t === "-inf" || t === "-infinity") return -Infinity;
  if (t === "" || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return NaN;
  return Number(t);
}
