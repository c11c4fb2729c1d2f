"""Golden reply vectors written by this protocol module and read by the TypeScript codec tests.

    python -m sencache_fixtures.vectors [--check] [--out DIR]

Writes proto/vectors/replies/<name>.json, each {"description", "frames": [base64...], "header": {...},
"tensors": [{"name", "dtype", "shape", "values"}]}: `values` are the elements in C order (float16 and bfloat16
as their uint16 bit patterns, the way the TypeScript side carries them). `--check` exits 1 when the files on
disk differ from what the code writes now. Everything here is fixed: no pids, no times, no versions read live.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from sencache_worker import protocol as P

REPLIES_DIR = Path(__file__).resolve().parents[2] / "proto" / "vectors" / "replies"

# A diffusers FlowMatchEulerDiscreteScheduler config as the worker reports it (a literal: the vector tests the
# codec, not diffusers). Holds a null, floats that are whole, and private keys.
_SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "shift": 3.0,
    "use_dynamic_shifting": False,
    "base_shift": 0.5,
    "max_shift": 1.15,
    "base_image_seq_len": 256,
    "max_image_seq_len": 4096,
    "invert_sigmas": False,
    "shift_terminal": None,
    "use_karras_sigmas": False,
    "time_shift_type": "exponential",
    "stochastic_sampling": False,
    "_class_name": "FlowMatchEulerDiscreteScheduler",
    "_diffusers_version": "0.42.1",
}


# The load vectors' pipeline: a Wan-family text-to-video model (the others are this with a few parts changed).
_WAN = P.ModelInfo(
    family="wan",
    pipeline_class="WanPipeline",
    scheduler=P.SchedulerInfo(class_name="FlowMatchEulerDiscreteScheduler", config=_SCHEDULER_CONFIG),
    latent=P.LatentInfo(channels=4, spatial_scale=8, temporal_scale=4),
    defaults=P.Defaults(height=32, width=32, num_frames=5, guidance_scale=5.0, num_inference_steps=10,
                        max_sequence_length=16, fps=16.0, scheduler="FlowMatchEulerDiscreteScheduler"),
    experts=(P.Expert(name="transformer", t_min=0.0, t_max=1000.0),),
    guidance=P.Guidance(scale=5.0, scale_2=None, dynamic=False),
    geometry=P.Geometry(patch=(1, 2, 2), spatial_multiple=16, frame_rule=P.FrameRule(multiple=4, plus=1),
                        max_latent=(32, 64, 64)),
    set_timesteps=P.SetTimesteps(sigmas=None, mu=None),
)


def _ramp(shape, start: float, step: float, dtype=np.float32) -> np.ndarray:
    n = int(np.prod(shape))
    return (start + step * np.arange(n)).astype(dtype).reshape(shape)


def _bf16(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (the values used here are exact in bfloat16)."""
    return (np.asarray(values, dtype="<f4").view("<u4") >> 16).astype("<u2")


