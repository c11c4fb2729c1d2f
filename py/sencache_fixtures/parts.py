"""The parts every tiny pipeline of tiny.py and families.py is built from, and the pipelines' own `__call__` as reference.

Real diffusers / transformers classes with random weights and a local word-level tokenizer: nothing is downloaded.
Each builder seeds torch itself, so a part is the same for the same seed whichever pipeline it goes into.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

_BASE_WORDS = (
    "a an the of in on at with and is are to from over under through into "
    "red green blue yellow orange purple white black grey pink "
    "cat dog bird fish car ball box circle square triangle tree house river sky sun moon "
    "running jumping flying walking spinning moving rolling sitting falling rising {motion}"
    "slowly quickly big small bright dark night day city forest beach snow rain{scene}"
)
# The tiny Wan pipeline's vocabulary (tiny.py) and the family pipelines' (a few more words for their test prompts).
TINY_WORDS = tuple(_BASE_WORDS.format(motion="", scene="").split())
FAMILY_WORDS = tuple(_BASE_WORDS.format(motion="rotating left right ", scene=" background").split())

TEXT_DIM = 16
# Wan's flow-matching sigmas for diffusers' multistep solvers (UniPC as Wan ships it, DPM-Solver++).
FLOW_SIGMAS = dict(num_train_timesteps=1000, prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)


def word_tokenizer(words: tuple[str, ...], max_length: int):
    """(a T5-style fast tokenizer over `words`, its vocabulary size): <pad> 0, </s> 1, <unk> 2, then the words."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in words:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=max_length
    )
    return fast, len(vocab)


def text_parts(max_length: int, seed: int, umt5: bool = False, words: tuple[str, ...] = FAMILY_WORDS):
    """(tokenizer, text encoder): a one-layer T5 (UMT5 for Wan) of width TEXT_DIM over `words`, seeded with `seed`."""
    import torch
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    tokenizer, vocab_size = word_tokenizer(words, max_length)
    cfg = dict(vocab_size=vocab_size, d_model=TEXT_DIM, d_kv=8, d_ff=32, num_layers=1, num_heads=2, dropout_rate=0.0,
               relative_attention_num_buckets=8, relative_attention_max_distance=16,
               pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    torch.manual_seed(seed)
    encoder = UMT5EncoderModel(UMT5Config(**cfg)) if umt5 else T5EncoderModel(T5Config(**cfg))
    return tokenizer, encoder.eval()


def wan_transformer(in_channels: int, z: int, image_dim: int | None, seed: int):
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=in_channels,
        out_channels=z,
        text_dim=TEXT_DIM,
        freq_dim=16,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        image_dim=image_dim,
    ).eval()


def wan_vae(z: int, seed: int):
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(seed)
    return AutoencoderKLWan(
        base_dim=4,
        z_dim=z,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        latents_mean=[0.1, -0.2, 0.05, 0.0],
        latents_std=[1.5, 0.8, 1.2, 1.0],
    ).eval()


def save(pipe, out: str | os.PathLike, sencache: dict) -> Path:
    """Write `pipe` with save_pretrained and its sencache.json, and check it loads back the users' way."""
    from diffusers import DiffusionPipeline

    out = Path(out)
    pipe.save_pretrained(out, safe_serialization=True)
    (out / "sencache.json").write_text(json.dumps(sencache, indent=2) + "\n")
    DiffusionPipeline.from_pretrained(str(out))  # the users' path must work
    return out


# ---------------------------------------------------------------------------------------------------- references


def _to_wire(pipe, latents, call: dict):
    """The pipeline's latent output in the wire layout [1, C, F', H', W']."""
    name = type(pipe).__name__
    if name.startswith("CogVideoX"):
        return latents.permute(0, 2, 1, 3, 4)
    if name.startswith("LTX"):
        f = (call["num_frames"] - 1) // pipe.vae_temporal_compression_ratio + 1
        h = call["height"] // pipe.vae_spatial_compression_ratio
        w = call["width"] // pipe.vae_spatial_compression_ratio
        return pipe._unpack_latents(
            latents, f, h, w, pipe.transformer_spatial_patch_size, pipe.transformer_temporal_patch_size
        )
    return latents


def reference(model: str, call: dict, image: "np.ndarray | None" = None):
    """(final latents of the pipeline's own `__call__` in the wire layout, the noise the scheduler drew or None)."""
    import torch
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(model, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    call = dict(call)
    seed = int(call.pop("seed"))
    kwargs = {**call, "generator": torch.Generator().manual_seed(seed), "output_type": "latent"}
    if image is not None:
        from PIL import Image

        kwargs["image"] = Image.fromarray(image)
    drawn = []
    if type(pipe.scheduler).__name__ == "CogVideoXDPMScheduler":
        import diffusers.schedulers.scheduling_dpm_cogvideox as dpm

        original = dpm.randn_tensor

        def recording(*a, **k):
            t = original(*a, **k)
            # CogVideoX draws in its [B, F, C, H, W] layout; the wire (and TS) order is [B, C, F, H, W].
            drawn.append(t.detach().float().permute(0, 2, 1, 3, 4).flatten().clone())
            return t

        dpm.randn_tensor = recording
        try:
            out = pipe(**kwargs)
        finally:
            dpm.randn_tensor = original
    else:
        out = pipe(**kwargs)
    latents = _to_wire(pipe, out.frames, call).float().contiguous()
    noise = torch.cat(drawn) if drawn else None
    return latents, noise


def run_reference(model: str, call: dict, out: str, image_file: str | None = None, image_size=None) -> None:
    """`reference` written to `out` (raw float32), `out`.json ({"shape", "noise"?}) and `out`.noise when it drew any."""
    import numpy as np

    image = None
    if image_file:
        h, w = (int(v) for v in (image_size.split(",") if isinstance(image_size, str) else image_size))
        image = np.frombuffer(Path(image_file).read_bytes(), dtype=np.uint8).reshape(h, w, 3)
    latents, noise = reference(model, call, image)
    arr = latents.numpy().astype("<f4", copy=False)
    Path(out).write_bytes(arr.tobytes())
    meta = {"shape": list(arr.shape)}
    if noise is not None:
        Path(out + ".noise").write_bytes(noise.numpy().astype("<f4").tobytes())
        meta["noise"] = int(noise.numel())
    Path(out + ".json").write_text(json.dumps(meta) + "\n")
    print(json.dumps({"out": out, **meta}))
