/**
 * A cache policy reuses an output: the loop still calls step() with it, and multistep history must
 * take it exactly as diffusers does when fed the same repeated outputs. The golden cases with
 * `reuse` were produced by driving diffusers with the repeated outputs; here they must match, and
 * must differ from the fresh-output run (so the check is not vacuous).
 */
import test from "ava";
import { loadGolden, numelOf, relativeError, runCase, TOLERANCE, type GoldenCase } from "./golden.js";

for (const file of ["unipc-multistep", "dpm-solver-multistep", "cogvideox"]) {
  const golden = loadGolden(file);
  const numel = numelOf(golden);
  const fresh = (c: GoldenCase) =>
    golden.cases.find(
      (o) =>
        o.reuse.length === 0 && o.class_name === c.class_name && o.num_inference_steps === c.num_inference_steps &&
        JSON.stringify(o.config) === JSON.stringify(c.config),
    );
  for (const c of golden.cases.filter((g) => g.reuse.length > 0)) {
    test(`${c.class_name} history with outputs reused at steps ${c.reuse.join(",")} matches diffusers (${c.name}, ${c.num_inference_steps} steps)`, (t) => {
      const e = runCase(c, numel);
      t.true(e.trajectory <= TOLERANCE && e.final <= TOLERANCE, `rel err trajectory ${e.trajectory}, final ${e.final}`);
      const f = fresh(c);
      if (f !== undefined) t.true(relativeError(c.final, f.final) > 1e-4, "reusing outputs should change the result");
    });
  }
}
