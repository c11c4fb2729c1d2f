/**
 * Prints docs/schedulers.md: the max relative error of every golden case against diffusers.
 * Run: npx tsx test/schedulers/report.ts > docs/schedulers.md
 */
import { loadGolden, numelOf, runCase } from "./golden.js";

const files = ["flow-match-euler-discrete", "unipc-multistep", "dpm-solver-multistep", "cogvideox"];
const lines: string[] = [];
let version = "";
for (const file of files) {
  const g = loadGolden(file);
  version = g.diffusers_version;
  const rows = new Map<string, { cls: string; name: string; steps: number[]; err: number }>();
  for (const c of g.cases) {
    const e = runCase(c, numelOf(g));
    const key = `${c.class_name}|${c.name}`;
    const row = rows.get(key) ?? { cls: c.class_name, name: c.name, steps: [], err: 0 };
    row.steps.push(c.num_inference_steps);
    row.err = Math.max(row.err, e.max);
    rows.set(key, row);
  }
  for (const r of rows.values()) lines.push(`| ${r.cls} | ${r.name} | ${r.steps.join(", ")} | ${r.err.toExponential(1)} |`);
}
console.log(`# Schedulers: TypeScript vs diffusers

Each TS scheduler in \`ts/schedulers/\` is checked against real diffusers ${version}: the golden
vectors in \`test/goldens/schedulers/\` are written by \`scripts/gen-scheduler-goldens.py\` (run it with
\`.venv/bin/python scripts/gen-scheduler-goldens.py\`, \`--check\` to verify), which drives diffusers
with a deterministic fake model on a 2x3x4x5 float32 latent; stochastic schedulers get the same
noise arrays on both sides. The error is the max over timesteps, sigmas, the tracked latent entries
and per-step sum|x| of every step, and the final latent, of the relative error
max|ts - diffusers| / max(max|diffusers|, 1e-6). The tests (\`npx ava test/schedulers/\`) require
<= 1e-5. Values below ~5e-9 are the 9-digit float32 rounding of the golden files (bit-identical).

Regenerate this table: \`npx tsx test/schedulers/report.ts > docs/schedulers.md\`.

| scheduler | options | steps | max rel. error |
| --- | --- | --- | --- |
${lines.join("\n")}`);
