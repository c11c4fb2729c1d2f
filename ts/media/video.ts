/**
 * Video tensors as the worker returns them (`{ shape: [F, H, W, 3], data }`, uint8 RGB) and
 * helpers that write them as `.gif` (animation), `.png` (first frame) or a `.png` frame strip.
 * The `write*` helpers are synchronous and create the parent directory.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { encodeGif, type GifOptions } from "./gif.js";
import { composeGrid } from "./grid.js";
import { encodePng } from "./png.js";

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
  if (![frames, height, width].every((v) => Number.isInteger(v) && v > 0)) throw new RangeError(`A video tensor needs positive dimensions; got [${video.shape.join(", ")}].`);
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

export function videoToGif(video: VideoTensor, options: GifOptions = {}): Buffer {
  const { frames, height, width } = videoShape(video);
  return encodeGif(video.data, frames, height, width, options);
}

/** The first frame (or frame `index`) as a PNG, upscaled by `scale`. */
export function frameToPng(video: VideoTensor, index = 0, scale = 1): Buffer {
  const { height, width } = videoShape(video);
  const strip = composeGrid([{ frames: videoFrame(video, index) }], { numFrames: 1, height, width, scale, gap: 0, padding: 0 });
  return encodePng(strip.data, strip.width, strip.height);
}

export interface StripOptions {
  readonly frameIndices?: readonly number[];
  readonly scale?: number;
  readonly gap?: number;
  readonly label?: string;
}

/** All (or selected) frames side by side in one PNG. */
export function stripToPng(video: VideoTensor, options: StripOptions = {}): Buffer {
  const { frames, height, width } = videoShape(video);
  const grid = composeGrid([{ frames: video.data, ...(options.label !== undefined ? { label: options.label } : {}) }], {
    numFrames: frames,
    height,
    width,
    scale: options.scale ?? 1,
    gap: options.gap ?? 1,
    padding: 0,
    ...(options.frameIndices ? { frameIndices: options.frameIndices } : {}),
  });
  return encodePng(grid.data, grid.width, grid.height);
}

// Synchronous on purpose: the files are small and CLI commands write them right before exiting.
function write(path: string, bytes: Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

export function writeGif(path: string, video: VideoTensor, options: GifOptions = {}): void {
  write(path, videoToGif(video, options));
}

export function writeFramePng(path: string, video: VideoTensor, index = 0, scale = 1): void {
  write(path, frameToPng(video, index, scale));
}

export function writeStripPng(path: string, video: VideoTensor, options: StripOptions = {}): void {
  write(path, stripToPng(video, options));
}

/** Write an RGB image (e.g. `composeGrid`'s result) as a PNG file. */
export function writeImagePng(path: string, image: { readonly width: number; readonly height: number; readonly data: Uint8Array }): void {
  write(path, encodePng(image.data, image.width, image.height));
}
