"""Writing a trained pipeline folder: the EMA weights through save_pretrained, `sencache.json` (the defaults the
SDK reads) and `training.json` (how it was trained) beside them, the saved configs tidied; written to a temporary
folder first, then moved into place.
"""
from __future__ import annotations

import json
import os
import shutil

from . import dataset, model as M

DEFAULTS = dict(guidance_scale=5.0, num_inference_steps=50)


def save(pipe, out: str, ema_tr, ema_te, meta: dict) -> None:
    tr, te = pipe.transformer, pipe.text_encoder
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    sv_tr = {k: v.clone() for k, v in tr.state_dict().items()}
    sv_te = {k: v.clone() for k, v in te.state_dict().items()}
    tr.load_state_dict(ema_tr)
    te.load_state_dict(ema_te)
    try:
        pipe.save_pretrained(tmp, safe_serialization=True)
    finally:
        tr.load_state_dict(sv_tr)
        te.load_state_dict(sv_te)
    cfg = dict(
        height=dataset.SIZE,
        width=dataset.SIZE,
        num_frames=dataset.FRAMES,
        guidance_scale=DEFAULTS["guidance_scale"],
        num_inference_steps=DEFAULTS["num_inference_steps"],
        max_sequence_length=M.MAX_SEQ,
    )
    tidy_saved(tmp, getattr(pipe, "_sencache_tokenizer_dir", None))
    with open(os.path.join(tmp, "sencache.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(tmp, "training.json"), "w") as f:
        json.dump(meta, f, indent=2)
    if os.path.exists(os.path.join(out, "sencache.json")):  # keep tuned defaults if already set
        with open(os.path.join(out, "sencache.json")) as f:
            old = json.load(f)
        with open(os.path.join(tmp, "sencache.json"), "w") as f:
            json.dump({**cfg, **{k: old[k] for k in ("guidance_scale", "num_inference_steps") if k in old}}, f, indent=2)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def tidy_saved(folder: str, tokenizer_dir: str | None) -> None:
    """Drop the load path diffusers records in saved configs; keep a resumed pipeline's tokenizer files as they were."""
    for root, _, files in os.walk(folder):
        for name in files:
            if not name.endswith(".json"):
                continue
            path = os.path.join(root, name)
            with open(path) as f:
                cfg = json.load(f)
            if isinstance(cfg, dict) and "_name_or_path" in cfg:
                del cfg["_name_or_path"]
                with open(path, "w") as f:
                    json.dump(cfg, f, indent=2, sort_keys=True)
                    f.write("\n")
    if tokenizer_dir is not None:
        shutil.rmtree(os.path.join(folder, "tokenizer"))
        shutil.copytree(tokenizer_dir, os.path.join(folder, "tokenizer"))


def meta(args, step, run, secs, final=False) -> dict:
    out = {"args": {k: v for k, v in vars(args).items() if k != "_previous"}, "dit_steps": step, "dit_loss_avg": run,
           "dit_seconds": round(secs), "final": final, "vae_eval": getattr(args, "_vae_eval", None)}
    if getattr(args, "_previous", None) is not None:
        out["previous_stage"] = args._previous
    return out
