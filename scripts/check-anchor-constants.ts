/**
 * Compares the TeaCache coefficients and MagCache ratios of ts/policies/constants.ts with a JSON collection of
 * the published values (`{ "teacache_coefficients": { source: number[] }, "magcache_ratios": { source: { "ratios":
 * number[] } } }`, keyed by each constant's `source`), for a maintainer who re-transcribes them:
 *
 *   npx tsx scripts/check-anchor-constants.ts FILE
 *
 * Prints every constant that differs or is missing and exits 1 if any does.
 */
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { MAGCACHE_RATIOS, TEACACHE_COEFFICIENTS } from "../ts/policies/index.js";

const file = process.argv[2];
if (file === undefined) {
  console.error("usage: npx tsx scripts/check-anchor-constants.ts FILE");
  process.exit(2);
}
interface Published {
  readonly teacache_coefficients?: Record<string, number[]>;
  readonly magcache_ratios?: Record<string, { ratios: number[] }>;
}
const published = JSON.parse(readFileSync(file, "utf8")) as Published;
const rows: [string, readonly number[], readonly number[] | undefined][] = [
  ...Object.values(TEACACHE_COEFFICIENTS).map((c) => [`teacache ${c.source}`, c.coefficients, published.teacache_coefficients?.[c.source]] as const),
  ...Object.values(MAGCACHE_RATIOS).map((m) => [`magcache ${m.source}`, m.ratios, published.magcache_ratios?.[m.source]?.ratios] as const),
].map(([name, ours, theirs]) => [name, ours, theirs]);
let bad = 0;
for (const [name, ours, theirs] of rows) {
  const ok = theirs !== undefined && isDeepStrictEqual([...ours], theirs);
  if (!ok) bad++;
  console.log(`${ok ? "same" : theirs === undefined ? "MISSING" : "DIFFERENT"}  ${name}`);
}
console.log(`${rows.length - bad} of ${rows.length} constants match ${file}`);
process.exit(bad === 0 ? 0 : 1);
