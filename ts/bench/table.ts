/**
 * Markdown table helpers: aligned columns (padded so the raw text lines up too), numbers with a
 * fixed number of decimals, numeric columns right-aligned.
 */

export type Cell = string | number | null | undefined;
export type Align = "left" | "right" | "center";

export interface TableOptions {
  /** Per-column alignment; default: right for columns whose body cells are all numbers, else left. */
  readonly align?: readonly Align[];
  /** Decimals for number cells (default 2); per column when an array. */
  readonly decimals?: number | readonly number[];
}

/** A number with fixed decimals; non-finite values print as "∞", "-∞" or "NaN"; null/undefined as "–". */
export function formatNumber(value: number | null | undefined, decimals = 2): string {
  if (value === null || value === undefined) return "–";
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  const s = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s; // no "-0.00"
}

/** "mean ± se" with fixed decimals. */
export function formatMeanSe(mean: number, se: number, decimals = 2): string {
  return `${formatNumber(mean, decimals)} ± ${formatNumber(se, decimals)}`;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function pad(s: string, width: number, align: Align): string {
  const n = [...s].length;
  const gap = Math.max(0, width - n);
  if (align === "right") return " ".repeat(gap) + s;
  if (align === "center") return " ".repeat(gap >> 1) + s + " ".repeat(gap - (gap >> 1));
  return s + " ".repeat(gap);
}

/** A GitHub-flavoured markdown table with aligned columns. Rows shorter than the header are padded with empty cells. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly Cell[])[], options: TableOptions = {}): string {
  const ncol = headers.length;
  const dec = (c: number): number => (typeof options.decimals === "number" ? options.decimals : (options.decimals?.[c] ?? 2));
  const body = rows.map((r) => {
    if (r.length > ncol) throw new RangeError(`markdownTable: a row has ${r.length} cells but there are ${ncol} headers.`);
    return Array.from({ length: ncol }, (_, c) => {
      const v = r[c];
      return escapeCell(typeof v === "number" ? formatNumber(v, dec(c)) : v === null || v === undefined ? "" : v);
    });
  });
  const align: Align[] = Array.from({ length: ncol }, (_, c) => {
    const given = options.align?.[c];
    if (given) return given;
    const numeric = rows.length > 0 && rows.every(
      (r) => typeof r[c] === "number" || (typeof r[c] === "string" && /^[-+]?[\d.,]+(e[-+]?\d+)?\s*%?$/i.test(r[c] as string)),
    );
    return numeric ? "right" : "left";
  });
  const head = headers.map(escapeCell);
  const width = head.map((h, c) => Math.max(3, [...h].length, ...body.map((r) => [...r[c]!].length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((s, c) => pad(s, width[c]!, align[c]!)).join(" | ")} |`;
  const rule = `| ${width
    .map((w, c) => {
      const a = align[c]!;
      if (a === "right") return "-".repeat(w - 1) + ":";
      if (a === "center") return ":" + "-".repeat(w - 2) + ":";
      return "-".repeat(w);
    })
    .join(" | ")} |`;
  return [line(head), rule, ...body.map(line)].join("\n");
}