def _replies() -> list[tuple[str, str, P.Reply]]:
    err = P.error_reply
    return [
        ("hello", "readiness reply to the first hello", P.reply_to("hello", 1, P.HelloResult(
            protocol=1, worker="sencache-worker", version="0.1.0", device="cpu", pid=4242,
            torch="2.15.0", diffusers="0.42.1", max_message_bytes=1 << 30))),
        ("ping", "heartbeat answer", P.reply_to("ping", 2, P.Empty())),
        ("load", "a loaded Wan-family pipeline with its scheduler config",
         P.reply_to("load", 3, P.LoadResult(model="m1.a1b2c3", info=_WAN))),
        ("load_two_experts", "a two-expert Wan 2.2 A14B-style image-to-video pipeline (boundary 900)",
         P.reply_to("load", 16, P.LoadResult(model="m2.a1b2c3", info=dataclasses.replace(
             _WAN, pipeline_class="WanImageToVideoPipeline", image_to_video=True,
             experts=(P.Expert(name="transformer", t_min=900.0, t_max=1000.0),
                      P.Expert(name="transformer_2", t_min=0.0, t_max=900.0)),
             guidance=P.Guidance(scale=5.0, scale_2=3.0, dynamic=False))))),
        ("load_ltx", "an LTX-Video pipeline: set_timesteps with linspace sigmas and mu from the sequence length",
         P.reply_to("load", 17, P.LoadResult(model="m3.a1b2c3", info=dataclasses.replace(
             _WAN, family="ltx", pipeline_class="LTXPipeline",
             latent=P.LatentInfo(channels=8, spatial_scale=32, temporal_scale=8),
             defaults=P.Defaults(height=512, width=704, num_frames=161, guidance_scale=3.0, num_inference_steps=50,
                                 max_sequence_length=128, fps=25.0, scheduler="FlowMatchEulerDiscreteScheduler"),
             guidance=P.Guidance(scale=3.0, scale_2=None, dynamic=False),
             geometry=P.Geometry(patch=(1, 1, 1), spatial_multiple=32, frame_rule=P.FrameRule(multiple=8, plus=1),
                                 max_latent=None),
             set_timesteps=P.SetTimesteps(sigmas="linspace", mu="sequence_length"))))),
        ("encode_image", "an image-condition handle for one sample",
         P.reply_to("encode_image", 18, P.EncodeImageResult(image="i3.a1b2c3"))),
        ("encode_prompt", "a condition handle and its token count",
         P.reply_to("encode_prompt", 4, P.EncodePromptResult(cond="c2.a1b2c3", tokens=9))),
        ("prepare_latents", "an initial latent [1, C, F', H', W']", P.reply_to("prepare_latents", 5,
            P.PrepareLatentsResult(latents=_ramp((1, 2, 1, 2, 2), -1.0, 0.25)))),
        ("denoise", "two items' predictions in one float32 tensor", P.reply_to("denoise", 6,
            P.DenoiseResult(items=2, out=_ramp((2, 2, 1, 2, 3), 1.5, -0.125)))),
        ("time_embedding", "time embeddings [len, D]", P.reply_to("time_embedding", 7,
            P.TimeEmbeddingResult(emb=_ramp((2, 3), 0.5, 0.5)))),
        ("decode", "a decoded uint8 video [F, H, W, 3]", P.reply_to("decode", 8,
            P.DecodeResult(video=_ramp((1, 2, 2, 3), 0, 21, np.uint8)))),
        ("encode_media", "normalised latents of a video", P.reply_to("encode_media", 9,
            P.EncodeMediaResult(latents=_ramp((1, 2, 1, 1, 2), 0.75, -0.5)))),
        ("encode_video", "an encoded file (a stand-in: these bytes are not a real MP4) and its geometry",
         P.reply_to("encode_video", 16, P.EncodeVideoResult(
             data=np.frombuffer(b"\x00\x00\x00\x18ftypisom", np.uint8), format="mp4", width=8, height=4, frames=2,
             fps=8.0, pad_bottom=0, pad_right=0))),
        ("read_media", "media files read into a uint8 video [F, H, W, 3]",
         P.reply_to("read_media", 19, P.ReadMediaResult(video=_ramp((1, 2, 2, 3), 0, 20, np.uint8)))),
        ("release", "handles released", P.reply_to("release", 10, P.ReleaseResult(released=2))),
        ("stats", "worker counters", P.reply_to("stats", 11, P.StatsResult(
            messages=12, denoise_requests=5, denoise_items=10, forwards=3, errors=1, models=1, conds=2,
            forward_seconds=0.25))),
        ("echo", "every dtype back unchanged, a scalar and an empty tensor", P.reply_to("echo", 12, P.EchoResult(tensors=[
            P.tensor("f32", _ramp((2, 2), -0.5, 0.25)),
            P.tensor("f64", _ramp((3,), 0.1, 0.2, np.float64)),
            P.tensor("f16", _ramp((2, 2), -1.0, 0.5, np.float16)),
            P.tensor("bf16", _bf16(_ramp((2, 2), -1.0, 0.5)), "bfloat16"),
            P.tensor("u8", _ramp((4,), 0, 85, np.uint8)),
            P.tensor("i64", np.array([-(2**40), -1, 0, 2**40], dtype=np.int64)),
            P.tensor("scalar", np.array(2.5, dtype=np.float32)),
            P.tensor("empty", np.zeros((0, 3), dtype=np.float32)),
        ]))),
        ("ops", "the worker's op table (two entries of it)", P.reply_to("ops", 20, P.OpsResult(ops=(
            P.OpDescription(name="ping", inline=True, args={}, tensors_in={}, result=(), tensors_out=()),
            P.OpDescription(name="decode", inline=False, args={"model": "str"}, tensors_in={"latents": ["float32"]}, result=(),
                            tensors_out=("video",)))))),
        ("shutdown", "shutdown acknowledged", P.reply_to("shutdown", 13, P.Empty())),
        ("error_unknown_handle", "a typed error for a released condition handle", err(P.ProtocolError(
            P.UNKNOWN_HANDLE, "Condition handle 'c9.a1b2c3' is not known here; encode the prompt again."), "denoise", 14)),
        ("error_bad_message", "the reply to an undecodable header: op unknown, id 0", err(P.ProtocolError(
            P.BAD_MESSAGE, "The header frame is not msgpack; send a msgpack map as frame 0."))),
        ("error_unsupported_version", "a request with a future protocol version", err(P.ProtocolError(
            P.UNSUPPORTED_VERSION, "Protocol version 2 is not spoken here; this worker speaks versions [1]."), "ping", 15)),
    ]


def _values(t: P.Tensor) -> list:
    arr = t.array
    if t.dtype in ("float16", "bfloat16"):
        arr = arr.view("<u2")
    return [v.item() for v in arr.reshape(-1)] if arr.size else []


def vector(description: str, frames: list) -> dict:
    raw = [bytes(f) for f in frames]
    reply = P.decode_reply(raw)
    return {
        "description": description,
        "frames": [base64.b64encode(f).decode("ascii") for f in raw],
        "header": P.header_of(raw),
        "tensors": [
            {"name": t.name, "dtype": t.dtype, "shape": list(t.array.shape), "values": _values(t)}
            for t in reply.tensors
        ],
    }


def build() -> dict[str, str]:
    return {
        f"{name}.json": json.dumps(vector(desc, P.encode_reply(rep)), indent=1) + "\n"
        for name, desc, rep in _replies()
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sencache_fixtures.vectors", description="write the golden reply vectors")
    p.add_argument("--check", action="store_true", help="exit 1 when the files on disk are out of date")
    p.add_argument("--out", type=Path, default=REPLIES_DIR)
    args = p.parse_args(argv)
    files = build()
    on_disk = {f.name for f in args.out.glob("*.json")} if args.out.is_dir() else set()
    if args.check:
        stale = sorted(n for n, text in files.items() if not (args.out / n).is_file() or (args.out / n).read_text() != text)
        extra = sorted(on_disk - set(files))
        if stale or extra:
            print(f"reply vectors out of date: {', '.join(stale + extra)}; run python -m sencache_fixtures.vectors",
                  file=sys.stderr)
            return 1
        print(f"{len(files)} reply vectors up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in on_disk - set(files):
        (args.out / name).unlink()
    for name, text in files.items():
        (args.out / name).write_text(text)
    print(f"wrote {len(files)} reply vectors to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
