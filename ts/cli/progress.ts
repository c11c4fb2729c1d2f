/**
 * A one-line terminal progress bar (on stderr by default).
 *
 * On a TTY every `tick` redraws the line in place with `\r` (and erase-to-end-of-line), at most
 * every `redrawMs` (default 50 ms) except the last tick, which always draws:
 *
 *     generate teacache [██████████░░░░░░░░░░]  25/50  50% 3.2 it/s ETA 0:08 NFE 21 · reuse
 *
 * On anything else (a pipe, a CI log file) it prints a full line with "\n" at most every
 * `logIntervalMs` (default 5 s) and a final line from `done()`, so logs stay readable.
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number | undefined;
}

export interface ProgressBarOptions {
  /** Number of steps to completion (> 0); with 0 the line shows the count only. */
  readonly total: number;
  readonly label?: string;
  /** Default: process.stderr. */
  readonly stream?: ProgressStream;
  /** Bar width in cells (default 24; shrunk to fit the terminal's columns when known). */
  readonly width?: number;
  /** Minimum milliseconds between TTY redraws (default 50). */
  readonly redrawMs?: number;
  /** Minimum milliseconds between non-TTY log lines (default 5000). */
  readonly logIntervalMs?: number;
  /** Clock in milliseconds (tests inject a fake one). Default: performance.now. */
  readonly now?: () => number;
}

/** "m:ss" or "h:mm:ss"; "?" when not finite. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return "? it/s";
  if (perSecond >= 1) return `${perSecond.toFixed(perSecond >= 100 ? 0 : 1)} it/s`;
  return `${(1 / perSecond).toFixed(1)} s/it`;
}

export class ProgressBar {
  readonly total: number;
  private readonly label: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly barWidth: number;
  private readonly redrawMs: number;
  private readonly logIntervalMs: number;
  private readonly now: () => number;
  private readonly start: number;
  private count = 0;
  private extra = "";
  private lastDraw = -Infinity;
  private finished = false;

  constructor(options: ProgressBarOptions) {
    if (!Number.isFinite(options.total) || options.total < 0) throw new RangeError(`ProgressBar: total must be a non-negative number; got ${options.total}.`);
    this.total = options.total;
    this.label = options.label ?? "";
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.barWidth = Math.max(4, options.width ?? 24);
    this.redrawMs = options.redrawMs ?? 50;
    this.logIntervalMs = options.logIntervalMs ?? 5000;
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  get value(): number {
    return this.count;
  }

  /** Advance by `n` (default 1) and optionally replace the extra text shown at the end of the line. */
  tick(n = 1, extra?: string): void {
    if (this.finished) return;
    this.count = this.total > 0 ? Math.min(this.total, this.count + n) : this.count + n;
    if (extra !== undefined) this.extra = extra;
    const t = this.now();
    const last = this.total > 0 && this.count >= this.total;
    if (this.tty) {
      if (last || t - this.lastDraw >= this.redrawMs) this.draw(t);
    } else if (t - this.lastDraw >= this.logIntervalMs && !last) {
      // Non-TTY: the final state is left to done(), so a finished run logs it once.
      this.log(t);
    }
  }

  /** Finish: draw the final state and end the line. Further ticks are ignored. */
  done(extra?: string): void {
    if (this.finished) return;
    if (extra !== undefined) this.extra = extra;
    const t = this.now();
    if (this.tty) {
      this.draw(t);
      this.stream.write("\n");
    } else {
      this.log(t);
    }
    this.finished = true;
  }

  /** The line as it would be drawn now (no cursor control). */
  render(t = this.now()): string {
    const elapsed = Math.max(0, (t - this.start) / 1000);
    const rate = elapsed > 0 ? this.count / elapsed : NaN;
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    if (this.total > 0) {
      const frac = Math.min(1, this.count / this.total);
      let width = this.barWidth;
      if (this.tty && this.stream.columns) width = Math.max(4, Math.min(width, this.stream.columns - 60 - this.label.length));
      const full = Math.round(frac * width);
      const [on, off] = this.tty ? ["█", "░"] : ["#", "."];
      parts.push(`[${on.repeat(full)}${off.repeat(width - full)}]`);
      const digits = String(this.total).length;
      parts.push(`${String(this.count).padStart(digits)}/${this.total}`);
      parts.push(`${String(Math.floor(frac * 100)).padStart(3)}%`);
      parts.push(formatRate(rate));
      const remaining = this.total - this.count;
      parts.push(remaining === 0 ? `${formatDuration(elapsed)} total` : `ETA ${formatDuration(remaining / rate)}`);
    } else {
      parts.push(`${this.count}`, formatRate(rate), formatDuration(elapsed));
    }
    if (this.extra) parts.push(this.extra);
    return parts.join(" ");
  }

  private draw(t: number): void {
    let line = this.render(t);
    const cols = this.stream.columns;
    if (cols && [...line].length > cols - 1) line = [...line].slice(0, cols - 1).join("");
    this.stream.write(`\r${line}\x1b[K`);
    this.lastDraw = t;
  }

  private log(t: number): void {
    this.stream.write(`${this.render(t)}\n`);
    this.lastDraw = t;
  }
}
