/** Model identity: the same pipeline in two folders is one model; retrained weights are another. */
import test from "ava";
import { cpSync, mkdtempSync, openSync, closeSync, readSync, writeSync, statSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modelIdentity } from "../../ts/sensitivity/identity.js";
import { tinyModelDir } from "../helpers/tiny.js";

test("a copy elsewhere keeps the identity; a changed weight byte changes it; ids pass through", (t) => {
  const src = tinyModelDir();
  const root = mkdtempSync(join(tmpdir(), "sencache-identity-"));
  const a = join(root, "a", "tiny");
  const b = join(root, "b", "tiny");
  cpSync(src, a, { recursive: true });
  cpSync(src, b, { recursive: true });
  const id = modelIdentity(a);
  t.regex(id, /^local:tiny@[0-9a-f]{12}$/);
  t.is(modelIdentity(b), id);
  // flip one byte near the end of the transformer's weights (same size, same configs)
  const file = join(b, "transformer", readdirSync(join(b, "transformer")).find((f) => f.endsWith(".safetensors"))!);
  const fd = openSync(file, "r+");
  const pos = statSync(file).size - 3;
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, pos);
  byte[0] = byte[0]! ^ 0xff;
  writeSync(fd, byte, 0, 1, pos);
  closeSync(fd);
  t.not(modelIdentity(b), id);
  t.is(modelIdentity("Wan-AI/Wan2.1-T2V-1.3B-Diffusers"), "Wan-AI/Wan2.1-T2V-1.3B-Diffusers");
});
