/** The golden cases of cogvideox.json (scripts/gen-scheduler-goldens.py) against the TS scheduler. */
import { goldenTests } from "./golden-tests.js";

goldenTests("cogvideox");
