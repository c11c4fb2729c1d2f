/** Latent geometry read from a local pipeline folder before any worker starts, and the size check's sentence. */
import test from "ava";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkSize, readFolderGeometry } from "../../ts/sampling/geometry.js";
import { BUNDLED_MODEL } from "../../ts/cli/common.js";

test("the bundled model: Wan geometry from its configs (VAE 4×/2×, patch 1×2×2 → multiples of 16, frames 2k+1)", (t) => {
  const g = readFolderGeometry(BUNDLED_MODEL);
  t.truthy(g);
  t.is(g!.family, "wan");
  t.deepEqual(g!.geometry.patch, [1, 2, 2]);
  t.is(g!.geometry.spatialMultiple, 16);
  t.deepEqual(g!.geometry.frameRule, { multiple: 2, plus: 1 });
  t.deepEqual(g!.geometry.maxLatent, [64, 128, 128]);
  t.deepEqual(g!.experts, [{ name: "transformer", tMin: 0, tMax: 1000 }]);
  t.is(g!.defaults?.height, 32);
});

test("a wrong size is refused in one sentence naming the valid sizes", (t) => {
  const g = readFolderGeometry(BUNDLED_MODEL)!.geometry;
  const e = t.throws(() => checkSize(g, { height: 40, width: 32, numFrames: 8 }, { model: "this model (WanPipeline)" }));
  t.is(
    e?.message,
    "The size height 40, 8 frames does not fit this model (WanPipeline), whose height and width must be multiples of 16 and frame count 2k+1: use height " +
      "32 or 48, 7 or 9 frames.",
  );
  t.notThrows(() => checkSize(g, { height: 32, width: 48, numFrames: 9 }));
  t.throws(() => checkSize(g, { height: 4096 }, { vaeSpatial: 4 }), { message: /positional range .*height 512/ });
});

function folder(index: object, transformer: object, vae: object, scheduler: object = { num_train_timesteps: 1000 }): string {
  const dir = mkdtempSync(join(tmpdir(), "sencache-geom-"));
  for (const [sub, cfg] of [["transformer", transformer], ["vae", vae]] as const) {
    mkdirSync(join(dir, sub));
    writeFileSync(join(dir, sub, "config.json"), JSON.stringify(cfg));
  }
  mkdirSync(join(dir, "scheduler"));
  writeFileSync(join(dir, "scheduler", "scheduler_config.json"), JSON.stringify(scheduler));
  writeFileSync(join(dir, "model_index.json"), JSON.stringify(index));
  return dir;
}

test("Wan 2.2 A14B-shaped configs: two experts split at boundary_ratio·1000", (t) => {
  const dir = folder(
    {
      _class_name: "WanPipeline",
      boundary_ratio: 0.875,
      transformer: ["diffusers", "WanTransformer3DModel"],
      transformer_2: ["diffusers", "WanTransformer3DModel"],
    },
    { patch_size: [1, 2, 2], in_channels: 16, rope_max_seq_len: 1024 },
    { temperal_downsample: [false, true, true] },
  );
  const g = readFolderGeometry(dir)!;
  t.deepEqual(g.experts, [
    { name: "transformer", tMin: 875, tMax: 1000 },
    { name: "transformer_2", tMin: 0, tMax: 875 },
  ]);
  t.is(g.geometry.spatialMultiple, 16);
  t.deepEqual(g.geometry.frameRule, { multiple: 4, plus: 1 });
});

test("CogVideoX- and LTX-Video-shaped configs", (t) => {
  const cog = readFolderGeometry(
    folder(
      { _class_name: "CogVideoXPipeline" },
      { patch_size: 2, patch_size_t: null, in_channels: 16 },
      { block_out_channels: [128, 256, 256, 512], temporal_compression_ratio: 4 },
    ),
  )!;
  t.deepEqual([cog.family, cog.geometry.spatialMultiple, cog.geometry.frameRule.multiple, ...cog.geometry.patch], ["cogvideox", 16, 4, 1, 2, 2]);
  const cog15 = readFolderGeometry(
    folder(
      { _class_name: "CogVideoXPipeline" },
      { patch_size: 2, patch_size_t: 2, in_channels: 16 },
      { block_out_channels: [128, 256, 256, 512], temporal_compression_ratio: 4 },
    ),
  )!;
  t.deepEqual(cog15.geometry.patch, [2, 2, 2]);
  const ltx = readFolderGeometry(
    folder(
      { _class_name: "LTXPipeline" },
      { patch_size: 1, patch_size_t: 1, in_channels: 128 },
      { patch_size: 4, patch_size_t: 1, spatio_temporal_scaling: [true, true, true, false], spatial_compression_ratio: null, temporal_compression_ratio: null },
    ),
  )!;
  t.deepEqual([ltx.family, ltx.geometry.spatialMultiple, ltx.geometry.frameRule.multiple, ltx.vae.spatial], ["ltx", 32, 8, 32]);
  t.is(readFolderGeometry(folder({ _class_name: "FluxPipeline" }, {}, {})), undefined);
  t.is(readFolderGeometry("Wan-AI/Wan2.1-T2V-1.3B-Diffusers"), undefined);
});
