/**
 * Video files as a user gets them: `sencache generate --out clip.mp4` writes a real H.264 MP4 (read back
 * here with ffmpeg: frame count, fps, size), whose first frame matches the decoded frames of the same
 * run within codec tolerance; the GIF and PNG strip of the same frames read back with Pillow.
 */
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { writeVideo } from "../../ts/media/index.js";
import { generate } from "../../ts/sampling/generate.js";
import { Model } from "../../ts/sampling/model.js";
import { openWorker } from "../../ts/worker/open.js";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { runPython, tinyModelDir } from "../helpers/tiny.js";

const run = promisify(execFile);
const CLI = join(PACKAGE_ROOT, "ts", "cli", "main.ts");

/** What ffmpeg / Pillow read from a file: codec, pixel format, fps, size, frame count and the first frame. */
interface ReadBack {
  readonly codec: string;
  readonly pixFmt: string;
  readonly fps: number;
  readonly size: [number, number];
  readonly frames: number;
  readonly first: number[];
}

const READ = `
import io, json, sys, numpy as np, imageio_ffmpeg
from PIL import Image
path = sys.argv[1]
if path.endswith(".mp4"):
    r = imageio_ffmpeg.read_frames(path); meta = next(r); w, h = meta["size"]
    frames = [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in r]
    out = dict(codec=meta["codec"], pixFmt=meta["pix_fmt"], fps=meta["fps"], size=[w, h], frames=len(frames))
else:
    im = Image.open(path); frames = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i); frames.append(np.asarray(im.convert("RGB")))
    out = dict(codec=im.format, pixFmt=im.mode, fps=1000 / im.info["duration"] if "duration" in im.info else 0, size=list(im.size), frames=len(frames))
out["first"] = frames[0].reshape(-1).tolist()
print(json.dumps(out))
`;

const readBack = (path: string): ReadBack => JSON.parse(runPython(["-c", READ, path])) as ReadBack;

/** Nearest-neighbour upscaling of frame 0 of a [F, H, W, 3] video. */
function firstFrameUpscaled(data: Uint8Array, h: number, w: number, scale: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h * scale; y++) for (let x = 0; x < w * scale; x++) for (let c = 0; c < 3; c++) out.push(
    data[(Math.floor(y / scale) * w + Math.floor(x / scale)) * 3 + c]!,
  );
  return out;
}

const meanAbs = (a: readonly number[], b: readonly number[]): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

test("generate --out clip.mp4 writes H.264 yuv420p at the model's fps whose first frame matches the decoded frames; GIF and PNG read back", async (t) => {
  const model = tinyModelDir();
  const tmp = mkdtempSync(join(tmpdir(), "sencache-video-"));
  const mp4 = join(tmp, "clip.mp4");
  const args = [
    "--model",
    model,
    "--prompt",
    "a red square",
    ..."--seed 3 --steps 4 --height 16 --width 16 --frames 5 --device cpu --threads 1".split(" "),
  ];
  const { stdout } = await run(process.execPath, ["--import", "tsx", CLI, "generate", ...args, "--out", mp4, "--json"], { cwd: PACKAGE_ROOT });
  const summary = JSON.parse(stdout) as { file: { format: string; width: number; height: number; frames: number; fps: number; bytes: number } };
  // 16 px is upscaled ×8 to 128 px by default; the tiny test model names no fps, so the family's 16.
  t.like(summary.file, { format: "mp4", width: 128, height: 128, frames: 5, fps: 16 });
  t.true(summary.file.bytes > 0);
  const video = readBack(mp4);
  t.like(video, { codec: "h264", fps: 16, size: [128, 128], frames: 5 });
  t.regex(video.pixFmt, /^yuv420p/);

  // The same run in process: its decoded frames against the MP4 (lossy) and the GIF (≤ 256 colours per frame).
  const worker = await openWorker({ device: "cpu", threads: 1 });
  try {
    const m = await Model.load(worker.client, model);
    const r = await generate(m, { prompt: "a red square", seed: 3, steps: 4, height: 16, width: 16, numFrames: 5, decode: true });
    const ref = firstFrameUpscaled(r.video!.data, 16, 16, 8);
    const mp4Error = meanAbs(video.first, ref);
    t.true(mp4Error < 4, `MP4 first frame differs from the decoded frame by ${mp4Error.toFixed(2)} levels on average`);
    const gifPath = join(tmp, "clip.gif");
    const gif = await writeVideo(m, gifPath, r.video!, { fps: 8, scale: 8 });
    t.like(gif, { format: "gif", width: 128, height: 128, frames: 5, fps: 8 });
    const g = readBack(gifPath);
    t.like(g, { codec: "GIF", size: [128, 128], fps: 1000 / 120 });
    t.true(g.frames >= 1 && g.frames <= 5); // Pillow merges a frame identical to the previous one into its display time
    t.true(meanAbs(g.first, ref) < 2, `GIF first frame differs by ${meanAbs(g.first, ref).toFixed(2)}`);
    const strip = await writeVideo(m, join(tmp, "clip.png"), r.video!, { scale: 1 });
    t.like(readBack(join(tmp, "clip.png")), { codec: "PNG", size: [5 * 16 + 4, 16], frames: 1 });
    t.like(strip, { format: "png", width: 84, height: 16 });
    // An odd size is padded (and said so), never resized.
    const cropped = new Uint8Array(5 * 15 * 15 * 3);
    for (let f = 0; f < 5; f++) for (let y = 0; y < 15; y++) cropped.set(
      r.video!.data.subarray(((f * 16 + y) * 16) * 3, ((f * 16 + y) * 16 + 15) * 3),
      ((f * 15 + y) * 15) * 3,
    );
    const odd = await writeVideo(m, join(tmp, "odd.mp4"), { shape: [5, 15, 15, 3], data: cropped }, { scale: 1, fps: 8 });
    t.like(odd, { width: 16, height: 16, padBottom: 1, padRight: 1 });
    t.regex(odd.note ?? "", /15×15 was padded to 16×16/);
    t.like(readBack(join(tmp, "odd.mp4")), { size: [16, 16], frames: 5, fps: 8 });
  } finally {
    await worker.close();
  }
});
