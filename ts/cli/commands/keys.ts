/** `sencache keys new`: a CURVE key pair for a worker on the network, or for a client of a worker with --curve-allow (see docs/serving.md). */
import { basename } from "node:path";
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
      .positional("action", { type: "string", choices: ["new"], describe: "new: write <name>.secret and <name>.public (a worker's or a client's pair)" })
      .option("out", { type: "string", default: ".", describe: "folder to write the key files into" })
      .option("name", { type: "string", default: "worker", describe: "file name stem of the pair" })
      .option("force", { type: "boolean", default: false, describe: "replace existing key files" }) as never,
  handler: (args) => {
    const { secretFile, publicFile, publicKey } = writeKeyPair(args.out, args.name, args.force);
    console.log(`secret key: ${secretFile} (mode 0600; stays where it is used)`);
    console.log(`public key: ${publicFile}`);
    console.log(`  as a worker's key:  sencache worker --curve-secret ${secretFile}; clients connect with --curve-server-key ${publicFile}`);
    console.log(`  as a client's key:  the worker's operator adds --curve-allow ${basename(publicFile)}; connect with --curve-client-key ${secretFile}`);
    console.log(`public key value: ${publicKey}`);
  },
};
