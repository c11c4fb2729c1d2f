"""Batch-invariant denoise on CPU: a row's output must not depend on how many rows share its forward.

Measured with torch 2.15 on CPU (float32): `linear` on M rows gives each row exactly the bits it gets in a large
batch once M >= 4 with one thread and M >= 12 with two; below that the BLAS takes another kernel path and a row
differs by ~1e-6. In a video transformer only the per-sample linears (the timestep embedding: M = batch) are that
small, so a sample alone (batch 2: cond + uncond) and the same sample merged with others (batch 16) differed by
~3e-6 per forward, 1.6e-5 after 10 steps. Padding every linear input to at least MIN_ROWS rows (zeros, sliced off
again) puts both on the large-M path: merged and one-at-a-time forwards are then bit-identical. Token linears have
M = batch x tokens, far above MIN_ROWS for real models, so they are untouched; the padded ones cost nothing.
"""

from __future__ import annotations

import torch

MIN_ROWS = 16  # >= the measured thresholds (4 with one thread, 12 with two), a multiple of both
# The modules that embed one vector per sample (Wan's time / text / image embedder, the timestep MLP of the others).
PER_SAMPLE_EMBEDDERS = frozenset({"WanTimeTextImageEmbedding", "TimestepEmbedding", "PixArtAlphaCombinedTimestepSizeEmbeddings"})


def pad_small_linears(model: torch.nn.Module, min_rows: int = MIN_ROWS) -> int:
    """Make every nn.Linear of `model` compute at least `min_rows` rows and every convolution at least 2 samples
    (a convolution differs at batch 1 only, also at Wan 2.1's real patch-embedding shape); returns how many were
    wrapped."""
    n = 0
    for module in model.modules():
        if getattr(module, "_sencache_padded", False):
            continue
        if type(module).__name__ in PER_SAMPLE_EMBEDDERS:
            module.forward = _padded_samples(module.forward, min_rows)
        elif isinstance(module, torch.nn.Linear):
            module.forward = _padded(module.forward, min_rows)
        elif isinstance(module, (torch.nn.Conv2d, torch.nn.Conv3d)):
            module.forward = _padded_batch(module.forward, 2)
        else:
            continue
        module._sencache_padded = True
        n += 1
    return n


def _padded_samples(forward, multiple: int):
    """A per-sample embedder (timestep, text) run on a batch padded to a multiple of `multiple` samples: its
    element-wise ops (SiLU, adds) then see whole vectors for every sample, as in a large batch, whatever the width
    (a width that is not a multiple of the SIMD width leaves a scalar tail at the end of a small batch)."""

    def padded(*args, **kwargs):
        # Wan 2.2 TI2V passes per-token timesteps flattened to samples x timestep_seq_len rows; the rest has one per sample.
        seq = kwargs.get("timestep_seq_len") or 1
        b = next((a.shape[0] for a in (*args, *kwargs.values()) if torch.is_tensor(a) and a.dim()), 0) // seq
        size = -(-b // multiple) * multiple
        if b == 0 or size == b:
            return forward(*args, **kwargs)

        def pad(a):
            if torch.is_tensor(a) and a.dim() and a.shape[0] in (b, b * seq):
                rows = size if a.shape[0] == b else size * seq
                return torch.cat([a, a.new_zeros(rows - a.shape[0], *a.shape[1:])])
            return a

        def cut(o):
            if torch.is_tensor(o) and o.dim() and o.shape[0] == size:
                return o[:b]
            return tuple(cut(x) for x in o) if isinstance(o, tuple) else o

        return cut(forward(*(pad(a) for a in args), **{k: pad(v) for k, v in kwargs.items()}))

    return padded


def _padded_batch(forward, min_batch: int):
    def padded(x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        if b >= min_batch or b == 0:
            return forward(x)
        return forward(torch.cat([x, x.new_zeros(min_batch - b, *x.shape[1:])]))[:b]

    return padded


def _padded(forward, min_rows: int):
    def padded(x: torch.Tensor) -> torch.Tensor:
        k = x.shape[-1]
        m = x.numel() // k if k else 0
        if m >= min_rows or m == 0:
            return forward(x)
        flat = torch.cat([x.reshape(m, k), x.new_zeros(min_rows - m, k)])
        out = forward(flat)[:m]
        return out.reshape(*x.shape[:-1], out.shape[-1])

    return padded


def make_batch_invariant(pipe) -> int:
    """Pad the small linears and convolutions of the pipeline's transformer(s) (`transformer`, `transformer_2`)."""
    return sum(pad_small_linears(m) for m in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None))
               if m is not None)
