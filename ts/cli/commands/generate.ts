/** `sencache generate`: one text-to-video sample with a cache policy; writes an MP4 (or GIF / PNG strip) and a summary. */
import { writeFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { resolvePolicyForModel } from "../../policies/model-files.js";
import { generate } from "../../sampling/generate.js";
import { closePython, pythonPromptHook } from "../../interop/python.js";
import { writeVideo, type WrittenVideo } from "../../media/index.js";
import { describeExperts } from "../../sampling/experts.js";
import { loadImage } from "../../media/read.js";
import { conditionsOnFps } from "../../sampling/family.js";
import { ensureParent, modelOptions, sizeArgs, withModel, type ModelArgs } from "../common.js";
import { ProgressBar } from "../progress.js";
import { loadPlugins, pluginOption, type PluginArgs } from "../plugins.js";
import { COUNT, NON_NEGATIVE, POSITIVE, WHOLE, checkNumbers, checkVideoOut } from "../args.js";

interface GenerateArgs extends ModelArgs, PluginArgs {
  prompt: string;
  negativePrompt: string;
  seed: number;
  steps?: number;
  guidance?: number;
  guidance2?: number;
  dynamicCfg?: boolean;
  maxSequenceLength?: number;
  scheduler?: string;
  height?: number;
  width?: number;
  frames?: number;
  image?: string;
  policy: string;
  out: string;
  fps?: number;
  scale?: number;
  latentOut?: string;
  json: boolean;
  promptHook?: string;
}

export const generateCommand: CommandModule<object, GenerateArgs> = {
  command: "generate",
  describe: "Generate one video with a cache policy and write it as MP4 (H.264), GIF or a PNG strip",
  builder: (y) =>
    pluginOption(modelOptions(y))
      .option("prompt", { type: "string", demandOption: true, describe: "text prompt" })
      .option("negative-prompt", { type: "string", default: "", describe: "negative prompt (unconditional branch)" })
      .option("seed", { type: "number", default: 0, describe: "seed of the initial latent" })
      .option("steps", { type: "number", describe: "denoising steps (default: the model's)" })
      .option("guidance", { type: "number", describe: "classifier-free guidance scale (default: the model's)" })
      .option(
        "guidance-2",
        {
          type: "number",
          describe: "guidance scale on the low-noise expert's steps of a two-expert model (Wan 2.2 A14B; default: the model's guidance_scale_2)",
        },
      )
      .option("dynamic-cfg", { type: "boolean", describe: "CogVideoX's dynamic CFG (use_dynamic_cfg; default: the model's)" })
      .option("max-sequence-length", { type: "number", describe: "text-encoder tokens (default: the model's)" })
      .option(
        "scheduler",
        { type: "string", describe: "another scheduler class on the pipeline's config, e.g. FlowMatchEulerDiscreteScheduler (default: the pipeline's)" },
      )
      .option("height", { type: "number" })
      .option("width", { type: "number" })
      .option("frames", { type: "number", describe: "number of video frames" })
      .option("image", { type: "string", describe: "image-to-video models: the conditioning image file (PNG, JPEG, …)" })
      .option("policy", { type: "string", default: "none", describe: 'cache policy id with options, e.g. "sencache:eps=0.1,n=2", "fixed-interval:k=2"' })
      .option(
        "out",
        {
          type: "string",
          default: "out/generate.mp4",
          describe: "output file: .mp4 (H.264, yuv420p), .gif, or .png (the frames side by side); encoded by the worker's ffmpeg / Pillow",
        },
      )
      .option("fps", {
        type: "number",
        describe: "frames per second of the file; on LTX-Video also the frame rate the model is conditioned on (default: the model's)",
      })
      .option("scale", { type: "number", describe: "integer nearest-neighbour upscaling (default: small videos to ≥ 128 px)" })
      .option("latent-out", { type: "string", describe: "also write the final latent as raw float32 (plus .json with its shape)" })
      .option("json", { type: "boolean", default: false, describe: "print the run summary as JSON" })
      .option("prompt-hook", { type: "string", describe: "a Python function file.py:fn (str -> str) that rewrites the prompt first (called through pythonia)" })
      .check(checkNumbers({ fps: POSITIVE, scale: COUNT, steps: COUNT, guidance: NON_NEGATIVE, seed: WHOLE, height: COUNT, width: COUNT, frames: COUNT }))
      .check((argv) => {
        checkVideoOut("out", String(argv["out"]));
        return true;
      }) as never,
  handler: async (args) => {
    await loadPlugins(args.plugin);
    const { policy, notes } = resolvePolicyForModel(args.policy, { source: args.model });
    for (const n of notes) console.error(`note: ${n}`);
    const prompt = args.promptHook ? await pythonPromptHook(args.promptHook)(args.prompt).finally(closePython) : args.prompt;
    if (prompt !== args.prompt) console.error(`prompt rewritten by ${args.promptHook}: "${prompt}"`);
    await withModel(args, async (model) => {
      const steps = args.steps ?? model.info.defaults.numInferenceSteps;
      const d = model.info.defaults;
      const imageSize = { height: args.height ?? d.height, width: args.width ?? d.width };
      const image = args.image !== undefined ? await loadImage(model, args.image, imageSize) : undefined;
      const bar = new ProgressBar({ total: steps, label: `generate ${policy.id}`, stream: process.stderr });
      const result = await generate(model, {
        prompt,
        negativePrompt: args.negativePrompt,
        seed: args.seed,
        steps,
        ...(args.guidance !== undefined ? { guidanceScale: args.guidance } : {}),
        ...sizeArgs(args),
        ...(args.guidance2 !== undefined ? { guidanceScale2: args.guidance2 } : {}),
        ...(args.dynamicCfg !== undefined ? { dynamicCfg: args.dynamicCfg } : {}),
        ...(args.maxSequenceLength !== undefined ? { maxSequenceLength: args.maxSequenceLength } : {}),
        ...(args.scheduler !== undefined ? { scheduler: args.scheduler } : {}),
        ...(image !== undefined ? { image } : {}),
        ...(args.fps !== undefined && conditionsOnFps(model.info) ? { fps: args.fps } : {}),
        policy,
        decode: true,
        onStep: (e) => bar.tick(1, `NFE ${e.nfe} · ${e.action}${e.expert ? ` · ${e.expert}` : ""}`),
      });
      bar.done();
      ensureParent(args.out);
      let written: WrittenVideo | undefined;
      if (result.video) written = await writeVideo(
        model,
        args.out,
        result.video,
        { ...(args.fps !== undefined ? { fps: args.fps } : {}), ...(args.scale !== undefined ? { scale: args.scale } : {}) },
      );
      if (args.latentOut) {
        ensureParent(args.latentOut);
        writeFileSync(args.latentOut, Buffer.from(result.latent.buffer, result.latent.byteOffset, result.latent.byteLength));
        writeFileSync(`${args.latentOut}.json`, JSON.stringify({ shape: result.latentShape }));
      }
      const s = result.summary;
      if (args.json) {
        console.log(
          JSON.stringify(
            {
              ...s,
              out: args.out,
              ...(written ? {
                file: { format: written.format, width: written.width, height: written.height, frames: written.frames, fps: written.fps, bytes: written.bytes },
              } : {}),
            },
            null,
            2,
          ),
        );
      } else {
        console.log(
          `policy ${s.policy}: NFE ${s.nfe}/${s.totalSteps} (speed-up ×${s.speedup.toFixed(2)}), ${(s.wallMs / 1000).toFixed(2)} s; reused steps: ` +
            `[${s.reusedSteps.join(", ")}]`,
        );
        const experts = describeExperts(s);
        if (experts) console.log(`experts: ${experts}`);
        for (const d of s.diagnostics) console.log(`warning: ${d}`);
        if (written?.note) console.log(`note: ${written.note}`);
        if (written) {
          const fps = written.format === "png" ? "" : ` at ${written.fps} fps`;
          console.log(`wrote ${args.out} (${written.format}, ${written.width}×${written.height}, ${written.frames} frames${fps})`);
        } else console.log(`wrote nothing: the worker returned no video`);
      }
    }, sizeArgs(args));
  },
};
