/** One ava test per golden case of a scheduler: timesteps, sigmas, trajectory and final latent within TOLERANCE of diffusers. */
import test from "ava";
import { loadGolden, numelOf, runCase, TOLERANCE } from "./golden.js";

/** `label` names the scheduler in the test titles (default: the case's diffusers class). */
export function goldenTests(name: string, label?: string): void {
  const golden = loadGolden(name);
  const numel = numelOf(golden);
  for (const c of golden.cases) {
    const reused = c.reuse.length > 0 ? `, outputs reused at steps ${c.reuse.join(",")}` : "";
    const title = `${label ?? c.class_name} matches diffusers ${golden.diffusers_version}: ${c.name}, ${c.num_inference_steps} steps${reused}`;
    test(title, (t) => {
      const e = runCase(c, numel);
      t.true(e.timesteps <= TOLERANCE, `timesteps rel err ${e.timesteps}`);
      t.true(e.sigmas <= TOLERANCE, `sigmas rel err ${e.sigmas}`);
      t.true(e.trajectory <= TOLERANCE, `trajectory rel err ${e.trajectory}`);
      t.true(e.final <= TOLERANCE, `final rel err ${e.final}`);
    });
  }
}
