"""The real worker process over real ZeroMQ: every op, each equal to the pipeline's own code."""

from __future__ import annotations

import json

import numpy as np
import torch

from sencache_worker import protocol as P
from conftest import SHAPE, direct_forward, encode_prompt, rng_latent


def test_hello_is_the_readiness_reply(worker):
    rep = worker.hello
    assert rep.ok and rep.id == 1 and rep.op == "hello"
    r = rep.result
    assert r["protocol"] == 1 and r["worker"] == "sencache-worker" and r["pid"] == worker.proc.pid
    assert r["device"] == "cpu" and r["torch"] == torch.__version__ and r["max_message_bytes"] == 1_000_000


def test_ping_and_echo(client):
    assert client.ok("ping").result == {}
    bf16 = P.tensor("b", np.array([0x3F80, 0x4000], np.uint16), "bfloat16")
    nan = P.tensor("n", np.array([np.nan, 1.0], np.float32))  # echo does not judge values
    rep = client.ok("echo", [bf16, nan])
    assert [(t.name, t.dtype) for t in rep.tensors] == [("b", "bfloat16"), ("n", "float32")]
    np.testing.assert_array_equal(rep.tensors[0].array, bf16.array)


def test_load_reports_the_pipeline(model, client, tiny_dir):
    assert model["family"] == "wan" and model["pipeline_class"] == "WanPipeline"
    assert model["scheduler"]["class_name"] == "FlowMatchEulerDiscreteScheduler"
    assert model["scheduler"]["config"]["shift"] == 3.0
    assert model["latent"] == {"channels": 4, "spatial_scale": 8, "temporal_scale": 4}
    assert model["defaults"] == {"height": 32, "width": 32, "num_frames": 5, "guidance_scale": 5.0,
                                 "num_inference_steps": 10, "max_sequence_length": 16, "fps": 16.0,
                                 "scheduler": "FlowMatchEulerDiscreteScheduler"}
    assert model["experts"] == [{"name": "transformer", "t_min": 0.0, "t_max": 1000.0}]
    assert model["guidance"] == {"scale": 5.0, "scale_2": None, "dynamic": False}
    assert model["geometry"] == {"patch": [1, 2, 2], "spatial_multiple": 16, "frame_rule": {"multiple": 4, "plus": 1},
                                 "max_latent": [32, 64, 64], "fixed_size": None}
    assert model["set_timesteps"] == {"sigmas": None, "mu": None} and model["image_to_video"] is False
    assert client.ok("load", source=str(tiny_dir)).result["model"] == model["model"]  # same source, same handle


def test_encode_video_returns_the_file_as_a_frame(client):
    video = np.zeros((5, 16, 16, 3), np.uint8)
    video[:, :, :, 0] = np.arange(5, dtype=np.uint8)[:, None, None] * 50
    rep = client.ok("encode_video", [P.tensor("video", video)], format="mp4", fps=8, scale=2)
    data = rep.get("data").array
    assert data.dtype == np.uint8 and data.ndim == 1 and bytes(data[4:8]) == b"ftyp"
    assert {k: rep.result[k] for k in ("format", "width", "height", "frames", "fps", "pad_bottom", "pad_right")} == {
        "format": "mp4", "width": 32, "height": 32, "frames": 5, "fps": 8.0, "pad_bottom": 0, "pad_right": 0}
    gif = client.ok("encode_video", [P.tensor("video", video)], format="gif", fps=8).get("data").array
    assert bytes(gif[:6]) == b"GIF89a"
    assert client.call("encode_video", [P.tensor("video", video)], format="avi").error.code == P.BAD_ARGS
    assert client.call("encode_video", [P.tensor("video", video[None])], format="mp4").error.code == P.BAD_SHAPE
    assert client.call("encode_video", [P.tensor("video", video)], format="mp4", fps=0).error.code == P.BAD_ARGS


def test_load_failures(client, tmp_path):
    assert client.call("load", source=str(tmp_path / "missing")).error.code == P.UNKNOWN_MODEL
    assert client.call("load", source="nobody/no-such-model").error.code == P.UNKNOWN_MODEL
    assert client.call("load", source=str(tmp_path)).error.code == P.UNKNOWN_MODEL  # no model_index.json: as if absent
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    err = client.call("load", source=str(tmp_path)).error
    assert err.code == P.LOAD_FAILED and "WanPipeline" in err.message
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    assert client.call("load", source=str(tmp_path)).error.code == P.LOAD_FAILED  # no components


