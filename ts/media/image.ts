/**
 * Small RGB raster helpers shared by the media and plotting code. An `RgbImage` is row-major,
 * 3 bytes a pixel.
 */

export type Rgb = readonly [number, number, number];

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function createImage(width: number, height: number, background: Rgb = [255, 255, 255]): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`An image needs positive integer width and height; got ${width}x${height}.`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    data[3 * p] = background[0];
    data[3 * p + 1] = background[1];
    data[3 * p + 2] = background[2];
  }
  return { width, height, data };
}

/** Set one pixel; coordinates outside the image are ignored. */
export function setPixel(img: RgbImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const i = (y * img.width + x) * 3;
  img.data[i] = c[0];
  img.data[i + 1] = c[1];
  img.data[i + 2] = c[2];
}

export function getPixel(img: RgbImage, x: number, y: number): Rgb {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

/** Fill the rectangle [x, x+w) × [y, y+h), clipped to the image. */
export function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb): void {
  const x0 = Math.max(0, Math.floor(x)), y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(img.width, Math.floor(x + w)), y1 = Math.min(img.height, Math.floor(y + h));
  for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) setPixel(img, xx, yy, c);
}

/**
 * Nearest-neighbour integer upscaling of a row-major [h, w, channels] array by `scale` along both
 * spatial axes.
 */
export function upscaleNearest(src: Uint8Array, h: number, w: number, channels: number, scale: number): Uint8Array {
  if (scale === 1) return src;
  const W = w * scale;
  const out = new Uint8Array(h * scale * W * channels);
  for (let y = 0; y < h; y++) {
    const row = new Uint8Array(W * channels);
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * channels;
      for (let k = 0; k < scale; k++) row.set(src.subarray(s, s + channels), (x * scale + k) * channels);
    }
    for (let k = 0; k < scale; k++) out.set(row, (y * scale + k) * W * channels);
  }
  return out;
}

/** Copy an RGB [h, w, 3] block into `img` at (x, y), upscaled by `scale`, clipped to the image. */
export function blit(img: RgbImage, src: Uint8Array, h: number, w: number, x: number, y: number, scale = 1): void {
  for (let sy = 0; sy < h * scale; sy++) {
    const ty = y + sy;
    if (ty < 0 || ty >= img.height) continue;
    for (let sx = 0; sx < w * scale; sx++) {
      const tx = x + sx;
      if (tx < 0 || tx >= img.width) continue;
      const s = (Math.floor(sy / scale) * w + Math.floor(sx / scale)) * 3;
      const t = (ty * img.width + tx) * 3;
      img.data[t] = src[s]!;
      img.data[t + 1] = src[s + 1]!;
      img.data[t + 2] = src[s + 2]!;
    }
  }
}
