/**
 * Media files read into frames by the worker (op `read_media`: Pillow, imageio-ffmpeg): an image, an
 * animated GIF / WebP, a video file or a folder of image frames as a uint8 video [F, H, W, 3] of the
 * asked size, and an image as a conditioning image [H, W, 3]. Calibration's clean samples and the
 * image-to-video conditioning images come from here.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { InvalidInputError } from "../errors.js";
import type { LatentSize } from "../sampling/model.js";
import type { WorkerLike } from "../worker/client.js";
import type { Tensor } from "../worker/tensors.js";

/** Image files a folder of frames may hold (read by Pillow in the worker). */
const FRAME_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"]);
/** Files read as one clip each: videos (imageio-ffmpeg in the worker) and animated or still images. */
const MEDIA_EXTENSIONS = new Set([...FRAME_EXTENSIONS, ".gif", ".mp4", ".mov", ".mkv", ".webm", ".avi"]);

function listFrames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => FRAME_EXTENSIONS.has(extname(f).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
    .map((f) => join(dir, f));
}

/** What reads media files into frames: a worker client, or a model (its current client). */
export type MediaReader = WorkerLike | { readonly client: WorkerLike };

/**
 * Load one media item as a uint8 video [F, H, W, 3] of the given size: an image (repeated over the
 * frames), an animated GIF / WebP, a video file (.mp4, .mov, .mkv, .webm, .avi), or a folder of image
 * frames (natural name order). The worker decodes them (Pillow, imageio-ffmpeg), centre-crops to the
 * aspect, area-resamples to the size and nearest-frame samples to F frames.
 */
export async function loadMediaVideo(reader: MediaReader, path: string, size: LatentSize, signal?: AbortSignal): Promise<Tensor<Uint8Array>> {
  let files: string[];
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new InvalidInputError(`The calibration media "${path}" does not exist; pass images, videos or folders of image frames.`);
  }
  if (isDir) {
    files = listFrames(path);
    if (files.length === 0) throw new InvalidInputError(
      `The folder "${path}" holds no image frames (.png, .jpg, …); pass images, videos or folders of image frames.`,
    );
  } else {
    if (!MEDIA_EXTENSIONS.has(extname(path).toLowerCase())) {
      throw new InvalidInputError(
        `The calibration media "${basename(path)}" is neither an image nor a video sencache reads (${[...MEDIA_EXTENSIONS].join(", ")}); convert it to ` +
          `PNG or MP4.`,
      );
    }
    files = [path];
  }
  const client = "client" in reader ? reader.client : reader;
  const { video } = await client.request(
    {
      op: "readMedia",
      files: files.map((f) => readFileSync(f)),
      names: files.map((f) => basename(f)),
      height: size.height,
      width: size.width,
      numFrames: size.numFrames,
    },
    signal ? { signal } : {},
  );
  return video;
}

/** An image file (PNG, JPEG, …; a video's first frame) as a conditioning image [H, W, 3] uint8 of the given size, read by the worker. */
export async function loadImage(reader: MediaReader, path: string, size: Pick<LatentSize, "height" | "width">, signal?: AbortSignal):
  Promise<Tensor<Uint8Array>> {
  return firstFrame(await loadMediaVideo(reader, path, { height: size.height, width: size.width, numFrames: 1 }, signal));
}

/** Frame 0 of a video [F, H, W, 3] as an image [H, W, 3]. */
export function firstFrame(video: Tensor<Uint8Array>): Tensor<Uint8Array> {
  const [, h = 0, w = 0, c = 3] = video.shape;
  return { dtype: "uint8", shape: [h, w, c], data: video.data.slice(0, h * w * c) };
}
