/**
 * `sencache calibrate` and budget mode through the built CLI (`node dist/cli/main.js`) on each family's tiny
 * pipeline (py/sencache_fixtures/families.py): CogVideoX, LTX-Video, Wan 2.2 TI2V and the two-expert Wan 2.2
 * A14B, then `generate --policy sencache:profile=FILE,nfe=K` hits K exactly on each; an image-to-video model
 * (LTX I2V) calibrates with --image and refuses without it. The CLI calls share one worker (--connect) so
 * the file pays Python's start-up once; few steps, one sample. Needs the build (`npm test` builds first).
 */
import test from "ava";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadProfile } from "../../ts/sensitivity/index.js";
import { PACKAGE_ROOT, WorkerProcess } from "../../ts/worker/supervisor.js";
import { familyModels } from "../helpers/families.js";
import { runPython } from "../helpers/tiny.js";

const exec = promisify(execFile);
const CLI = join(PACKAGE_ROOT, "dist", "cli", "main.js");
const T = 6;
const T2V = ["cogvideox-2b", "ltx", "wan2.2-ti2v", "wan2.2-a14b"] as const;
const I2V = "ltx-i2v";

let tmp: string;
let worker: WorkerProcess;
let dirs: Record<string, string>;
let connect: string[];

async function sencache(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, [CLI, ...args, ...connect], { cwd: PACKAGE_ROOT, env: { ...process.env, HF_HUB_OFFLINE: "1" }, maxBuffer: 16 << 20 });
}

interface Summary {
  readonly nfe: number;
  readonly totalSteps: number;
  readonly policy: string;
  readonly experts?: { name: string; nfe: number }[];
  readonly reusedSteps: number[];
}

test.before(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; build first (npx tsc -p tsconfig.json).`);
  dirs = familyModels([...T2V, I2V]);
  tmp = mkdtempSync(join(tmpdir(), "sencache-families-cli-"));
  const endpoint = `ipc://${join(tmp, "worker.sock")}`;
  worker = await WorkerProcess.start({ device: "cpu", threads: 1, endpoint });
  connect = ["--connect", endpoint];
});

test.after.always(async () => {
  await worker?.shutdown();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

for (const name of T2V) {
  test.serial(`${name}: sencache calibrate writes a profile; generate with sencache:nfe=K hits K exactly`, async (t) => {
    const out = join(tmp, `${name}.json`);
    const cal = await sencache(["calibrate", "--model", dirs[name]!, "--samples", "1", "--steps", String(T), "--propagation-samples", "0", "--out", out]);
    t.regex(cal.stdout, new RegExp(`1 samples \\(generations\\) × ${T} timesteps`));
    const profile = await loadProfile(out);
    t.is(profile.timesteps.length, T);
    if (name === "wan2.2-a14b") t.deepEqual(profile.experts?.map((e) => e.name), ["transformer", "transformer_2"]);
    const hits: string[] = [];
    for (const nfe of name === "wan2.2-a14b" ? [3, 4, 5] : [3, 4]) {
      const policy = `sencache:profile=${out},nfe=${nfe}`;
      const gif = join(tmp, `${name}-${nfe}.gif`);
      const gen = await sencache(["generate", "--model", dirs[name]!, "--prompt", "a red", "--steps", String(T), "--policy", policy, "--out", gif, "--json"]);
      const s = JSON.parse(gen.stdout) as Summary;
      t.is(s.policy, "sencache-budget");
      t.is(s.nfe, nfe, `${name} nfe=${nfe}: reused ${s.reusedSteps.join(",")}`);
      hits.push(`nfe=${nfe} → NFE ${s.nfe}${s.experts && s.experts.length > 1 ? ` (${s.experts.map((e) => `${e.name} ${e.nfe}`).join(" + ")})` : ""}`);
    }
    t.log(`${name}, ${T} steps: ${hits.join(", ")}`);
  });
}

test.serial(`${I2V}: calibrate refuses without --image in one sentence, calibrates with it, and budget mode hits its NFE`, async (t) => {
  const out = join(tmp, `${I2V}.json`);
  const refused = await t.throwsAsync(sencache(["calibrate", "--model", dirs[I2V]!, "--samples", "1", "--steps", String(T), "--out", out]));
  const stderr = (refused as unknown as { stderr: string }).stderr.trim();
  t.regex(stderr, /^sencache: LTXImageToVideoPipeline is an image-to-video model, so calibration needs conditioning images: pass --image FILE/);
  t.is(stderr.split("\n").length, 1);
  const image = join(tmp, "image.png");
  const ramp = "np.stack([x * 8, y * 8, (x * 37 + y * 11) % 256], -1).astype(np.uint8)";
  runPython(["-c", `import numpy as np; from PIL import Image; y, x = np.mgrid[0:32, 0:32]; Image.fromarray(${ramp}).save(${JSON.stringify(image)})`]);
  const one = ["--samples", "1", "--steps", String(T)];
  const cal = await sencache(["calibrate", "--model", dirs[I2V]!, ...one, "--propagation-samples", "1", "--image", image, "--out", out]);
  t.regex(cal.stdout, /propagation: \d+ probes × 1 runs/);
  const profile = await loadProfile(out);
  t.is(profile.timesteps.length, T);
  // LTX I2V holds latent frame 0 at the image (its tokens get t = 0): calibration keeps it clean, as sampling does.
  t.regex(profile.origin ?? "", /conditioned on 1 image\(s\) \(latent frame 0 held at the image\)/);
  t.true(profile.J_x_norm.every((v) => Number.isFinite(v) && v > 0));
  const policy = `sencache:profile=${out},nfe=4`;
  const gif = join(tmp, "i2v.gif");
  const args = ["--prompt", "a red square", "--image", image, "--steps", String(T), "--policy", policy, "--out", gif, "--json"];
  const gen = await sencache(["generate", "--model", dirs[I2V]!, ...args]);
  const s = JSON.parse(gen.stdout) as Summary;
  t.is(s.nfe, 4);
  // A text-to-video model refuses a conditioning image.
  const t2v = await t.throwsAsync(sencache(["calibrate", "--model", dirs["ltx"]!, ...one, "--image", image, "--out", join(tmp, "x.json")]));
  t.regex((t2v as unknown as { stderr: string }).stderr, /LTXPipeline is a text-to-video model; calibration takes no conditioning image/);
});
