import test from "ava";
import { readFileSync } from "node:fs";
import { deflateRawSync } from "node:zlib";
import { ProfileError, parseNpy, parseNpz, profileFromNpz } from "../../ts/sensitivity/index.js";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)));
const expected = JSON.parse(
  readFileSync(new URL("../fixtures/sensitivity-sample.json", import.meta.url), "utf8"),
) as Record<string, { dtype: string; shape: number[]; values: number[] }>;

for (const file of ["sensitivity-sample.npz", "sensitivity-sample-compressed.npz"]) {
  test(`${file}: every array matches what numpy wrote (dtype, shape, C-order values)`, (t) => {
    const arrays = parseNpz(fixture(file), file);
    t.deepEqual([...arrays.keys()].sort(), Object.keys(expected).sort());
    for (const [name, e] of Object.entries(expected)) {
      const a = arrays.get(name)!;
      t.deepEqual(a.shape, e.shape, name);
      t.is(a.dtype as string, e.dtype.slice(1), name);
      t.deepEqual(Array.from(a.data), e.values, name);
    }
  });
}

test("an official-style sensitivity .npz imports as a profile", (t) => {
  const p = profileFromNpz(
    fixture("sensitivity-sample-compressed.npz"),
    { model: { family: "wan", source: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" } },
    "sensitivity-sample.npz",
  );
  t.is(p.timesteps.length, 50);
  t.is(p.timesteps[0], 999);
  t.is(p.timesteps[49], 92);
  t.deepEqual(p.J_x_norm, expected.J_x_norm!.values);
  t.is(p.origin, "npz:sensitivity-sample.npz");
});

test(".npy format version 2 headers are read", (t) => {
  t.deepEqual(Array.from(parseNpy(fixture("j_x_v2.npy")).data), expected.J_x_norm!.values);
});

test("damaged or foreign files are typed errors", (t) => {
  const code = (f: () => unknown) => {
    const e = t.throws(f);
    t.true(ProfileError.isInstance(e));
    return (e as ProfileError).code;
  };
  t.is(code(() => parseNpz(new TextEncoder().encode("not a zip at all, not at all"))), "invalid_npz");
  t.is(code(() => parseNpy(new Uint8Array(20))), "invalid_npz");
  const bytes = fixture("sensitivity-sample.npz");
  t.is(code(() => parseNpz(bytes.subarray(0, bytes.length - 30))), "invalid_npz");
  // an npz without J_t_norm
  t.is(code(() => profileFromNpz(makeZip({ "timesteps.npy": npy([1, 2]), "J_x_norm.npy": npy([1, 2]) }))), "invalid_profile");
});

test("a hand-built zip with a deflated entry and a data-descriptor-free layout is read", (t) => {
  const arrays = parseNpz(makeZip({ "a.npy": npy([1.5, -2]) }, true));
  t.deepEqual(Array.from(arrays.get("a")!.data), [1.5, -2]);
});

function npy(values: number[]): Uint8Array {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += " ";
  header += "\n";
  const out = new Uint8Array(10 + header.length + 8 * values.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  values.forEach((v, i) => new DataView(out.buffer).setFloat64(10 + header.length + 8 * i, v, true));
  return out;
}

function makeZip(files: Record<string, Uint8Array>, deflate = false): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = deflate ? new Uint8Array(deflateRawSync(content)) : content;
    const nameBytes = new TextEncoder().encode(name);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, deflate ? 8 : 0, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, content.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const cd = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, deflate ? 8 : 0, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, content.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    cd.set(nameBytes, 46);
    chunks.push(local, data);
    central.push(cd);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, central.length, true);
  ev.setUint16(10, central.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...chunks, ...central, eocd];
  const out = new Uint8Array(all.reduce((a, c) => a + c.length, 0));
  let p = 0;
  for (const c of all) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}
