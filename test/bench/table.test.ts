import test from "ava";
import { formatMeanSe, formatNumber, markdownTable } from "../../ts/bench/table.js";

test("formatNumber: fixed decimals, no negative zero, non-finite and missing values", (t) => {
  t.is(formatNumber(3.14159, 3), "3.142");
  t.is(formatNumber(-0.0001, 2), "0.00");
  t.is(formatNumber(Infinity), "∞");
  t.is(formatNumber(null), "–");
  t.is(formatMeanSe(31.234, 0.456), "31.23 ± 0.46");
});

test("markdownTable aligns columns, right-aligns numbers and escapes pipes", (t) => {
  const s = markdownTable(["policy", "NFE", "PSNR"], [["none", 50, 100], ["tea|cache", 21, 31.5]], { decimals: [0, 0, 2] });
  t.is(
    s,
    [
      "| policy     | NFE |   PSNR |",
      "| ---------- | --: | -----: |",
      "| none       |  50 | 100.00 |",
      "| tea\\|cache |  21 |  31.50 |",
    ].join("\n"),
  );
  // Pre-formatted numeric strings are right-aligned too; every line has the same length.
  const lines = markdownTable(["a", "b"], [["x", "1.5"], ["yy", "12.25"]]).split("\n");
  t.true(lines.every((l) => l.length === lines[0]!.length));
  t.true(lines[1]!.endsWith(":|") || lines[1]!.endsWith(": |"));
});
