/** The golden cases of unipc-multistep.json (scripts/gen-scheduler-goldens.py) against the TS scheduler. */
import { goldenTests } from "./golden-tests.js";

goldenTests("unipc-multistep", "UniPC");
