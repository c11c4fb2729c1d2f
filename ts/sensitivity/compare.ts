/**
 * Compare two sensitivity profiles per timestep (e.g. 8 vs 32 calibration samples, paper Fig. 4).
 * Pure: the relative difference is |b − a| / |b| with `b` the reference (the larger calibration).
 */
import { nearestIndex } from "./profile-lookup.js";
import type { SensitivityProfile } from "./profile.js";

export interface TimestepComparison {
  readonly t: number;
  readonly jxA: number;
  readonly jxB: number;
  /** |J_x(a) − J_x(b)| / |J_x(b)| */
  readonly jxRel: number;
  readonly jtA: number;
  readonly jtB: number;
  readonly jtRel: number;
}

export interface ProfileComparison {
  readonly rows: readonly TimestepComparison[];
  readonly maxRel: { readonly jx: number; readonly jt: number };
  readonly meanRel: { readonly jx: number; readonly jt: number };
}

function rel(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(b), Number.MIN_VALUE);
}

/**
 * Per-timestep relative differences of `a` against the reference `b`, over b's timesteps (a is
 * looked up at the nearest calibrated timestep, so profiles on the same schedule compare exactly).
 */
export function compareProfiles(a: SensitivityProfile, b: SensitivityProfile): ProfileComparison {
  const rows = b.timesteps.map((t, j): TimestepComparison => {
    const i = nearestIndex(a.timesteps, t);
    const jxA = a.J_x_norm[i]!;
    const jtA = a.J_t_norm[i]!;
    const jxB = b.J_x_norm[j]!;
    const jtB = b.J_t_norm[j]!;
    return { t, jxA, jxB, jxRel: rel(jxA, jxB), jtA, jtB, jtRel: rel(jtA, jtB) };
  });
  const max = (k: "jxRel" | "jtRel"): number => rows.reduce((m, r) => Math.max(m, r[k]), 0);
  const mean = (k: "jxRel" | "jtRel"): number => (rows.length === 0 ? 0 : rows.reduce((s, r) => s + r[k], 0) / rows.length);
  return { rows, maxRel: { jx: max("jxRel"), jt: max("jtRel") }, meanRel: { jx: mean("jxRel"), jt: mean("jtRel") } };
}

/** The comparison as a markdown table plus a summary line. */
export function comparisonMarkdown(c: ProfileComparison, labels: readonly [string, string] = ["a", "b"]): string {
  const [la, lb] = labels;
  const f = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  const lines = [
    `| t | J_x ${la} | J_x ${lb} | rel diff | J_t ${la} | J_t ${lb} | rel diff |`,
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...c.rows.map((r) => `| ${+r.t.toFixed(3)} | ${f(r.jxA)} | ${f(r.jxB)} | ${pct(r.jxRel)} | ${f(r.jtA)} | ${f(r.jtB)} | ${pct(r.jtRel)} |`),
    "",
    `max relative difference: J_x ${pct(c.maxRel.jx)}, J_t ${pct(c.maxRel.jt)}; mean: J_x ${pct(c.meanRel.jx)}, J_t ${pct(c.meanRel.jt)}`,
  ];
  return lines.join("\n");
}
