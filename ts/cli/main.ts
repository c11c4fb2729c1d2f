#!/usr/bin/env node
/** The `sencache` command line: yargs command modules, one per file in ./commands. */
import yargs, { type CommandModule } from "yargs";
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

/**
 * SENCACHE_CHECK_ARGS=1: parse and validate the arguments (the command, its options and their
 * checks), then print one line instead of running the command. test/docs checks the commands of the
 * README and docs/ this way where running them for real would take minutes.
 */
function checkOnly<T>(command: CommandModule<object, T>): CommandModule<object, T> {
  if (process.env["SENCACHE_CHECK_ARGS"] !== "1") return command;
  return { ...command, handler: () => console.log("sencache: arguments ok (SENCACHE_CHECK_ARGS=1, nothing was run)") };
}

export async function main(argv: string[]): Promise<void> {
  await yargs(hideBin(argv))
    .scriptName("sencache")
    .command(checkOnly(demoCommand))
    .command(checkOnly(doctorCommand))
    .command(checkOnly(benchCommand))
    .command(checkOnly(calibrateCommand))
    .command(checkOnly(generateCommand))
    .command(checkOnly(policiesCommand))
    .command(checkOnly(profileCommand))
    .command(checkOnly(workerCommand))
    .command(checkOnly(keysCommand))
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
