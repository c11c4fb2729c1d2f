/**
 * Compose a comparison grid: one row per run (e.g. a cache policy), one column per selected frame,
 * each frame upscaled by nearest neighbour, with a gap between cells and a text label (built-in
 * 5×7 font) above each row, e.g. "teacache  NFE 21  PSNR 31.2".
 *
 * Layout, top to bottom: `padding`; optional title line; optional column header ("f0", "f4", …);
 * then per row: the label line (when any row has a label), the frame cells, and `gap` before the
 * next row; `padding`. Text lines are 7×textScale pixels tall followed by `textGap` pixels. The
 * canvas widens when a label or the title is wider than the cells.
 */
import { drawText, GLYPH_HEIGHT, textWidth } from "./font.js";
import { blit, createImage, type Rgb, type RgbImage } from "./image.js";

export interface GridRow {
  /** Text drawn above the row (optional). */
  readonly label?: string;
  /** RGB frames laid out [F, H, W, 3], the same shape for every row. */
  readonly frames: Uint8Array;
}

export interface GridOptions {
  /** Shape of every row's video: frames, height, width. */
  readonly numFrames: number;
  readonly height: number;
  readonly width: number;
  /** Frames to show, in order (default: all). */
  readonly frameIndices?: readonly number[];
  /** Integer nearest-neighbour upscaling of each frame (default 2). */
  readonly scale?: number;
  /** Pixels between cells and between rows (default 2). */
  readonly gap?: number;
  /** Border around everything (default 4). */
  readonly padding?: number;
  /** Integer scale of label text (default 1). */
  readonly textScale?: number;
  /** Pixels between a text line and what follows it (default 2). */
  readonly textGap?: number;
  readonly title?: string;
  /** Draw "f<index>" above each column (default false). */
  readonly columnHeaders?: boolean;
  readonly background?: Rgb;
  readonly textColour?: Rgb;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface GridImage extends RgbImage {
  /** Top-left pixel of each cell: cells[row][column]. */
  readonly cells: readonly (readonly Point[])[];
  /** Top-left pixel of each row's label (null for rows without one). */
  readonly labels: readonly (Point | null)[];
  /** Cell size in pixels (frame size × scale). */
  readonly cellWidth: number;
  readonly cellHeight: number;
}

export function composeGrid(rows: readonly GridRow[], options: GridOptions): GridImage {
  const { numFrames: f, height: h, width: w } = options;
  const scale = options.scale ?? 2;
  const gap = options.gap ?? 2;
  const pad = options.padding ?? 4;
  const ts = options.textScale ?? 1;
  const textGap = options.textGap ?? 2;
  const bg = options.background ?? [255, 255, 255];
  const ink = options.textColour ?? [0, 0, 0];
  if (rows.length === 0) throw new RangeError("composeGrid: at least one row is needed.");
  for (const v of [f, h, w, scale, ts]) if (!Number.isInteger(v) || v < 1) throw new RangeError(`composeGrid: frames, height, width, scale and textScale must be positive integers.`);
  for (const v of [gap, pad, textGap]) if (!Number.isInteger(v) || v < 0) throw new RangeError("composeGrid: gap, padding and textGap must be non-negative integers.");
  const frameLen = h * w * 3;
  rows.forEach((r, i) => {
    if (r.frames.length !== f * frameLen) throw new RangeError(`composeGrid: row ${i} has ${r.frames.length} bytes; [${f}, ${h}, ${w}, 3] needs ${f * frameLen}.`);
  });
  const cols = options.frameIndices ?? Array.from({ length: f }, (_, i) => i);
  if (cols.length === 0) throw new RangeError("composeGrid: frameIndices is empty.");
  for (const c of cols) if (!Number.isInteger(c) || c < 0 || c >= f) throw new RangeError(`composeGrid: frame index ${c} is outside 0..${f - 1}.`);

  const cw = w * scale;
  const ch = h * scale;
  const line = GLYPH_HEIGHT * ts + textGap;
  const hasLabels = rows.some((r) => r.label !== undefined && r.label !== "");
  const cellsWidth = cols.length * cw + (cols.length - 1) * gap;
  const textWidest = Math.max(0, ...rows.map((r) => textWidth(r.label ?? "", ts)), textWidth(options.title ?? "", ts));
  const width = 2 * pad + Math.max(cellsWidth, textWidest);
  let y = pad;
  const titleY = y;
  if (options.title) y += line;
  const headerY = y;
  if (options.columnHeaders) y += line;
  const rowTops: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    rowTops.push(y);
    y += (hasLabels ? line : 0) + ch + (r < rows.length - 1 ? gap : 0);
  }
  const height = y + pad;
  const img = createImage(width, height, bg);
  if (options.title) drawText(img, options.title, pad, titleY, ink, ts);
  const colX = cols.map((_, c) => pad + c * (cw + gap));
  if (options.columnHeaders) cols.forEach((fi, c) => drawText(img, `f${fi}`, colX[c]!, headerY, ink, ts));
  const cells: Point[][] = [];
  const labels: (Point | null)[] = [];
  rows.forEach((row, r) => {
    let top = rowTops[r]!;
    if (hasLabels) {
      if (row.label) {
        drawText(img, row.label, pad, top, ink, ts);
        labels.push({ x: pad, y: top });
      } else labels.push(null);
      top += line;
    } else labels.push(null);
    cells.push(
      cols.map((fi, c) => {
        blit(img, row.frames.subarray(fi * frameLen, (fi + 1) * frameLen), h, w, colX[c]!, top, scale);
        return { x: colX[c]!, y: top };
      }),
    );
  });
  return { width, height, data: img.data, cells, labels, cellWidth: cw, cellHeight: ch };
}
