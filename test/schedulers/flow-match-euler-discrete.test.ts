/** The golden cases of flow-match-euler-discrete.json (scripts/gen-scheduler-goldens.py) against the TS scheduler. */
import { goldenTests } from "./golden-tests.js";

goldenTests("flow-match-euler-discrete", "FlowMatchEuler");
