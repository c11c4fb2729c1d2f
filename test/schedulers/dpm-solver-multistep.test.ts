/** The golden cases of dpm-solver-multistep.json (scripts/gen-scheduler-goldens.py) against the TS scheduler. */
import { goldenTests } from "./golden-tests.js";

goldenTests("dpm-solver-multistep", "DPMSolverMultistep");
