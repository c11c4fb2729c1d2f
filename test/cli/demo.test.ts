/** `sencache demo` on the tiny pipeline: one video per run (MP4 by default) and the grid, read back with Pillow / ffmpeg. */
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { tinyModelDir } from "../helpers/tiny.js";
import { imageInfo } from "../media/helpers.js";

const run = promisify(execFile);

test("demo writes an MP4 per run and a grid.png with one labelled row per run", async (t) => {
  const out = mkdtempSync(join(tmpdir(), "sencache-demo-"));
  const args = [
    "demo",
    "--model",
    tinyModelDir(),
    "--prompt",
    "a red square",
    "--steps",
    "3",
    "--policy",
    "fixed-interval:k=2",
    "--out",
    out,
    "--device",
    "cpu",
    "--threads",
    "1",
  ];
  const { stdout } = await run(process.execPath, ["--import", "tsx", join(PACKAGE_ROOT, "ts", "cli", "main.ts"), ...args], { cwd: PACKAGE_ROOT });
  t.regex(stdout, /wrote 2 MP4 files under .* and .*grid\.png/);
  t.deepEqual(readdirSync(out).sort(), ["grid.png", "p1-0-none.mp4", "p1-1-fixed-interval.mp4"]);
  const grid = imageInfo(join(out, "grid.png"));
  t.is(grid.format, "PNG");
  // two rows of 5 frames of the 32 px model upscaled ×3, with labels above each row and a title
  t.true(grid.width >= 5 * 96 && grid.height >= 2 * 96 + 40, `${grid.width}×${grid.height}`);
});
