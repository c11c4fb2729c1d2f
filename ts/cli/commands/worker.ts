/** `sencache worker`: run a worker in the foreground on an endpoint (for remote or shared use). */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { PACKAGE_ROOT, defaultPython } from "../../worker/supervisor.js";

interface WorkerArgs {
  endpoint: string;
  device: string;
  threads?: number;
  curveSecret?: string;
  curveAllow?: string | string[];
  insecure: boolean;
  maxMessageBytes?: number;
}

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: "worker",
  describe: "Start a Python worker that serves denoiser evaluations on a ZeroMQ endpoint",
  builder: (y) =>
    y
      .option("endpoint", { type: "string", default: "tcp://127.0.0.1:5555", describe: "ZeroMQ endpoint to bind (tcp://host:port or ipc:///path)" })
      .option("device", { type: "string", default: "auto", choices: ["auto", "cpu", "cuda"], describe: "torch device" })
      .option("threads", { type: "number", describe: "torch CPU threads" })
      .option(
        "curve-secret",
        {
          type: "string",
          describe: "CURVE secret key file (sencache keys new): clients need its .public file; required for an endpoint other machines can reach",
        },
      )
      .option(
        "curve-allow",
        {
          type: "string",
          describe: "serve only the clients whose CURVE public key is listed: a client's .public file (sencache keys new --name client) or a " +
            "folder of *.public files; repeatable; needs --curve-secret",
        },
      )
      .option(
        "insecure",
        { type: "boolean", default: false, describe: "serve a non-loopback tcp:// endpoint without CURVE (anyone who reaches it can use and stop it)" },
      )
      .option(
        "max-message-bytes",
        { type: "number", describe: "largest message accepted, in tensor bytes (default 1 GiB); larger frames are dropped by ZeroMQ before they are buffered" },
      ) as never,
  handler: async (args) => {
    const argv = ["-m", "sencache_worker", "--endpoint", args.endpoint, "--device", args.device];
    if (args.threads !== undefined) argv.push("--threads", String(args.threads));
    if (args.curveSecret !== undefined) argv.push("--curve-secret", args.curveSecret);
    for (const path of ([] as string[]).concat(args.curveAllow ?? [])) argv.push("--curve-allow", path);
    if (args.insecure) argv.push("--insecure");
    if (args.maxMessageBytes !== undefined) argv.push("--max-message-bytes", String(args.maxMessageBytes));
    const child = spawn(defaultPython(), argv, {
      cwd: join(PACKAGE_ROOT, "py"),
      env: { ...process.env, PYTHONPATH: join(PACKAGE_ROOT, "py"), HF_HUB_OFFLINE: "1", OMP_WAIT_POLICY: "PASSIVE" },
      stdio: "inherit",
    });
    const stop = (): void => {
      child.kill("SIGTERM");
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const code = await new Promise<number | null>((res) => child.once("exit", res));
    process.exitCode = code ?? 1;
  },
};
