"""Tiny random pipelines of every supported diffusers pipeline class, and their own `__call__` as ground truth.

    python -m sencache_fixtures.families list
    python -m sencache_fixtures.families build --case CASE --out DIR
    python -m sencache_fixtures.families reference --model DIR --args JSON --out FILE [--image FILE --image-size H,W]
    python -m sencache_fixtures.families build-many --root DIR --cases A,B,...      (each into DIR/<case>)
    python -m sencache_fixtures.families references --jobs FILE.json       (a list of reference jobs in one process)

`build` constructs the pipeline from configs with random weights (real diffusers / transformers classes, a local
word-level tokenizer, nothing downloaded), writes it with `save_pretrained` plus a `sencache.json` of tiny
defaults, and loads it back through `DiffusionPipeline.from_pretrained` to prove the users' load path works.

`reference` runs the pipeline's own `__call__(..., output_type="latent", generator=torch.Generator().manual_seed(
seed))` with the keyword arguments in JSON (prompt, negative_prompt, seed, num_inference_steps, guidance_scale,
height, width, num_frames, ...; `image` comes from --image: raw uint8 RGB bytes of --image-size) and writes the final
latents as raw float32 bytes to FILE in the wire layout [1, C, F', H', W'] (CogVideoX's [B, F, C, H, W] permuted,
LTX's packed tokens unpacked with the pipeline's own `_unpack_latents`), `{"shape": [...]}` to FILE.json, and, for a
stochastic scheduler (CogVideoXDPMScheduler), every noise tensor its `step` drew, in order, to FILE.noise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .parts import FAMILY_WORDS, FLOW_SIGMAS, TEXT_DIM, run_reference, save, text_parts, wan_transformer, wan_vae

# ---------------------------------------------------------------------------------------------------- CogVideoX


def _cogvideox(i2v: bool, v15: bool, scheduler: str, seed: int):
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXImageToVideoPipeline, CogVideoXPipeline, CogVideoXTransformer3DModel
    from diffusers import CogVideoXDDIMScheduler, CogVideoXDPMScheduler

    max_text = 8
    tokenizer, text_encoder = text_parts(max_text, seed)
    z = 4
    torch.manual_seed(seed + 1)
    rotary = i2v or v15 or scheduler == "dpm"  # 2b: sincos positions; 5b, 5b-I2V and 1.5: rotary
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2,
        attention_head_dim=16,  # rotary splits it 4 + 6 + 6 over (t, h, w)
        in_channels=2 * z if i2v else z,
        out_channels=z,
        time_embed_dim=8,
        ofs_embed_dim=8 if (i2v and v15) else None,
        text_embed_dim=TEXT_DIM,
        num_layers=1,
        sample_width=4,
        sample_height=4,
        sample_frames=9,
        patch_size=2,
        patch_size_t=2 if v15 else None,
        temporal_compression_ratio=4,
        max_text_seq_length=max_text,
        use_rotary_positional_embeddings=rotary,
        use_learned_positional_embeddings=i2v and not v15,
        patch_bias=not v15,
    ).eval()
    torch.manual_seed(seed + 2)
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=z,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
        invert_scale_latents=v15 and i2v,
    ).eval()
    common = dict(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=True,
        steps_offset=0,
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        timestep_spacing="trailing",
        snr_shift_scale=1.0 if v15 else 3.0,
    )
    sched = CogVideoXDPMScheduler(**common) if scheduler == "dpm" else CogVideoXDDIMScheduler(**common)
    cls = CogVideoXImageToVideoPipeline if i2v else CogVideoXPipeline
    pipe = cls(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=sched)
    return pipe, {"height": 32, "width": 32, "num_frames": 9, "num_inference_steps": 6, "guidance_scale": 6.0,
                  "max_sequence_length": max_text}


# ---------------------------------------------------------------------------------------------------- LTX-Video


def _ltx(i2v: bool, seed: int):
    import torch
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXImageToVideoPipeline, LTXPipeline, LTXVideoTransformer3DModel

    max_text = 8
    tokenizer, text_encoder = text_parts(max_text, seed)
    z = 8
    torch.manual_seed(seed + 1)
    transformer = LTXVideoTransformer3DModel(
        in_channels=z,
        out_channels=z,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        num_layers=1,
        caption_channels=TEXT_DIM,
    ).eval()
    torch.manual_seed(seed + 2)
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=z,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=True,  # as LTX-Video 0.9.1: decode_timestep / decode_noise_scale apply
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    ).eval()
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    # LTX-Video's own scheduler config: dynamic shifting with mu from the token count, shift_terminal 0.1.
    sched = FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000,
        shift=1.0,
        use_dynamic_shifting=True,
        base_shift=0.95,
        max_shift=2.05,
        base_image_seq_len=1024,
        max_image_seq_len=4096,
        shift_terminal=0.1,
    )
    cls = LTXImageToVideoPipeline if i2v else LTXPipeline
    pipe = cls(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=sched)
    return pipe, {"height": 32, "width": 32, "num_frames": 9, "num_inference_steps": 6, "guidance_scale": 3.0,
                  "max_sequence_length": max_text, "frame_rate": 25}


# ---------------------------------------------------------------------------------------------------- Wan


def wan(kind: str, seed: int, words: tuple[str, ...] = FAMILY_WORDS, scheduler=None):
    """kind: t2v (2.1 T2V: tiny.py's), i2v (2.1 I2V, CLIP image encoder), ti2v / ti2v-i2v (2.2 5B, expand_timesteps),
    a14b / a14b-i2v; `scheduler` replaces the UniPC flow scheduler Wan ships with."""
    import torch
    from diffusers import UniPCMultistepScheduler, WanImageToVideoPipeline, WanPipeline

    tokenizer, text_encoder = text_parts(512, seed, umt5=True, words=words)
    z = 4
    i2v = kind in ("i2v", "ti2v-i2v", "a14b-i2v")
    expand = kind.startswith("ti2v")
    two = kind.startswith("a14b")
    # 2.1 I2V and A14B I2V concatenate [noise, 4 mask channels, encoded video] on channels; TI2V mixes in place.
    in_channels = 2 * z + 4 if (i2v and not expand) else z
    image_dim = 8 if kind == "i2v" else None
    transformer = wan_transformer(in_channels, z, image_dim, seed + 1)
    transformer_2 = wan_transformer(in_channels, z, image_dim, seed + 3) if two else None
    vae = wan_vae(z, seed + 2)
    sched = scheduler or UniPCMultistepScheduler(**FLOW_SIGMAS)
    extra = {}
    if kind == "i2v":
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

        torch.manual_seed(seed + 4)
        extra["image_encoder"] = CLIPVisionModel(
            CLIPVisionConfig(hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                             image_size=32, intermediate_size=16, patch_size=8)
        ).eval()
        extra["image_processor"] = CLIPImageProcessor(crop_size=32, size=32)
    elif i2v:
        extra["image_encoder"] = None
        extra["image_processor"] = None
    cls = WanImageToVideoPipeline if i2v else WanPipeline
    pipe = cls(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=sched,
        transformer=transformer,
        transformer_2=transformer_2,
        boundary_ratio=(0.9 if i2v else 0.875) if two else None,
        expand_timesteps=expand,
        **extra,
    )
    # Wan I2V's attention assumes 512 text tokens (FACTS); its tiny T2V models use 16.
    msl = 512 if kind == "i2v" else 16
    defaults = {"height": 32, "width": 32, "num_frames": 5, "num_inference_steps": 6, "guidance_scale": 5.0,
                "max_sequence_length": msl}
    if two:
        defaults["guidance_scale_2"] = 3.0
    return pipe, defaults


# name -> (builder(seed) -> (pipe, tiny defaults), what it stands for)
CASES = {
    "cogvideox-2b": (lambda s: _cogvideox(False, False, "ddim", s), "CogVideoXPipeline, 2b-style (DDIM, sincos positions)"),
    "cogvideox-5b": (lambda s: _cogvideox(False, False, "dpm", s), "CogVideoXPipeline, 5b-style (DPM, rotary)"),
    "cogvideox1.5": (lambda s: _cogvideox(False, True, "ddim", s), "CogVideoXPipeline, 1.5-style (patch_size_t 2)"),
    "cogvideox-5b-i2v": (lambda s: _cogvideox(True, False, "ddim", s), "CogVideoXImageToVideoPipeline, 5b-I2V-style"),
    "cogvideox1.5-i2v": (lambda s: _cogvideox(True, True, "ddim", s), "CogVideoXImageToVideoPipeline, 1.5-style (ofs)"),
    "ltx": (lambda s: _ltx(False, s), "LTXPipeline (0.9.1-style VAE with timestep conditioning)"),
    "ltx-i2v": (lambda s: _ltx(True, s), "LTXImageToVideoPipeline"),
    "wan2.1-i2v": (lambda s: wan("i2v", s), "WanImageToVideoPipeline, 2.1 (CLIP image encoder)"),
    "wan2.2-ti2v": (lambda s: wan("ti2v", s), "WanPipeline, 2.2 TI2V-5B-style (expand_timesteps)"),
    "wan2.2-ti2v-i2v": (lambda s: wan("ti2v-i2v", s), "WanImageToVideoPipeline, 2.2 TI2V-5B-style"),
    "wan2.2-a14b": (lambda s: wan("a14b", s), "WanPipeline, 2.2 A14B-style (transformer_2, boundary_ratio)"),
    "wan2.2-a14b-i2v": (lambda s: wan("a14b-i2v", s), "WanImageToVideoPipeline, 2.2 A14B-style"),
}


def build(case: str, out: str | os.PathLike, seed: int = 0) -> Path:
    if case not in CASES:
        raise SystemExit(f"unknown case {case!r}; use one of {', '.join(CASES)}")
    pipe, defaults = CASES[case][0](seed)
    return save(pipe, out, {"case": case, "defaults": defaults})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sencache_fixtures.families", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the cases and what they stand for")
    b = sub.add_parser("build", help="write one tiny random pipeline to a folder")
    b.add_argument("--case", required=True, choices=list(CASES))
    b.add_argument("--out", required=True)
    b.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("reference", help="run the pipeline's own __call__ and write its final latents")
    r.add_argument("--model", required=True)
    r.add_argument("--args", required=True, help="JSON keyword arguments of __call__ (with seed)")
    r.add_argument("--image", default=None, help="raw uint8 RGB bytes of the conditioning image")
    r.add_argument("--image-size", default=None, help="H,W of --image")
    r.add_argument("--out", required=True)
    bm = sub.add_parser("build-many", help="build several cases, each into ROOT/<case> (staged, then renamed)")
    bm.add_argument("--root", required=True)
    bm.add_argument("--cases", required=True)
    rs = sub.add_parser("references", help="run several reference jobs [{model, args, out, image?, image_size?}]")
    rs.add_argument("--jobs", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for name, (_, what) in CASES.items():
            print(f"{name:18s} {what}")
        return 0
    import torch

    torch.set_num_threads(1)
    if args.cmd == "build":
        print(str(build(args.case, args.out, args.seed)))
        return 0
    if args.cmd == "build-many":
        import shutil

        root = Path(args.root)
        for case in args.cases.split(","):
            final = root / case
            if (final / "model_index.json").is_file():
                continue
            staging = root / f".{case}.{os.getpid()}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            build(case, staging)
            try:
                staging.rename(final)
            except OSError:  # another process won the race
                shutil.rmtree(staging, ignore_errors=True)
        return 0
    if args.cmd == "references":
        for job in json.loads(Path(args.jobs).read_text()):
            run_reference(job["model"], job["args"], job["out"], job.get("image"), job.get("image_size"))
        return 0
    run_reference(args.model, json.loads(args.args), args.out, args.image, args.image_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
