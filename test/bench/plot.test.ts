import test from "ava";
import { execFileSync } from "node:child_process";
import { niceTicks, plotPareto, SERIES_COLOURS, type ParetoSeries } from "../../ts/bench/plot.js";
import { decodePng } from "../../ts/media/png.js";
import { HAS_PYTHON, PYTHON } from "../media/helpers.js";

const series: ParetoSeries[] = [
  { name: "fixed-interval", points: [{ nfe: 25, value: 31.2, se: 0.8 }, { nfe: 13, value: 24.9, se: 1.3 }, { nfe: 17, value: 27.5, se: 1.1 }] },
  { name: "teacache", points: [{ nfe: 30, value: 36.1 }, { nfe: 21, value: 32.4 }] },
  { name: "a<b & \"c\"", points: [{ nfe: 28, value: 38.0, se: 0.5 }, { nfe: 14, value: 30.1, se: 0.9 }] },
];
const opts = { title: "Quality vs NFE", xLabel: "NFE", yLabel: "PSNR (dB)", width: 600, height: 400 };

test("niceTicks: 1/2/5 steps covering the data, decimals from the step", (t) => {
  const a = niceTicks(13, 30);
  t.is(a.step, 5);
  t.deepEqual(a.values, [10, 15, 20, 25, 30]);
  t.is(a.decimals, 0);
  const b = niceTicks(0.91, 0.987);
  t.is(b.decimals, 2);
  t.true(b.min <= 0.91 && b.max >= 0.987);
  const c = niceTicks(5, 5);
  t.true(c.min < 5 && c.max > 5);
});

test("SVG: one polyline per series, title, axis labels, legend entries, escaped names", (t) => {
  const { svg } = plotPareto(series, opts);
  t.true(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  t.is(svg.match(/<polyline /g)?.length, 3);
  t.true(svg.includes(">Quality vs NFE</text>"));
  t.true(svg.includes(">PSNR (dB)</text>"));
  t.true(svg.includes("a&lt;b &amp; &quot;c&quot;"));
  t.false(svg.includes("a<b"));
  // Error bars only for points with se: 3 + 2.
  t.is(svg.match(/class="error-bar"/g)?.length, 5);
  // Polyline points are sorted by NFE (x increases).
  const first = /<polyline [^>]*points="([^"]+)"/.exec(svg)![1]!.split(" ").map((p) => Number(p.split(",")[0]));
  t.deepEqual(first, [...first].sort((x, y) => x - y));
  t.is(plotPareto(series, { ...opts, errorBars: false }).svg.match(/class="error-bar"/g), null);
});

(HAS_PYTHON ? test : test.skip)("SVG is well-formed XML", (t) => {
  const { svg } = plotPareto(series, opts);
  const out = execFileSync(PYTHON, ["-c", "import sys, xml.dom.minidom as m; d = m.parseString(sys.stdin.read()); print(len(d.getElementsByTagName('polyline')))"], { input: svg, encoding: "utf8" });
  t.is(out.trim(), "3");
});

test("PNG: decodes at the requested size, white background, series colours present", (t) => {
  const { png } = plotPareto(series, opts);
  const img = decodePng(png);
  t.is(img.width, 600);
  t.is(img.height, 400);
  t.deepEqual([...img.rgb.subarray(0, 3)], [255, 255, 255]);
  const colours = new Set<string>();
  for (let p = 0; p < img.width * img.height; p++) colours.add(`${img.rgb[3 * p]},${img.rgb[3 * p + 1]},${img.rgb[3 * p + 2]}`);
  for (let i = 0; i < series.length; i++) t.true(colours.has(SERIES_COLOURS[i]!.join(",")), `colour of series ${i}`);
  t.true(colours.has("0,0,0")); // text
});

test("too small a canvas and non-finite points are errors", (t) => {
  t.throws(() => plotPareto(series, { ...opts, width: 80, height: 60 }), { instanceOf: RangeError });
  t.throws(() => plotPareto([{ name: "x", points: [{ nfe: 1, value: Infinity }] }], opts), { instanceOf: RangeError });
});
