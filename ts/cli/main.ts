#!/usr/bin/env node
/** The `sencache` command line: yargs command modules, one per file in ./commands. */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { SencacheError } from "../errors.js";
import { demoCommand } from "./commands/demo.js";
import { doctorCommand } from "./commands/doctor.js";
import { benchCommand } from "./commands/bench.js";
import { calibrateCommand } from "./commands/calibrate.js";
import { generateCommand } from "./commands/generate.js";
import { policiesCommand } from "./commands/policies.js";
import { profileCommand } from "./commands/profile.js";
import { workerCommand } from "./commands/worker.js";
import { keysCommand } from "./commands/keys.js";

export async function main(argv: string[]): Promise<void> {
  await yargs(hideBin(argv))
    .scriptName("sencache")
    .command(demoCommand)
    .command(doctorCommand)
    .command(benchCommand)
    .command(calibrateCommand)
    .command(generateCommand)
    .command(policiesCommand)
    .command(profileCommand)
    .command(workerCommand)
    .command(keysCommand)
    .demandCommand(1, "Name a command; see --help.")
    .strict()
    .fail((message, error, y) => {
      if (error) throw error;
      y.showHelp();
      console.error(`\n${message}`);
      process.exit(2);
    })
    .help()
    .parseAsync();
}

main(process.argv).catch((error: unknown) => {
  if (SencacheError.isInstance(error)) {
    console.error(`sencache: ${error.message} [${error.code}]`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
