export { crc32, decodePng, encodePng, type DecodedPng } from "./png.js";
export { buildPalette, encodeGif, lzwEncode, type GifOptions, type Palette } from "./gif.js";
export { composeGrid, type GridImage, type GridOptions, type GridRow, type Point } from "./grid.js";
export { drawText, glyphBitmap, hasGlyph, textHeight, textWidth, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH } from "./font.js";
export { blit, createImage, fillRect, getPixel, setPixel, upscaleNearest, type Rgb, type RgbImage } from "./image.js";
export {
  frameToPng,
  stripToPng,
  videoFrame,
  videoShape,
  videoToGif,
  writeFramePng,
  writeGif,
  writeImagePng,
  writeStripPng,
  type StripOptions,
  type VideoShape,
  type VideoTensor,
} from "./video.js";
