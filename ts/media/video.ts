/**
 * Video files from the frames the worker decodes (`{ shape: [F, H, W, 3], data }`, uint8 RGB).
 *
 * The encoding itself is done by maintained libraries on the worker's Python side (op `encode_video`:
 * MP4 H.264 yuv420p through imageio-ffmpeg's bundled ffmpeg, GIF / PNG through Pillow), and the
 * encoded file comes back as one byte frame that is written here — where the user runs the CLI, also
 * when the worker runs on another machine (`--connect`). Nothing here encodes pixels itself.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, extname } from "node:path";
import { InvalidInputError } from "../errors.js";
import type { EncodeVideoResult, VideoFormat } from "../worker/ops.js";
import type { WorkerLike } from "../worker/client.js";

/** Structurally compatible with the worker's `Tensor<Uint8Array>`. */
export interface VideoTensor {
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

export interface VideoShape {
  readonly frames: number;
  readonly height: number;
  readonly width: number;
}

/**
 * Validate a video tensor and return its shape. Accepts [F, H, W, 3] and, for a single-sample
 * batch, [1, F, H, W, 3]; anything else (other channel counts, wrong data length) throws.
 */
export function videoShape(video: VideoTensor): VideoShape {
  let s = [...video.shape];
  if (s.length === 5 && s[0] === 1) s = s.slice(1);
  const [frames, height, width, channels] = s;
  if (s.length !== 4 || channels !== 3 || frames === undefined || height === undefined || width === undefined) {
    throw new RangeError(`A video tensor must be [F, H, W, 3] uint8 RGB; got shape [${video.shape.join(", ")}].`);
  }
  if (![
    frames,
    height,
    width,
  ].every((v) => Number.isInteger(v) && v > 0)) throw new RangeError(`A video tensor needs positive dimensions; got [${video.shape.join(", ")}].`);
  if (video.data.length !== frames * height * width * 3) {
    throw new RangeError(`A video tensor of shape [${video.shape.join(", ")}] needs ${frames * height * width * 3} bytes but has ${video.data.length}.`);
  }
  return { frames, height, width };
}

/** One frame as an RGB [H, W, 3] view (no copy). */
export function videoFrame(video: VideoTensor, index: number): Uint8Array {
  const { frames, height, width } = videoShape(video);
  if (!Number.isInteger(index) || index < 0 || index >= frames) throw new RangeError(`Frame ${index} is outside 0..${frames - 1}.`);
  const n = height * width * 3;
  return video.data.subarray(index * n, (index + 1) * n);
}

/** Output file extensions and the format each writes (`.png`: the frames side by side). */
export const VIDEO_FILE_FORMATS: Readonly<Record<string, Exclude<VideoFormat, "grid">>> = { ".mp4": "mp4", ".gif": "gif", ".png": "png" };

/** The format a path's extension names, or an InvalidInputError that lists the ones written. */
export function videoFormatOf(path: string, flag = "out"): Exclude<VideoFormat, "grid"> {
  const ext = extname(path).toLowerCase();
  const format = VIDEO_FILE_FORMATS[ext];
  if (format) return format;
  const stem = ext ? path.slice(0, -ext.length) : path;
  throw new InvalidInputError(
    `--${flag} ${path}: ${ext ? `"${ext}" is not a format sencache writes` : "the name has no extension"}; ` +
      `use .mp4 (H.264), .gif or .png (the frames side by side), for example ${stem}.mp4.`,
  );
}

/** Frames per second when the worker does not say (older workers): Wan's usual rate. */
export const DEFAULT_FPS = 16;

/** The integer upscaling that makes a small video at least 128 px on its short side (1 for 128 px and up). */
export function defaultScale(height: number, width: number): number {
  return Math.max(1, Math.ceil(128 / Math.max(1, Math.min(height, width))));
}

/** Anything that reaches a worker: a `WorkerClient`, or a `Model` (its current client). */
export type EncoderHost = WorkerLike | { readonly client: WorkerLike };

function clientOf(host: EncoderHost): WorkerLike {
  return "client" in host ? host.client : host;
}

export interface WriteVideoOptions {
  /** Frames per second (default: the model's, else 16). Ignored for `.png`. */
  readonly fps?: number;
  /** Integer nearest-neighbour upscaling (default `defaultScale`: small videos to ≥ 128 px). */
  readonly scale?: number;
  /** The format (default: from the file's extension). */
  readonly format?: Exclude<VideoFormat, "grid">;
  readonly signal?: AbortSignal;
}

export interface WrittenVideo extends Omit<EncodeVideoResult, "data"> {
  readonly path: string;
  readonly bytes: number;
  /** A sentence when the frames were padded (an odd size in H.264 yuv420p), else undefined. */
  readonly note?: string;
}

function fpsOf(host: EncoderHost, fps: number | undefined): number {
  if (fps !== undefined) return fps;
  const info = (host as { info?: { defaults?: { fps?: number } } }).info;
  return info?.defaults?.fps ?? DEFAULT_FPS;
}

function write(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** Encode a video in the worker (MP4, GIF or a PNG strip, by the extension) and write it to `path`. */
export async function writeVideo(host: EncoderHost, path: string, video: VideoTensor, options: WriteVideoOptions = {}): Promise<WrittenVideo> {
  const format = options.format ?? videoFormatOf(path);
  const { frames, height, width } = videoShape(video);
  const fps = fpsOf(host, options.fps);
  const scale = options.scale ?? defaultScale(height, width);
  const tensor = { dtype: "uint8" as const, shape: [frames, height, width, 3], data: video.data };
  const { data, ...info } = await clientOf(host).request(
    { op: "encodeVideo", video: tensor, format, fps, scale },
    options.signal ? { signal: options.signal } : {},
  );
  if (data.length === 0) throw new InvalidInputError(
    `The worker encoded an empty ${format} file for ${path}; run \`sencache doctor\` to check its video encoder.`,
  );
  write(path, data);
  const padded = info.padBottom > 0 || info.padRight > 0;
  return {
    ...info,
    path,
    bytes: data.length,
    ...(padded ? {
      note:
        `${width * scale}×${height * scale} was padded to ${info.width}×${info.height} ` +
        "(H.264 yuv420p needs an even width and height; the extra edge row/column repeats the last one)",
    } : {}),
  };
}

export interface GridRow {
  /** Text above the row (e.g. "teacache NFE 21 PSNR 31.2"). */
  readonly label: string;
  readonly video: VideoTensor;
}

export interface WriteGridOptions {
  readonly title?: string;
  /** Frames to show as columns (default: all). */
  readonly columns?: readonly number[];
  readonly scale?: number;
  readonly signal?: AbortSignal;
}

/** A PNG grid (one labelled row per video, frames as columns, a title), made by Pillow in the worker. */
export async function writeGrid(host: EncoderHost, path: string, rows: readonly GridRow[], options: WriteGridOptions = {}): Promise<WrittenVideo> {
  if (rows.length === 0) throw new RangeError("writeGrid: at least one row is needed.");
  const shapes = rows.map((r) => videoShape(r.video));
  const { frames, height, width } = shapes[0]!;
  if (shapes.some(
    (s) => s.frames !== frames || s.height !== height || s.width !== width,
  )) throw new RangeError("writeGrid: every row's video must have the same shape.");
  const n = frames * height * width * 3;
  const data = new Uint8Array(rows.length * n);
  rows.forEach((r, i) => data.set(r.video.data, i * n));
  const { data: png, ...info } = await clientOf(host).request(
    {
      op: "encodeVideo",
      video: { dtype: "uint8", shape: [rows.length, frames, height, width, 3], data },
      format: "grid",
      scale: options.scale ?? defaultScale(height, width),
      labels: rows.map((r) => r.label),
      ...(options.title !== undefined ? { title: options.title } : {}),
      ...(options.columns ? { columns: options.columns } : {}),
    },
    options.signal ? { signal: options.signal } : {},
  );
  write(path, png);
  return { ...info, path, bytes: png.length };
}
