/**
 * Pareto plots (quality vs NFE, one line per cache policy) as SVG, and the same picture rasterised
 * to PNG by a tiny software rasteriser (thick lines, filled circles/squares, the built-in 5×7
 * bitmap font) so it opens anywhere without a browser or a plotting library.
 *
 * Layout: title on top; plot area with light grid lines at the "nice" ticks (steps 1, 2, 5 × 10^k,
 * about 5 per axis); axis labels below (x) and rotated along the left (y); legend to the right of
 * the plot area. Each series is one polyline through its points sorted by NFE, with a marker at
 * every point (circles and squares alternate between series) and, when a point has `se` and error
 * bars are on, a vertical bar value ± se with caps.
 */
import { encodePng } from "../media/png.js";
import { drawText, GLYPH_HEIGHT, glyphBitmap, GLYPH_ADVANCE, GLYPH_WIDTH, textWidth } from "../media/font.js";
import { createImage, fillRect, setPixel, type Rgb, type RgbImage } from "../media/image.js";

export interface ParetoPoint {
  readonly nfe: number;
  readonly value: number;
  /** Standard error of `value`, drawn as an error bar when present. */
  readonly se?: number;
}

export interface ParetoSeries {
  readonly name: string;
  readonly points: readonly ParetoPoint[];
}

export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Pixels (default 640 × 420). */
  readonly width?: number;
  readonly height?: number;
  /** Draw ± se bars where points have `se` (default true). */
  readonly errorBars?: boolean;
}

export interface PlotResult {
  readonly svg: string;
  readonly png: Buffer;
}

/** Series colours (a colour-blind-friendly set), cycled. */
export const SERIES_COLOURS: readonly Rgb[] = [
  [0, 114, 178],
  [213, 94, 0],
  [0, 158, 115],
  [204, 121, 167],
  [230, 159, 0],
  [86, 180, 233],
  [100, 100, 100],
  [240, 228, 66],
];

const INK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const AXIS: Rgb = [60, 60, 60];

export interface Ticks {
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly values: readonly number[];
  readonly decimals: number;
}

