"""Fast checks of the procedural data set, the checker and the committed tiny Wan pipeline."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "py"))

from sencache_train import checker, dataset  # noqa: E402

MODEL = ROOT / "models" / "tiny-wan-t2v"


def test_dataset_is_deterministic_per_seed():
    a, sa = dataset.batch(3, 0, 4)
    b, sb = dataset.batch(3, 0, 4)
    c, _ = dataset.batch(4, 0, 4)
    assert a.shape == (4, dataset.FRAMES, dataset.SIZE, dataset.SIZE, 3) and a.dtype == np.float32
    assert np.array_equal(a, b) and sa == sb
    assert not np.array_equal(a, c)
    assert 0.0 <= a.min() and a.max() <= 1.0


def test_heldout_triples_never_in_training():
    assert dataset.HELDOUT_TRIPLES and not set(dataset.HELDOUT_TRIPLES) & set(dataset.TRAIN_TRIPLES)
    for i in range(50):
        _, s = dataset.clip(0, i)
        assert (s.colour, s.shape, s.motion) not in dataset.HELDOUT
        assert s.background != s.colour


def test_every_frame_keeps_the_whole_shape_inside_the_frame():
    """The shape sizes are set as large as the 11 px paths allow; no frame may clip the shape, or the
    checker's border-based background and boundary profile would read a cut shape."""
    rng = np.random.default_rng(3)
    for split_triples in (dataset.TRAIN_TRIPLES, dataset.HELDOUT_TRIPLES):
        for _ in range(400):
            spec = dataset.sample_spec(rng, split_triples)
            x = dataset.render(spec)
            bg = np.array(dataset.COLOURS[spec.background], np.float32)
            assert np.abs(checker.border(x) - bg).max() < 1e-6, spec


def test_checker_reads_dataset_clips():
    specs, reads = [], []
    for split in ("train", "heldout"):
        for i in range(30):
            x, s = dataset.clip(11, i, split)
            specs.append(s)
            reads.append(checker.read(x))
    res = checker.score(reads, specs)
    assert res["all"] >= 0.95, res


def test_committed_model_loads_and_generates():
    import torch
    from diffusers import WanPipeline

    torch.set_num_threads(2)
    pipe = WanPipeline.from_pretrained(str(MODEL))
    pipe.set_progress_bar_config(disable=True)
    cfg = json.loads((MODEL / "sencache.json").read_text())
    assert {"height", "width", "num_frames", "guidance_scale", "num_inference_steps", "max_sequence_length"} <= set(cfg)
    out = pipe(
        prompt=["a red square moving left on a blue background"],
        height=cfg["height"],
        width=cfg["width"],
        num_frames=cfg["num_frames"],
        num_inference_steps=4,
        guidance_scale=cfg["guidance_scale"],
        max_sequence_length=cfg["max_sequence_length"],
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    ).frames
    assert np.asarray(out).shape == (1, cfg["num_frames"], cfg["height"], cfg["width"], 3)
    assert np.isfinite(out).all()


def test_resume_stage_keeps_vae_and_normalisation_and_trains_the_transformer(tmp_path):
    """`train --resume`: a few steps on the committed pipeline; VAE and latent statistics untouched."""
    import torch
    from safetensors.torch import load_file

    from sencache_train import train

    out = tmp_path / "resumed"
    train.main(["--resume", str(MODEL), "--out", str(out), "--steps", "3", "--pool", "64", "--pool-offset", "64",
                "--batch", "4", "--warmup", "1", "--threads", "2", "--log", str(tmp_path / "log.txt")])
    old_vae = json.loads((MODEL / "vae" / "config.json").read_text())
    new_vae = json.loads((out / "vae" / "config.json").read_text())
    assert new_vae["latents_mean"] == old_vae["latents_mean"] and new_vae["latents_std"] == old_vae["latents_std"]
    meta = json.loads((out / "training.json").read_text())
    assert meta["dit_steps"] == 3 and meta["final"] and meta["args"]["resume"] == str(MODEL)
    assert meta["previous_stage"] == json.loads((MODEL / "training.json").read_text())

    def weights(d):
        files = sorted((d / "transformer").glob("*.safetensors"))
        return {k: v for f in files for k, v in load_file(str(f)).items()}

    a, b = weights(MODEL), weights(out)
    assert a.keys() == b.keys()
    assert any(not torch.equal(a[k], b[k]) for k in a), "the transformer did not change"
    va, vb = load_file(str(next((MODEL / "vae").glob("*.safetensors")))), load_file(str(next((out / "vae").glob("*.safetensors"))))
    assert all(torch.equal(va[k], vb[k]) for k in va), "the VAE changed"


def test_partial_prompts_keep_the_shape_and_use_only_known_words():
    full = "a red square moving left on a blue background"
    parts = dataset.partial_prompts(full)
    assert len(parts) == len(set(parts)) == 7 and full not in parts
    assert all(" square" in p and p.startswith("a ") for p in parts)
    assert "a red square on a blue background" in parts and "a square moving left" in parts and "a square" in parts
    words = set(dataset.VOCAB)
    assert all(set(p.split()) <= words for p in parts)
    with pytest.raises(ValueError):
        dataset.partial_prompts("a red square")


def test_training_with_partial_prompts_runs_and_records_the_share(tmp_path):
    """`--p-partial`: a few transformer steps with attribute-dropped prompts mixed in."""
    from sencache_train import train

    out = tmp_path / "partial"
    train.main(["--resume", str(MODEL), "--out", str(out), "--steps", "3", "--pool", "64", "--batch", "8",
                "--warmup", "1", "--threads", "2", "--p-partial", "0.5", "--log", str(tmp_path / "log.txt")])
    meta = json.loads((out / "training.json").read_text())
    assert meta["dit_steps"] == 3 and meta["args"]["p_partial"] == 0.5
