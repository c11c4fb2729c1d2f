"""GPU-ready load options and the wire dtype of denoise latents.

`apply_load_options` runs after an adapter loaded its pipeline: diffusers' CPU offload (enable_model_cpu_offload /
enable_sequential_cpu_offload, CUDA only: on a CPU device there is nothing to offload to, which the report says),
VAE tiling / slicing, and the wire dtype of denoise latents ("auto": bf16 or fp16 when the transformer runs in it,
else float32). The report is what the load result's `load_options` carries.

bf16 on the wire is lossless relative to the model: the adapter casts the float32 latent to the transformer's bf16
anyway (round to nearest even, as the TS edge does), and a bf16 output widens to float32 exactly.
"""

from __future__ import annotations

import numpy as np
import torch

OFFLOADS = ("none", "model", "sequential")
WIRE_DTYPES = ("auto", "float32", "bfloat16", "float16")


def apply_load_options(adapter, offload: str | None, vae_tiling: bool, vae_slicing: bool, wire_dtype: str | None) -> dict:
    pipe = adapter.pipe
    notes: list[str] = []
    applied = "none"
    offload = offload or "none"
    if offload != "none":
        if adapter.device.type != "cuda":
            notes.append(f"offload={offload} applies to a CUDA device; not applied on {adapter.device.type}")
        else:
            index = adapter.device.index or 0
            if offload == "model":
                pipe.enable_model_cpu_offload(gpu_id=index)
            else:
                pipe.enable_sequential_cpu_offload(gpu_id=index)
            applied = offload
    vae = getattr(pipe, "vae", None)
    tiling, slicing = (_vae_option(vae, what, on, notes) for what, on in (("tiling", vae_tiling), ("slicing", vae_slicing)))
    want = wire_dtype or "auto"
    tdtype = getattr(adapter, "tdtype", None) or getattr(getattr(adapter, "transformer", None), "dtype", torch.float32)
    if want == "auto":
        want = {torch.bfloat16: "bfloat16", torch.float16: "float16"}.get(tdtype, "float32")
    adapter.wire_dtype = want
    return {
        "dtype": str(tdtype).removeprefix("torch."),
        "device": str(adapter.device),
        "offload": applied,
        "vae_tiling": tiling,
        "vae_slicing": slicing,
        "wire_dtype": want,
        "notes": notes,
    }


def _vae_option(vae, what: str, on: bool, notes: list[str]) -> bool:
    """Turn on the VAE's tiling or slicing when asked and it has it (else a note); whether it is on."""
    if not on:
        return False
    if not hasattr(vae, f"enable_{what}"):
        notes.append(f"this VAE has no {what}")
        return False
    getattr(vae, f"enable_{what}")()
    return True


def wire_to_float32(array: np.ndarray, dtype: str) -> np.ndarray:
    """A denoise `x` as it came (float32, bf16 bit patterns as uint16, or float16) -> float32 (exact)."""
    if dtype == "float32":
        return array
    if dtype == "bfloat16":
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(np.float32)


def float32_to_wire(array: np.ndarray, dtype: str) -> np.ndarray:
    """A float32 output -> the wire dtype's array (bf16 as uint16 bit patterns, round to nearest even, as torch)."""
    if dtype == "float32":
        return array
    if dtype == "bfloat16":
        return torch.from_numpy(np.ascontiguousarray(array)).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    return array.astype(np.float16)