/** "Nice" ticks covering [lo, hi]: step 1, 2 or 5 × 10^k giving about `target` intervals; the domain snaps to ticks. */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError("niceTicks: bounds must be finite.");
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.ceil(hi / step - 1e-9) * step;
  const values: number[] = [];
  for (let v = min; v <= max + step * 1e-6; v += step) values.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return { min, max, step, values, decimals };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const hex = (c: Rgb): string => `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
const num = (v: number): string => (Math.round(v * 100) / 100).toString();

interface Layout {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly xTicks: Ticks;
  readonly yTicks: Ticks;
  readonly sx: (nfe: number) => number;
  readonly sy: (value: number) => number;
  readonly legendX: number;
  readonly legendY: number;
  readonly series: readonly { readonly name: string; readonly colour: Rgb; readonly square: boolean; readonly points: readonly ParetoPoint[] }[];
  readonly errorBars: boolean;
}

function layout(series: readonly ParetoSeries[], options: PlotOptions): Layout {
  const width = options.width ?? 640;
  const height = options.height ?? 420;
  const errorBars = options.errorBars ?? true;
  const all = series.flatMap((s) => s.points);
  for (const p of all) {
    if (!Number.isFinite(p.nfe) || !Number.isFinite(p.value)) throw new RangeError(`plotPareto: points need finite nfe and value; got (${p.nfe}, ${p.value}).`);
  }
  const xs = all.map((p) => p.nfe);
  const ylo = all.map((p) => p.value - (errorBars && p.se !== undefined && Number.isFinite(p.se) ? Math.abs(p.se) : 0));
  const yhi = all.map((p) => p.value + (errorBars && p.se !== undefined && Number.isFinite(p.se) ? Math.abs(p.se) : 0));
  const xTicks = all.length ? niceTicks(Math.min(...xs), Math.max(...xs)) : niceTicks(0, 1);
  const yTicks = all.length ? niceTicks(Math.min(...ylo), Math.max(...yhi)) : niceTicks(0, 1);
  const longest = Math.max(0, ...series.map((s) => textWidth(s.name)));
  const legendWidth = Math.min(Math.floor(width * 0.4), longest + 36);
  const yTickWidth = Math.max(...yTicks.values.map((v) => textWidth(v.toFixed(yTicks.decimals))));
  const left = 14 + GLYPH_HEIGHT + 8 + yTickWidth + 6;
  const right = width - legendWidth - 16;
  const top = 14 + GLYPH_HEIGHT * 2 + 10;
  const bottom = height - (8 + GLYPH_HEIGHT + 8 + GLYPH_HEIGHT + 12);
  if (right - left < 40 || bottom - top < 40) throw new RangeError(`plotPareto: ${width}x${height} is too small for the plot.`);
  const sx = (v: number): number => left + ((v - xTicks.min) / (xTicks.max - xTicks.min)) * (right - left);
  const sy = (v: number): number => bottom - ((v - yTicks.min) / (yTicks.max - yTicks.min)) * (bottom - top);
  return {
    width,
    height,
    left,
    right,
    top,
    bottom,
    xTicks,
    yTicks,
    sx,
    sy,
    legendX: right + 16,
    legendY: top,
    series: series.map((s, i) => ({
      name: s.name,
      colour: SERIES_COLOURS[i % SERIES_COLOURS.length]!,
      square: i % 2 === 1,
      points: [...s.points].sort((a, b) => a.nfe - b.nfe),
    })),
    errorBars,
  };
}

// ---------------------------------------------------------------- SVG

function renderSvg(L: Layout, options: PlotOptions): string {
  const o: string[] = [];
  const family = `font-family="DejaVu Sans Mono, Menlo, Consolas, monospace"`;
  const font = `${family} font-size="11"`;
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}">`);
  o.push(`<rect x="0" y="0" width="${L.width}" height="${L.height}" fill="#ffffff"/>`);
  o.push(`<text x="${L.width / 2}" y="22" text-anchor="middle" ${family} font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  o.push(`<g class="grid" stroke="${hex(GRID)}" stroke-width="1">`);
  for (const v of L.xTicks.values) o.push(`<line x1="${num(L.sx(v))}" y1="${L.top}" x2="${num(L.sx(v))}" y2="${L.bottom}"/>`);
  for (const v of L.yTicks.values) o.push(`<line x1="${L.left}" y1="${num(L.sy(v))}" x2="${L.right}" y2="${num(L.sy(v))}"/>`);
  o.push(`</g>`);
  o.push(`<g class="axes" stroke="${hex(AXIS)}" stroke-width="1">`);
  o.push(`<line x1="${L.left}" y1="${L.bottom}" x2="${L.right}" y2="${L.bottom}"/>`);
  o.push(`<line x1="${L.left}" y1="${L.top}" x2="${L.left}" y2="${L.bottom}"/>`);
  for (const v of L.xTicks.values) o.push(`<line x1="${num(L.sx(v))}" y1="${L.bottom}" x2="${num(L.sx(v))}" y2="${L.bottom + 4}"/>`);
  for (const v of L.yTicks.values) o.push(`<line x1="${L.left - 4}" y1="${num(L.sy(v))}" x2="${L.left}" y2="${num(L.sy(v))}"/>`);
  o.push(`</g>`);
  o.push(`<g class="tick-labels" ${font} fill="#000000">`);
  for (const v of L.xTicks.values) o.push(`<text x="${num(L.sx(v))}" y="${L.bottom + 16}" text-anchor="middle">${v.toFixed(L.xTicks.decimals)}</text>`);
  for (const v of L.yTicks.values) o.push(`<text x="${L.left - 7}" y="${num(L.sy(v) + 4)}" text-anchor="end">${v.toFixed(L.yTicks.decimals)}</text>`);
  o.push(`</g>`);
  o.push(`<text x="${(L.left + L.right) / 2}" y="${L.height - 10}" text-anchor="middle" ${family} font-size="12">${escapeXml(options.xLabel)}</text>`);
  const yl = (L.top + L.bottom) / 2;
  o.push(`<text x="16" y="${yl}" transform="rotate(-90 16 ${yl})" text-anchor="middle" ${family} font-size="12">${escapeXml(options.yLabel)}</text>`);
  for (const s of L.series) {
    const c = hex(s.colour);
    o.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (s.points.length > 0) o.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map((p) => `${num(L.sx(p.nfe))},${num(L.sy(p.value))}`).join(" ")}"/>`);
    for (const p of s.points) {
      const x = L.sx(p.nfe);
      if (L.errorBars && p.se !== undefined && Number.isFinite(p.se) && p.se !== 0) {
        const y0 = L.sy(p.value - Math.abs(p.se));
        const y1 = L.sy(p.value + Math.abs(p.se));
        o.push(`<path class="error-bar" stroke="${c}" stroke-width="1" fill="none" d="M${num(x)},${num(y0)}V${num(y1)}M${num(x - 4)},${num(y0)}H${num(x + 4)}M${num(x - 4)},${num(y1)}H${num(x + 4)}"/>`);
      }
      o.push(marker(s.square, x, L.sy(p.value), c));
    }
    o.push(`</g>`);
  }
  o.push(`<g class="legend" ${font}>`);
  L.series.forEach((s, i) => {
    const y = L.legendY + 8 + i * 18;
    const c = hex(s.colour);
    o.push(`<line x1="${L.legendX}" y1="${y}" x2="${L.legendX + 22}" y2="${y}" stroke="${c}" stroke-width="2"/>`);
    o.push(marker(s.square, L.legendX + 11, y, c));
    o.push(`<text x="${L.legendX + 28}" y="${y + 4}">${escapeXml(s.name)}</text>`);
  });
  o.push(`</g>`);
  o.push(`</svg>`);
  return o.join("\n") + "\n";
}

