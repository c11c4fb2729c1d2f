/**
 * Bridge overhead: round trip of a latent through the real worker (`echo`: header + raw frame each
 * way over ZeroMQ ipc) against an in-process memcpy of the same bytes, measured in one run.
 *
 *   npm run bench:bridge [-- --repeats 30]
 */
import { float32Tensor } from "../worker/tensors.js";
import { WorkerProcess } from "../worker/supervisor.js";
import { median } from "./metrics.js";
import { markdownTable } from "./table.js";

async function main(): Promise<void> {
  const at = process.argv.indexOf("--repeats");
  const repeats = at > 0 ? Number(process.argv[at + 1]) : 30;
  const cases: { label: string; shape: number[] }[] = [
    { label: "4 KB", shape: [1, 1024] },
    { label: "1 MB", shape: [1, 262_144] },
    { label: "Wan 2.1 480p latent 16×21×60×104 f32 (8.4 MB)", shape: [1, 16, 21, 60, 104] },
    { label: "CFG pair of it (16.8 MB)", shape: [2, 16, 21, 60, 104] },
  ];
  const worker = await WorkerProcess.start({ device: "cpu" });
  const rows: (string | number)[][] = [];
  try {
    for (const c of cases) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
      const tensor = { name: "x", ...float32Tensor(data, c.shape) };
      const sink = new Float32Array(n);
      const bridge: number[] = [];
      const memcpy: number[] = [];
      for (let r = 0; r < repeats + 3; r++) {
        const t0 = performance.now();
        const { tensors } = await worker.client.request({ op: "echo", tensors: [tensor] });
        const t1 = performance.now();
        sink.set(data);
        const t2 = performance.now();
        if (r >= 3) {
          bridge.push(t1 - t0);
          memcpy.push(t2 - t1);
        }
        if ((tensors[0]?.data as Float32Array)[n - 1] !== data[n - 1]) throw new Error("echo returned different bytes");
      }
      const b = median(bridge);
      const m = median(memcpy);
      rows.push([c.label, (n * 4 / 1e6).toFixed(2), b.toFixed(3), m.toFixed(3), (b / m).toFixed(1), ((2 * n * 4) / (b / 1000) / 1e9).toFixed(2)]);
    }
  } finally {
    await worker.shutdown();
  }
  console.log(`bridge round trip (ipc, header + raw frame each way) vs memcpy, median of ${repeats}, one run\n`);
  console.log(markdownTable(["payload", "MB", "round trip ms", "memcpy ms", "ratio", "GB/s moved"], rows));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