def test_encode_prompt_uses_the_pipeline_encoder(client, model, pipe):
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    text = "a  red cat &amp; a dog"
    res = encode_prompt(client, model, text)
    assert res["tokens"] == len(pipe.tokenizer(prompt_clean(text)).input_ids) == 7  # a red cat & a dog </s>
    assert res["cond"] != encode_prompt(client, model, "a red cat")["cond"]


def test_prepare_latents_is_the_pipelines_draw(client, model, pipe):
    rep = client.ok("prepare_latents", model=model["model"], seed=42, height=32, width=64, num_frames=9)
    got = rep.get("latents").array
    want = pipe.prepare_latents(1, 4, 32, 64, 9, torch.float32, torch.device("cpu"),
                                torch.Generator().manual_seed(42), None)
    assert got.shape == (1, 4, 3, 4, 8) and got.dtype == np.float32
    np.testing.assert_array_equal(got, want.numpy())
    err = client.call("prepare_latents", model=model["model"], seed=1, height=30, width=32, num_frames=5).error
    assert err.code == P.BAD_ARGS
    frames = client.call("prepare_latents", model=model["model"], seed=1, height=32, width=32, num_frames=6).error
    assert frames.code == P.BAD_ARGS
    # The example is this model's nearest valid counts, not Wan 2.1's 81.
    assert "81" not in frames.message and "5 or 9" in frames.message, frames.message


def test_denoise_equals_a_direct_transformer_call(client, model, pipe):
    c1, c2 = encode_prompt(client, model, "a blue ball")["cond"], encode_prompt(client, model, "")["cond"]
    x = rng_latent((2, *SHAPE[1:]), 1)
    items = [P.DenoiseItem(c1, 987.5, "cond"), P.DenoiseItem(c2, 250, "uncond")]
    rep = client.ok("denoise", [P.tensor("x", x)], model=model["model"], items=items)
    assert rep.result == {"items": 2}
    out = rep.get("out").array
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, direct_forward(pipe, x, [987.5, 250.0], ["a blue ball", ""]), rtol=1e-5, atol=1e-5)


def test_time_embedding_is_the_transformers_temb(client, model, pipe):
    emb = client.ok("time_embedding", model=model["model"], timesteps=[999, 500.5, 0]).get("emb").array
    ce = pipe.transformer.condition_embedder
    with torch.no_grad():
        want = ce.time_embedder(ce.timesteps_proj(torch.tensor([999.0, 500.5, 0.0])))
    assert emb.shape == (3, 24)
    np.testing.assert_allclose(emb, want.numpy(), rtol=1e-6, atol=1e-6)


def test_decode_matches_the_pipeline_and_encode_media_round_trips(client, model, pipe):
    z = rng_latent(SHAPE, 2)
    video = client.ok("decode", [P.tensor("latents", z)], model=model["model"]).get("video").array
    assert video.shape == (5, 32, 32, 3) and video.dtype == np.uint8
    vae = pipe.vae
    mean = torch.tensor(vae.config.latents_mean).view(1, 4, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, 4, 1, 1, 1)
    with torch.no_grad():
        frames = pipe.video_processor.postprocess_video(vae.decode(torch.from_numpy(z) * std + mean, return_dict=False)[0])
    np.testing.assert_array_equal(video, (frames[0] * 255).round().astype(np.uint8))
    lat = client.ok("encode_media", [P.tensor("video", video)], model=model["model"]).get("latents").array
    assert lat.shape == SHAPE and np.isfinite(lat).all()
    err = client.call("encode_media", [P.tensor("video", video[:4])], model=model["model"]).error
    assert err.code == P.BAD_SHAPE


