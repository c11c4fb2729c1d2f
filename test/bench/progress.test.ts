import test from "ava";
import { formatDuration, ProgressBar, type ProgressStream } from "../../ts/cli/progress.js";

class FakeStream implements ProgressStream {
  out = "";
  constructor(readonly isTTY: boolean, readonly columns?: number) {}
  write(chunk: string): boolean {
    this.out += chunk;
    return true;
  }
}

test("non-TTY: at most one line per interval, then one final line; readable without control codes", (t) => {
  const stream = new FakeStream(false);
  let now = 0;
  const bar = new ProgressBar({ total: 50, label: "generate teacache", stream, now: () => now, logIntervalMs: 5000 });
  for (let i = 1; i <= 50; i++) {
    now = i * 400; // 2.5 it/s, 20 s total
    bar.tick(1, `NFE ${i} · reuse`);
  }
  bar.done();
  const lines = stream.out.split("\n").filter(Boolean);
  // Ticks at 0.4 s (first), then every ≥ 5 s: 5.2, 10.4, 15.6 s → 4 lines, + the final one.
  t.is(lines.length, 5);
  t.false(stream.out.includes("\r"));
  t.false(stream.out.includes("\x1b"));
  t.is(lines[0], "generate teacache [........................]  1/50   2% 2.5 it/s ETA 0:20 NFE 1 · reuse");
  t.is(lines[4], "generate teacache [########################] 50/50 100% 2.5 it/s 0:20 total NFE 50 · reuse");
});

test("TTY: redraws one line with \\r, throttled, final state always drawn, newline at done", (t) => {
  const stream = new FakeStream(true);
  let now = 0;
  const bar = new ProgressBar({ total: 4, label: "x", stream, width: 8, redrawMs: 50, now: () => now });
  now = 10;
  bar.tick(); // first draw
  now = 20;
  bar.tick(); // throttled
  now = 100;
  bar.tick(1, "NFE 3");
  now = 110;
  bar.tick(); // last: drawn despite the throttle
  bar.done();
  const draws = stream.out.split("\r").filter(Boolean);
  t.is(draws.length, 4);
  t.true(stream.out.endsWith("\n"));
  t.true(draws.every((d) => d.includes("\x1b[K")));
  t.true(draws[1]!.startsWith("x [██████░░] 3/4  75%"));
  t.true(draws[1]!.includes("NFE 3"));
  t.true(draws[2]!.startsWith("x [████████] 4/4 100%"));
  bar.tick(); // ignored after done
  t.is(stream.out.split("\r").filter(Boolean).length, 4);
});

test("formatDuration and slow rates", (t) => {
  t.is(formatDuration(0), "0:00");
  t.is(formatDuration(75), "1:15");
  t.is(formatDuration(3725), "1:02:05");
  t.is(formatDuration(Infinity), "?");
  const bar = new ProgressBar({ total: 10, stream: new FakeStream(false), now: () => 0 });
  t.regex(bar.render(0), /\? it\/s ETA \?/);
  bar.tick();
  t.regex(bar.render(4000), /4\.0 s\/it ETA 0:36/);
});
