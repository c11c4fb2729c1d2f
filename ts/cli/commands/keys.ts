/** `sencache keys new`: a CURVE key pair for a worker reachable from other machines (see docs/serving.md). */
import type { CommandModule } from "yargs";
import { writeKeyPair } from "../../worker/security.js";

interface KeysArgs {
  action: string;
  out: string;
  name: string;
  force: boolean;
}

export const keysCommand: CommandModule<object, KeysArgs> = {
  command: "keys <action>",
  describe: "Make CURVE keys for an authenticated, encrypted remote worker",
  builder: (y) =>
    y
      .positional("action", { type: "string", choices: ["new"], describe: "new: write <name>.secret (for the worker) and <name>.public (for clients)" })
      .option("out", { type: "string", default: ".", describe: "folder to write the key files into" })
      .option("name", { type: "string", default: "worker", describe: "file name stem of the pair" })
      .option("force", { type: "boolean", default: false, describe: "replace existing key files" }) as never,
  handler: (args) => {
    const { secretFile, publicFile, publicKey } = writeKeyPair(args.out, args.name, args.force);
    console.log(`secret key: ${secretFile} (keep it on the worker's machine: sencache worker --curve-secret ${secretFile})`);
    console.log(`public key: ${publicFile} (give it to clients: --curve-server-key ${publicFile})`);
    console.log(`public key value: ${publicKey}`);
  },
};
