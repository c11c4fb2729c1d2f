"""Builds the tiny Wan-family pipeline from configs with diffusers' real classes."""
from __future__ import annotations

import json
import os
import tempfile

import torch
from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast, UMT5Config, UMT5EncoderModel

from . import dataset

MAX_SEQ = 16
SHIFT = 3.0

VAE_CONFIG = dict(
    base_dim=16,
    z_dim=8,
    dim_mult=[1, 2, 4],
    num_res_blocks=1,
    attn_scales=[],
    temperal_downsample=[False, True],
    dropout=0.0,
    latents_mean=[0.0] * 8,
    latents_std=[1.0] * 8,
    scale_factor_temporal=2,
    scale_factor_spatial=4,
)

TEXT_CONFIG = dict(
    vocab_size=32,
    d_model=64,
    d_kv=16,
    d_ff=128,
    num_layers=2,
    num_heads=4,
    relative_attention_num_buckets=16,
    relative_attention_max_distance=32,
    dropout_rate=0.0,
    feed_forward_proj="gated-gelu",
    is_encoder_decoder=False,
    use_cache=False,
    pad_token_id=0,
    eos_token_id=1,
    decoder_start_token_id=0,
)

TRANSFORMER_CONFIG = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=4,
    attention_head_dim=32,
    in_channels=8,
    out_channels=8,
    text_dim=64,
    freq_dim=64,
    ffn_dim=384,
    num_layers=6,
    cross_attn_norm=True,
    qk_norm="rms_norm_across_heads",
    eps=1e-6,
    rope_max_seq_len=64,
)


def build_tokenizer() -> PreTrainedTokenizerFast:
    specials = ["<pad>", "</s>", "<unk>"]
    vocab = {w: i for i, w in enumerate(specials + list(dataset.VOCAB))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=MAX_SEQ
    )


def build_scheduler():
    return UniPCMultistepScheduler(
        prediction_type="flow_prediction",
        use_flow_sigmas=True,
        num_train_timesteps=1000,
        flow_shift=SHIFT,
    )


def build(seed: int = 0, transformer_config: dict | None = None) -> WanPipeline:
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(**VAE_CONFIG)
    text_encoder = UMT5EncoderModel(UMT5Config(**TEXT_CONFIG))
    transformer = WanTransformer3DModel(**(transformer_config or TRANSFORMER_CONFIG))
    return WanPipeline(
        tokenizer=build_tokenizer(),
        text_encoder=text_encoder,
        transformer=transformer,
        vae=vae,
        scheduler=build_scheduler(),
    )


def count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
