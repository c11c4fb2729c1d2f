/**
 * Benchmark plans: which policy settings to run, on which prompts and seeds.
 *
 * A setting is one policy spec (`"fixed-interval:k=3"`). Sweeps expand into several settings that
 * differ in one option. The sweep string syntax (also what `sencache bench --sweep` takes):
 *
 *     id:key=v1,v2,v3[,other=value…]
 *
 * The FIRST `key=` names the swept option; every following comma-separated token without a `=`
 * is another value of it; tokens with `=` are fixed options shared by every setting. Integer
 * ranges are written `a..b` (step 1) or `a..b..s`. Brackets keep list values intact (`[1,2]`).
 *
 *     sencache:eps=0.05,0.1,0.2          → 3 settings, eps = 0.05 / 0.1 / 0.2
 *     sencache:nfe=14..26..4,n=3         → budget mode at NFE 14, 18, 22, 26, each with n=3
 *     fixed-interval:k=2..5              → k = 2, 3, 4, 5
 *     teacache:delta=0.05,0.1,0.2
 */
import { InvalidInputError } from "../errors.js";
import { canonicalKey, defaultPolicyRegistry, parseSpec, splitTopLevel, type PolicyRegistry } from "../policies/index.js";

/** A sweep of one option of one policy. */
export interface Sweep {
  readonly policy: string;
  readonly param: string;
  readonly values: readonly (number | string)[];
  /** Options shared by every setting of the sweep (spec syntax without the id, e.g. "n=3"). */
  readonly options?: string;
}

export type PlanEntry = string | Sweep;

export interface BenchPlan {
  /** Policy specs and sweeps; the uncached reference (policy none) always runs and needs no entry. */
  readonly settings: readonly PlanEntry[];
  readonly prompts: readonly string[];
  readonly seeds: readonly number[];
  /** Denoising steps T (default: the model's). */
  readonly steps?: number;
  /** Guidance scale (default: the model's). */
  readonly guidanceScale?: number;
  readonly negativePrompt?: string;
  readonly height?: number;
  readonly width?: number;
  readonly numFrames?: number;
  /** Sensitivity profile (path or object) given to every setting whose policy takes a profile and whose spec names none. */
  readonly profile?: unknown;
  /**
   * Typed options a setting gets for what its spec leaves out (the CLI passes the model's own
   * calibration files, see policies/model-files.ts); `profile` above wins over these.
   */
  readonly defaultsFor?: (spec: string) => Readonly<Record<string, unknown>>;
  /** NFE points at which each policy's curve is interpolated (e.g. [18, 21]). */
  readonly nfePoints?: readonly number[];
}

/** One expanded policy setting. */
export interface PolicySetting {
  /** Unique label: the spec as written or expanded (a default profile is not part of it). */
  readonly label: string;
  /** The spec string given to resolvePolicy. */
  readonly spec: string;
  /** Typed overrides (the plan's default profile). */
  readonly overrides: Readonly<Record<string, unknown>>;
  /** The policy id the spec resolves to (one Pareto curve per id; "sencache:nfe=…" is "sencache-budget"). */
  readonly policy: string;
}

export const REFERENCE_LABEL = "none";

function expandValue(token: string, sweep: string): string[] {
  const m = /^(-?\d+)\.\.(-?\d+)(?:\.\.(\d+))?$/.exec(token);
  if (!m) return [token];
  const a = Number(m[1]);
  const b = Number(m[2]);
  const step = m[3] === undefined ? 1 : Number(m[3]);
  if (step < 1 || b < a) throw new InvalidInputError(`The range "${token}" in the sweep "${sweep}" must be a..b or a..b..step with a ≤ b and step ≥ 1.`);
  const out: string[] = [];
  for (let v = a; v <= b; v += step) out.push(String(v));
  return out;
}

/** Parse `"id:key=v1,v2,…[,other=value…]"` into a Sweep. */
export function parseSweep(text: string): Sweep {
  const colon = text.indexOf(":");
  const hint = 'write a sweep as "id:key=v1,v2,v3[,other=value]", e.g. "sencache:eps=0.05,0.1,0.2" or "fixed-interval:k=2..5"';
  if (colon < 0) throw new InvalidInputError(`The sweep "${text}" names no option to sweep; ${hint}.`);
  const policy = text.slice(0, colon).trim();
  parseSpec(policy); // validates the id syntax
  const parts = splitTopLevel(text.slice(colon + 1)).parts.map((p) => p.trim()).filter((p) => p !== "");
  const first = parts[0];
  if (first === undefined || !first.includes("=")) throw new InvalidInputError(`The sweep "${text}" must start with key=value after the policy id; ${hint}.`);
  const eq = first.indexOf("=");
  const param = first.slice(0, eq).trim();
  const values: string[] = [...expandValue(first.slice(eq + 1).trim(), text)];
  const fixed: string[] = [];
  for (const part of parts.slice(1)) {
    if (part.includes("=")) fixed.push(part);
    else if (fixed.length > 0) throw new InvalidInputError(
      `In the sweep "${text}", the value "${part}" follows a fixed option; list every value of "${param}" right after it; ${hint}.`,
    );
    else values.push(...expandValue(part, text));
  }
  if (param === "" || values.some((v) => v === "")) throw new InvalidInputError(`The sweep "${text}" has an empty key or value; ${hint}.`);
  return { policy, param, values, ...(fixed.length > 0 ? { options: fixed.join(",") } : {}) };
}

/** Expand plan entries into settings (the reference is not among them); checks every spec resolves. */
export function expandSettings(
  plan: Pick<BenchPlan, "settings" | "profile" | "defaultsFor">,
  registry: PolicyRegistry = defaultPolicyRegistry,
): PolicySetting[] {
  const specs: string[] = [];
  for (const entry of plan.settings) {
    if (typeof entry === "string") {
      specs.push(entry.trim());
    } else {
      if (entry.values.length === 0) throw new InvalidInputError(`The sweep of ${entry.policy}.${entry.param} has no values.`);
      for (const v of entry.values) specs.push(`${entry.policy}:${entry.param}=${String(v)}${entry.options ? `,${entry.options}` : ""}`);
    }
  }
  const settings: PolicySetting[] = [];
  const seen = new Set<string>([REFERENCE_LABEL]);
  for (const spec of specs) {
    const parsed = parseSpec(spec);
    if (parsed.id === "none" && Object.keys(parsed.raw).length === 0) continue; // the reference always runs
    if (seen.has(spec)) throw new InvalidInputError(`The policy setting "${spec}" is listed twice; list each setting once.`);
    seen.add(spec);
    const factory = registry.get(parsed.id);
    const takesProfile = canonicalKey(factory.optionSchema, "profile") === "profile";
    const namesProfile = Object.keys(parsed.raw).some((k) => canonicalKey(factory.optionSchema, k) === "profile");
    const overrides: Record<string, unknown> = {
      ...plan.defaultsFor?.(spec),
      ...(takesProfile && !namesProfile && plan.profile !== undefined ? { profile: plan.profile } : {}),
    };
    const policy = registry.resolve(spec, overrides).id; // fails before any model time is spent
    settings.push({ label: spec, spec, overrides, policy });
  }
  return settings;
}
