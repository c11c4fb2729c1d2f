import test from "ava";
import { readFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import { crc32, decodePng, encodePng } from "../../ts/media/png.js";
import { pseudoRandomBytes, ROOT } from "./helpers.js";

const fixture = (name: string): Buffer => readFileSync(`${ROOT}test/fixtures/media/${name}`);

// The pattern scripts/gen-media-fixtures.py writes.
function pattern(w: number, h: number): { rgb: number[]; alpha: number[] } {
  const rgb: number[] = [];
  const alpha: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      rgb.push((37 * x + 11 * y) % 256, (5 * x + 71 * y + 3) % 256, (13 * x * y + 7) % 256);
      alpha.push((29 * x + 17 * y + 40) % 256);
    }
  }
  return { rgb, alpha };
}

test("crc32 matches the standard check value", (t) => {
  t.is(crc32(Buffer.from("123456789")), 0xcbf43926);
  t.is(crc32(Buffer.from("IEND")), 0xae426082);
});

test("encode → decode is the identity on pseudo-random, gradient and 1x1 images", (t) => {
  const cases: [number, number, Uint8Array][] = [
    [1, 1, Uint8Array.of(1, 2, 3)],
    [13, 7, pseudoRandomBytes(13 * 7 * 3, 7)],
    [32, 32, Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7 + (i >> 5)) & 0xff)],
  ];
  for (const [w, h, rgb] of cases) {
    const png = encodePng(rgb, w, h);
    t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const d = decodePng(png);
    t.is(d.width, w);
    t.is(d.height, h);
    t.is(d.alpha, null);
    t.deepEqual(d.rgb, rgb);
  }
});

test("encodePng rejects a buffer of the wrong size", (t) => {
  t.throws(() => encodePng(new Uint8Array(10), 2, 2), { instanceOf: RangeError });
});

test("decodes Pillow-written RGB, RGBA, greyscale and (4-bit) palette PNGs exactly", (t) => {
  const rgb = decodePng(fixture("pillow-rgb.png"));
  t.is(rgb.width, 7);
  t.is(rgb.height, 5);
  t.deepEqual([...rgb.rgb], pattern(7, 5).rgb);

  const rgba = decodePng(fixture("pillow-rgba.png"));
  t.is(rgba.width, 6);
  t.deepEqual([...rgba.rgb], pattern(6, 4).rgb);
  t.deepEqual([...rgba.alpha!], pattern(6, 4).alpha);

  const grey = decodePng(fixture("pillow-gray.png"));
  const r = pattern(5, 3).rgb.filter((_, i) => i % 3 === 0);
  t.deepEqual([...grey.rgb], r.flatMap((v) => [v, v, v]));

  const colours = [[255, 0, 0], [0, 128, 255], [10, 20, 30], [250, 250, 5], [0, 0, 0], [200, 100, 50]];
  const pal = decodePng(fixture("pillow-palette.png"));
  const expected: number[] = [];
  for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) expected.push(...colours[(x + 2 * y) % 6]!);
  t.deepEqual([...pal.rgb], expected);
});

test("decodePng reports corruption, truncation and interlacing", (t) => {
  const png = encodePng(pseudoRandomBytes(4 * 4 * 3, 3), 4, 4);
  const bad = Buffer.from(png);
  bad[40] = bad[40]! ^ 0xff; // inside IDAT
  t.throws(() => decodePng(bad), { message: /CRC mismatch/ });
  t.throws(() => decodePng(png.subarray(0, png.length - 12)), { message: /IEND/ });
  t.throws(() => decodePng(Buffer.from("not a png at all")), { message: /signature/ });
  // Hand-built interlaced header.
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr.set([8, 2, 0, 0, 1], 8);
  const chunk = (type: string, data: Buffer): Buffer => {
    const b = Buffer.alloc(12 + data.length);
    b.writeUInt32BE(data.length, 0);
    b.write(type, 4, "latin1");
    data.copy(b, 8);
    b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)), 8 + data.length);
    return b;
  };
  const interlaced = Buffer.concat([png.subarray(0, 8), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.from([0, 1, 2, 3]))), chunk("IEND", Buffer.alloc(0))]);
  t.throws(() => decodePng(interlaced), { message: /interlaced/ });
});
