/** `sencache profile show|plot|compare` through the CLI entry (tsx): no model, no worker. */
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { profileToJson } from "../../ts/sensitivity/profile-files.js";
import { makeProfile } from "../../ts/sensitivity/profile-validate.js";
import { PACKAGE_ROOT } from "../../ts/worker/supervisor.js";
import { imageInfo } from "../media/helpers.js";

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ["--import", "tsx", "ts/cli/main.ts", ...args], { cwd: PACKAGE_ROOT, maxBuffer: 16 << 20 });
const BUNDLED = join(PACKAGE_ROOT, "models", "tiny-wan-t2v", "sensitivity.json");

test("profile show: what the bundled profile is valid for, and its J_x / J_t table", async (t) => {
  const { stdout } = await cli(["profile", "show", BUNDLED]);
  t.regex(stdout, /model: +local:tiny-wan-t2v@\w+ \(family wan\)/);
  t.regex(stdout, /scheduler: +UniPCMultistepScheduler, config hash \w+/);
  t.regex(stdout, /steps: +50 \(timesteps 999 … 60\)/);
  t.regex(stdout, /shape: +latent \[1, 8, 5, 8, 8\]/);
  t.regex(stdout, /samples: +8/);
  t.regex(stdout, /J_x \(mean ± std\)/);
  t.is(stdout.split("\n").filter((l) => /^ *\d+ +\d+ +[\d.]+ ± /.test(l)).length, 50);
});

test("profile plot and compare write PNG + SVG; compare prints the relative differences against the last file", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sencache-profile-"));
  const ts = [999, 750, 500, 250];
  const a = join(dir, "a.json");
  const b = join(dir, "b.json");
  writeFileSync(
    a,
    profileToJson(
      makeProfile(
        {
          timesteps: ts,
          J_x_norm: [2, 1, 2, 4],
          J_t_norm: [0.3, 0.1, 0.1, 0.2],
          J_x_samples: [[1, 1, 2, 4], [3, 1, 2, 4]],
          J_t_samples: [[0.2, 0.1, 0.1, 0.2], [0.4, 0.1, 0.1, 0.2]],
          validFor: {},
        },
      ),
    ),
  );
  writeFileSync(b, profileToJson(makeProfile({ timesteps: ts, J_x_norm: [2, 1, 2, 5], J_t_norm: [0.3, 0.1, 0.1, 0.2], validFor: {} })));
  const plot = await cli(["profile", "plot", a, "--out", join(dir, "a")]);
  t.regex(plot.stdout, /wrote .*a\.png, .*a\.svg/);
  t.like(imageInfo(join(dir, "a.png")), { format: "PNG" });
  const cmp = await cli(["profile", "compare", a, b, "--out", join(dir, "cmp")]);
  t.regex(cmp.stdout, /a \(2 samples\) against b:/);
  t.regex(cmp.stdout, /max relative difference: J_x 20\.00%, J_t 0\.00%/);
  t.like(imageInfo(join(dir, "cmp.png")), { format: "PNG" });
  const one = await t.throwsAsync(cli(["profile", "compare", a]));
  t.regex((one as { stderr?: string }).stderr ?? "", /at least two files/);
});