function marker(square: boolean, x: number, y: number, colour: string): string {
  return square
    ? `<rect x="${num(x - 3.5)}" y="${num(y - 3.5)}" width="7" height="7" fill="${colour}"/>`
    : `<circle cx="${num(x)}" cy="${num(y)}" r="4" fill="${colour}"/>`;
}

// ---------------------------------------------------------------- raster

/** A line of the given thickness (square brush), Bresenham-stepped. */
export function drawLine(img: RgbImage, x0: number, y0: number, x1: number, y1: number, colour: Rgb, thickness = 1): void {
  let ax = Math.round(x0), ay = Math.round(y0);
  const bx = Math.round(x1), by = Math.round(y1);
  const dx = Math.abs(bx - ax), dy = -Math.abs(by - ay);
  const stepX = ax < bx ? 1 : -1, stepY = ay < by ? 1 : -1;
  let err = dx + dy;
  const lo = -Math.floor((thickness - 1) / 2);
  const hi = lo + thickness - 1;
  for (;;) {
    for (let oy = lo; oy <= hi; oy++) for (let ox = lo; ox <= hi; ox++) setPixel(img, ax + ox, ay + oy, colour);
    if (ax === bx && ay === by) break;
    const e2 = 2 * err;
    if (e2 >= dy) { err += dy; ax += stepX; }
    if (e2 <= dx) { err += dx; ay += stepY; }
  }
}

export function fillCircle(img: RgbImage, cx: number, cy: number, r: number, colour: Rgb): void {
  const x0 = Math.round(cx), y0 = Math.round(cy);
  const R = Math.ceil(r);
  for (let y = -R; y <= R; y++) for (let x = -R; x <= R; x++) if (x * x + y * y <= r * r + 0.25) setPixel(img, x0 + x, y0 + y, colour);
}

