import test from "ava";
import { loadGolden, numelOf, runCase, TOLERANCE } from "./golden.js";

const golden = loadGolden("cogvideox");
const numel = numelOf(golden);

for (const c of golden.cases) {
  const reused = c.reuse.length > 0 ? `, outputs reused at steps ${c.reuse.join(",")}` : "";
  test(`${c.class_name} matches diffusers ${golden.diffusers_version}: ${c.name}, ${c.num_inference_steps} steps${reused}`, (t) => {
    const e = runCase(c, numel);
    t.true(e.timesteps <= TOLERANCE, `timesteps rel err ${e.timesteps}`);
    t.true(e.sigmas <= TOLERANCE, `sigmas rel err ${e.sigmas}`);
    t.true(e.trajectory <= TOLERANCE, `trajectory rel err ${e.trajectory}`);
    t.true(e.final <= TOLERANCE, `final rel err ${e.final}`);
  });
}