def test_a_python_loop_over_the_worker_reproduces_pipeline_call(client, model, pipe):
    """The loop the TS side runs, driven here with diffusers' scheduler: equal to WanPipeline.__call__."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    steps, guidance, seed = 4, 4.5, 7
    want = pipe(prompt="a red square", negative_prompt="", height=32, width=32, num_frames=5,
                num_inference_steps=steps, guidance_scale=guidance, generator=torch.Generator().manual_seed(seed),
                output_type="latent", max_sequence_length=16).frames
    m = model["model"]
    cond, uncond = encode_prompt(client, model, "a red square", 16)["cond"], encode_prompt(client, model, "", 16)["cond"]
    x = torch.from_numpy(client.ok("prepare_latents", model=m, seed=seed, height=32, width=32,
                                   num_frames=5).get("latents").array.copy())
    sched = FlowMatchEulerDiscreteScheduler.from_config(model["scheduler"]["config"])
    sched.set_timesteps(steps)
    for t in sched.timesteps:
        xx = np.concatenate([x.numpy(), x.numpy()])
        items = [P.DenoiseItem(cond, float(t), "cond"), P.DenoiseItem(uncond, float(t), "uncond")]
        out = torch.from_numpy(client.ok("denoise", [P.tensor("x", xx)], model=m, items=items).get("out").array)
        pred = out[1:] + guidance * (out[:1] - out[1:])
        x = sched.step(pred, t, x, return_dict=False)[0]
    np.testing.assert_allclose(x.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)


def test_release_and_stats(client, model):
    c = encode_prompt(client, model, "a dog")["cond"]
    before = client.ok("stats").result
    assert set(before) == {"messages", "denoise_requests", "denoise_items", "forwards", "errors", "models", "conds",
                           "forward_seconds"}
    assert client.call("release", handles=[c, "c999.zzzzzz"]).error.code == P.UNKNOWN_HANDLE  # all or nothing
    assert client.ok("release", handles=[c]).result == {"released": 1}
    after = client.ok("stats").result
    assert after["conds"] == before["conds"] - 1 and after["messages"] == before["messages"] + 3
    x = rng_latent(SHAPE)
    err = client.call("denoise", [P.tensor("x", x)], model=model["model"], items=[P.DenoiseItem(c, 1.0, "cond")]).error
    assert err.code == P.UNKNOWN_HANDLE


def test_read_media_decodes_files_into_frames(client):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(buf, "PNG")
    png = np.frombuffer(buf.getvalue(), np.uint8)
    rep = client.ok("read_media", [P.tensor("file0", png)], names=["a.png"], height=16, width=16, num_frames=5)
    video = rep.get("video").array
    assert video.shape == (5, 16, 16, 3) and (video == 90).all()
    err = client.call("read_media", [P.tensor("file0", np.frombuffer(b"nope", np.uint8))], names=["a.png"], height=8,
                      width=8, num_frames=1).error
    assert err.code == P.BAD_ARGS and "a.png cannot be read as an image" in err.message
    assert client.call("read_media", [], names=["a.png"], height=8, width=8, num_frames=1).error.code == P.BAD_ARGS


def test_image_handles_are_released(client, i2v_dir):
    """Regression (fuzz review): `release` counted an encode_image handle as unknown, so it released nothing and a
    calibration's [cond, uncond, image] release (calibrate-magcache.ts) leaked every handle of the sample."""
    loaded = client.ok("load", source=str(i2v_dir)).result
    m, d = loaded["model"], loaded["defaults"]
    size = dict(seed=0, height=d["height"], width=d["width"], num_frames=d["num_frames"])
    image = client.ok("encode_image", [P.tensor("image", np.zeros((16, 16, 3), np.uint8))], model=m, **size).result["image"]
    c = encode_prompt(client, {"model": m}, "a dog")["cond"]
    assert client.ok("release", handles=[c, image]).result == {"released": 2}
    assert client.call("prepare_latents", model=m, image=image, **size).error.code == P.UNKNOWN_HANDLE
    assert client.ok("release", handles=[m]).result == {"released": 1}


def test_wan22_ti2v_denoise_of_any_row_count_on_cpu(client, i2v_dir):
    """Regression (fuzz): with per-token timesteps (Wan 2.2 TI2V) the batch-invariance padding padded the flattened
    samples x tokens timesteps to a multiple of 16 and unflattened them into extra samples, so a denoise whose rows x
    tokens was not a multiple of 16 (here 1 or 3 rows of 8 tokens) failed with `internal`. Rows equal the rows alone."""
    loaded = client.ok("load", source=str(i2v_dir)).result
    m, d = loaded["model"], loaded["defaults"]
    size = dict(seed=0, height=d["height"], width=d["width"], num_frames=d["num_frames"])
    image = client.ok("encode_image", [P.tensor("image", np.full((16, 16, 3), 128, np.uint8))], model=m, **size).result["image"]
    shape = client.ok("prepare_latents", model=m, image=image, **size).get("latents").array.shape
    c = encode_prompt(client, {"model": m}, "a cat")["cond"]
    x = rng_latent((3, *shape[1:]))
    rows = [client.ok("denoise", [P.tensor("x", x[i:i + 1])], model=m, items=[P.DenoiseItem(c, 300.0 + i, "cond", image)])
            .get("out").array for i in range(3)]
    merged = client.ok("denoise", [P.tensor("x", x)], model=m,
                       items=[P.DenoiseItem(c, 300.0 + i, "cond", image) for i in range(3)]).get("out").array
    np.testing.assert_array_equal(merged, np.concatenate(rows))