function rasterMarker(img: RgbImage, square: boolean, x: number, y: number, colour: Rgb): void {
  if (square) fillRect(img, Math.round(x) - 3, Math.round(y) - 3, 7, 7, colour);
  else fillCircle(img, x, y, 4, colour);
}

/** Text rotated 90° counter-clockwise (reads bottom to top), its baseline start at (x, y) = bottom-left. */
function drawTextUp(img: RgbImage, text: string, x: number, y: number, colour: Rgb): void {
  let along = 0;
  for (const ch of text) {
    const bits = glyphBitmap(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) if (bits[gy * GLYPH_WIDTH + gx]) setPixel(img, x + gy, y - along - gx, colour);
    }
    along += GLYPH_ADVANCE;
  }
}

function renderRaster(L: Layout, options: PlotOptions): RgbImage {
  const img = createImage(L.width, L.height, [255, 255, 255]);
  const tw = textWidth(options.title, 2);
  drawText(img, options.title, Math.round((L.width - tw) / 2), 10, INK, 2);
  for (const v of L.xTicks.values) drawLine(img, L.sx(v), L.top, L.sx(v), L.bottom, GRID);
  for (const v of L.yTicks.values) drawLine(img, L.left, L.sy(v), L.right, L.sy(v), GRID);
  drawLine(img, L.left, L.bottom, L.right, L.bottom, AXIS);
  drawLine(img, L.left, L.top, L.left, L.bottom, AXIS);
  for (const v of L.xTicks.values) {
    drawLine(img, L.sx(v), L.bottom, L.sx(v), L.bottom + 4, AXIS);
    const s = v.toFixed(L.xTicks.decimals);
    drawText(img, s, Math.round(L.sx(v) - textWidth(s) / 2), L.bottom + 8, INK);
  }
  for (const v of L.yTicks.values) {
    drawLine(img, L.left - 4, L.sy(v), L.left, L.sy(v), AXIS);
    const s = v.toFixed(L.yTicks.decimals);
    drawText(img, s, L.left - 7 - textWidth(s), Math.round(L.sy(v) - GLYPH_HEIGHT / 2), INK);
  }
  drawText(img, options.xLabel, Math.round((L.left + L.right - textWidth(options.xLabel)) / 2), L.height - 8 - GLYPH_HEIGHT, INK);
  drawTextUp(img, options.yLabel, 12, Math.round((L.top + L.bottom + textWidth(options.yLabel)) / 2), INK);
  for (const s of L.series) {
    for (let i = 1; i < s.points.length; i++) {
      const a = s.points[i - 1]!, b = s.points[i]!;
      drawLine(img, L.sx(a.nfe), L.sy(a.value), L.sx(b.nfe), L.sy(b.value), s.colour, 2);
    }
    for (const p of s.points) {
      const x = L.sx(p.nfe);
      if (L.errorBars && p.se !== undefined && Number.isFinite(p.se) && p.se !== 0) {
        const y0 = L.sy(p.value - Math.abs(p.se)), y1 = L.sy(p.value + Math.abs(p.se));
        drawLine(img, x, y0, x, y1, s.colour);
        drawLine(img, x - 4, y0, x + 4, y0, s.colour);
        drawLine(img, x - 4, y1, x + 4, y1, s.colour);
      }
      rasterMarker(img, s.square, x, L.sy(p.value), s.colour);
    }
  }
  L.series.forEach((s, i) => {
    const y = L.legendY + 8 + i * 18;
    drawLine(img, L.legendX, y, L.legendX + 22, y, s.colour, 2);
    rasterMarker(img, s.square, L.legendX + 11, y, s.colour);
    drawText(img, s.name, L.legendX + 28, y - 3, INK);
  });
  return img;
}

/** Quality-vs-NFE Pareto plot of several policies, as SVG text and as a PNG of the same layout. */
export function plotPareto(series: readonly ParetoSeries[], options: PlotOptions): PlotResult {
  const L = layout(series, options);
  const img = renderRaster(L, options);
  return { svg: renderSvg(L, options), png: encodePng(img.data, img.width, img.height) };
}
