"""The real worker process over real ZeroMQ: every op, equality with the pipeline's own code, every error."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import msgpack
import numpy as np
import pytest
import torch
import zmq

from sencache_worker import protocol as P
from conftest import PY_DIR, Client, WorkerProc, rng_latent, worker_env

SHAPE = (1, 4, 2, 4, 4)  # the tiny model's latent at 32x32, 5 frames


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


def encode(client, model, text, msl=None):
    args = {"max_sequence_length": msl} if msl else {}
    return client.ok("encode_prompt", model=model["model"], text=text, **args).result


def test_encode_prompt_uses_the_pipeline_encoder(client, model, pipe):
    from diffusers.pipelines.wan.pipeline_wan import prompt_clean

    text = "a  red cat &amp; a dog"
    res = encode(client, model, text)
    assert res["tokens"] == len(pipe.tokenizer(prompt_clean(text)).input_ids) == 7  # a red cat & a dog </s>
    assert res["cond"] != encode(client, model, "a red cat")["cond"]


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


def _direct(pipe, x, ts, texts, msl=16):
    embeds = torch.cat([pipe.encode_prompt(t, do_classifier_free_guidance=False, max_sequence_length=msl)[0]
                        for t in texts])
    with torch.no_grad():
        return pipe.transformer(hidden_states=torch.from_numpy(x), timestep=torch.tensor(ts, dtype=torch.float32),
                                encoder_hidden_states=embeds, return_dict=False)[0].numpy()


def test_denoise_equals_a_direct_transformer_call(client, model, pipe):
    c1, c2 = encode(client, model, "a blue ball")["cond"], encode(client, model, "")["cond"]
    x = rng_latent((2, *SHAPE[1:]), 1)
    items = [P.DenoiseItem(c1, 987.5, "cond"), P.DenoiseItem(c2, 250, "uncond")]
    rep = client.ok("denoise", [P.tensor("x", x)], model=model["model"], items=items)
    assert rep.result == {"items": 2}
    out = rep.get("out").array
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, _direct(pipe, x, [987.5, 250.0], ["a blue ball", ""]), rtol=1e-5, atol=1e-5)


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
    cond, uncond = encode(client, model, "a red square", 16)["cond"], encode(client, model, "", 16)["cond"]
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
    c = encode(client, model, "a dog")["cond"]
    before = client.ok("stats").result
    assert set(before) == {"messages", "denoise_requests", "denoise_items", "forwards", "errors", "models", "conds"}
    assert client.call("release", handles=[c, "c999.zzzzzz"]).error.code == P.UNKNOWN_HANDLE  # all or nothing
    assert client.ok("release", handles=[c]).result == {"released": 1}
    after = client.ok("stats").result
    assert after["conds"] == before["conds"] - 1 and after["messages"] == before["messages"] + 3
    x = rng_latent(SHAPE)
    err = client.call("denoise", [P.tensor("x", x)], model=model["model"], items=[P.DenoiseItem(c, 1.0, "cond")]).error
    assert err.code == P.UNKNOWN_HANDLE


# -- every bad input gets its typed error, and the worker keeps serving ------------------------------------------------


def _raw(client, frames) -> P.Reply:
    client.send_raw(frames)
    return client.recv()


def test_bad_inputs_each_get_their_typed_error(client, model):
    m = model["model"]
    c = encode(client, model, "a cat")["cond"]
    item = [P.DenoiseItem(c, 500.0, "cond")]
    errors_before = client.ok("stats").result["errors"]
    nan = rng_latent(SHAPE)
    nan[0, 0, 0, 0, 0] = np.nan
    cases = [
        (P.BAD_DTYPE, lambda: client.call("denoise", [P.tensor("x", rng_latent(SHAPE).astype(np.float64))], model=m, items=item)),
        (P.BAD_SHAPE, lambda: client.call("denoise", [P.tensor("x", rng_latent((1, 3, 2, 4, 4)))], model=m, items=item)),
        (P.BAD_SHAPE, lambda: client.call("denoise", [P.tensor("x", rng_latent((1, 4, 2, 3, 4)))], model=m, items=item)),
        (P.BAD_SHAPE, lambda: client.call("decode", [P.tensor("latents", rng_latent((1, 5, 2, 4, 4)))], model=m)),
        (P.NON_FINITE, lambda: client.call("denoise", [P.tensor("x", nan)], model=m, items=item)),
        (P.UNKNOWN_MODEL, lambda: client.call("denoise", [P.tensor("x", rng_latent(SHAPE))], model="m9.nope", items=item)),
        (P.UNKNOWN_MODEL, lambda: client.call("encode_prompt", model="m9.nope", text="x")),
        (P.UNKNOWN_HANDLE, lambda: client.call("denoise", [P.tensor("x", rng_latent(SHAPE))], model=m,
                                               items=[P.DenoiseItem("c1.other", 1.0, "cond")])),
        (P.BAD_ARGS, lambda: client.call("prepare_latents", model=m, seed="one", height=32, width=32, num_frames=5)),
        # image-to-video ops on a text-to-video model, and an unknown image handle
        (P.BAD_ARGS, lambda: client.call("encode_image", [P.tensor("image", np.zeros((8, 8, 3), np.uint8))], model=m,
                                         seed=1, height=32, width=32, num_frames=5)),
        (P.BAD_SHAPE, lambda: client.call("encode_image", [P.tensor("image", np.zeros((8, 8, 4), np.uint8))], model=m,
                                          seed=1, height=32, width=32, num_frames=5)),
        (P.UNKNOWN_HANDLE, lambda: client.call("denoise", [P.tensor("x", rng_latent(SHAPE))], model=m,
                                               items=[P.DenoiseItem(c, 1.0, "cond", image="i9.nope")])),
        (P.UNKNOWN_HANDLE, lambda: client.call("prepare_latents", model=m, seed=1, height=32, width=32, num_frames=5,
                                               image="i9.nope")),
        # a frame rate on a model that is not conditioned on it (only LTX-Video is), and one out of range
        (P.BAD_ARGS, lambda: client.call("denoise", [P.tensor("x", rng_latent(SHAPE))], model=m,
                                         items=[P.DenoiseItem(c, 1.0, "cond", fps=12.0)])),
        (P.BAD_ARGS, lambda: client.call("denoise", [P.tensor("x", rng_latent(SHAPE))], model=m,
                                         items=[P.DenoiseItem(c, 1.0, "cond", fps=0.0)])),
        (P.TOO_LARGE, lambda: client.call("echo", [P.tensor("big", np.zeros(150_000, np.float32)),
                                                   P.tensor("big2", np.zeros(150_000, np.float32))])),
        (P.UNKNOWN_OP, lambda: _raw(client, [msgpack.packb({"v": 1, "op": "teleport", "id": 77})])),
        (P.UNSUPPORTED_VERSION, lambda: _raw(client, [msgpack.packb({"v": 9, "op": "ping", "id": 78})])),
        (P.UNSUPPORTED_VERSION, lambda: client.call("hello", client="old", protocols=[0])),
        (P.BAD_MESSAGE, lambda: _raw(client, [b"\x93garbage"])),
        (P.BAD_MESSAGE, lambda: _raw(client, [msgpack.packb(
            {"v": 1, "op": "denoise", "id": 79, "tensors": [{"name": "x", "dtype": "float32", "shape": [1, 4, 2, 4, 4]}]}
        ), b"\0" * 100])),  # truncated frame
        (P.BAD_MESSAGE, lambda: _raw(client, [msgpack.packb(
            {"v": 1, "op": "denoise", "id": 80, "tensors": [{"name": "x", "dtype": "float32", "shape": [4]}]})])),
    ]
    for code, send in cases:
        rep = send()
        assert not rep.ok and rep.error.code == code, (code, rep.error)
        assert client.ok("ping").ok  # still serving
    garbage = _raw(client, [b"\xc1"])
    assert (garbage.op, garbage.id) == ("unknown", 0)
    assert client.ok("stats").result["errors"] == errors_before + len(cases) + 1


# -- batching and heartbeats (a worker that sleeps before each forward: test-only, needs an env var) ---------------


@pytest.fixture(scope="module")
def slow_worker(tmp_path_factory, tiny_dir):
    w = WorkerProc(tmp_path_factory.mktemp("slow"), "--debug-delay-ms", "1500",
                   env=worker_env(SENCACHE_WORKER_DEBUG="1")).start()
    c = Client(w.endpoint)
    assert c.call("hello", client="pytest", protocols=[1]).ok
    w.client, w.model = c, c.ok("load", source=str(tiny_dir)).result["model"]
    yield w
    c.close()
    w.stop()


def test_waiting_denoise_requests_share_one_forward_and_pings_are_answered(slow_worker, pipe):
    c, m = slow_worker.client, slow_worker.model
    cond = c.ok("encode_prompt", model=m, text="a green tree", max_sequence_length=16).result["cond"]
    xs = [rng_latent(SHAPE, s) for s in range(3)]
    ts = [900.0, 500.0, 100.0]
    c.send(P.request("denoise", 1, [P.tensor("x", xs[0])], model=m, items=[P.DenoiseItem(cond, ts[0], "cond")]))
    time.sleep(0.4)  # the first forward is now running (sleeping); the next two wait in the queue
    for i in (1, 2):
        c.send(P.request("denoise", 1 + i, [P.tensor("x", xs[i])], model=m, items=[P.DenoiseItem(cond, ts[i], "cond")]))
    t0 = time.monotonic()
    c.send(P.request("ping", 50))
    first = c.recv()
    assert first.op == "ping" and first.id == 50 and time.monotonic() - t0 < 1.0  # heartbeat during a forward
    replies = {r.id: r for r in (c.recv() for _ in range(3))}
    assert sorted(replies) == [1, 2, 3]
    for i in range(3):
        want = _direct(pipe, xs[i], [ts[i]], ["a green tree"])
        np.testing.assert_allclose(replies[i + 1].get("out").array, want, rtol=1e-5, atol=1e-5)
    s = c.ok("stats").result
    assert s["denoise_requests"] == 3 and s["denoise_items"] == 3 and s["forwards"] == 2
    # merging is batch-invariant on CPU (invariance.py): the two merged rows equal each row computed alone, bit for bit
    for i in (1, 2):
        alone = c.ok("denoise", [P.tensor("x", xs[i])], model=m, items=[P.DenoiseItem(cond, ts[i], "cond")]).get("out").array
        np.testing.assert_array_equal(replies[i + 1].get("out").array, alone)


# -- lifecycle ------------------------------------------------------------------------------------------------------


def test_shutdown_op_exits_0(tmp_path):
    w = WorkerProc(tmp_path).start()
    c = Client(w.endpoint)
    try:
        assert c.call("hello").ok
        assert c.call("shutdown").ok
        assert w.proc.wait(20) == 0
    finally:
        c.close()
        w.stop()


def test_sigterm_exits_0(tmp_path):
    w = WorkerProc(tmp_path).start()
    c = Client(w.endpoint)
    try:
        assert c.call("hello").ok
        w.proc.send_signal(signal.SIGTERM)
        assert w.proc.wait(20) == 0
    finally:
        c.close()
        w.stop()


def test_a_crash_prints_a_traceback_and_exits_non_zero():
    proc = subprocess.run([sys.executable, "-m", "sencache_worker", "--endpoint", "bogus://nowhere"],
                          cwd=str(PY_DIR), env=worker_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr and "ZMQError" in proc.stderr


def test_an_oversized_frame_is_dropped_at_the_transport(worker, client):
    """ZMQ_MAXMSGSIZE: a frame over the limit drops the connection before it is buffered; the worker serves on."""
    big = Client(worker.endpoint, timeout_ms=1500)
    big.send(P.request("echo", 5, [P.tensor("big", np.zeros(300_000, np.float32))]))
    with pytest.raises(zmq.Again):
        big.recv()
    assert big.call("ping").ok  # the DEALER reconnected; the message was lost, the worker was not
    assert client.ok("ping").ok
    big.sock.close()


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

def test_small_hardening_items(client, model, tiny_dir, tmp_path):
    """t range, branch, release of unknown handles, load "" / same folder spelled three ways / symlinks out, limits in hello."""
    m = model["model"]
    c = encode(client, model, "a red square")["cond"]
    x = P.tensor("x", rng_latent(SHAPE))
    for t, branch in [(-1, "cond"), (1e30, "cond"), (1001, "cond"), (500, "bogus")]:
        rep = client.call("denoise", [x], model=m, items=[P.DenoiseItem(c, t, branch)])
        assert rep.error.code == P.BAD_ARGS, (t, branch)
    assert client.ok("denoise", [x], model=m, items=[P.DenoiseItem(c, 1000, "uncond")]).ok
    assert client.call("release", handles=["c9.nope"]).error.code == P.UNKNOWN_HANDLE
    assert client.call("load", source="").error.code == P.BAD_ARGS
    rel = os.path.relpath(tiny_dir, PY_DIR)  # the worker runs in py/
    assert {client.ok("load", source=s).result["model"] for s in (str(tiny_dir), str(tiny_dir) + "/", rel)} == {m}
    missing = client.call("load", source=str(tmp_path / "nothing-here")).error
    empty = client.call("load", source=str(tmp_path)).error
    assert missing.code == empty.code == P.UNKNOWN_MODEL
    evil = tmp_path / "evil"
    shutil.copytree(tiny_dir, evil, symlinks=True)
    target = evil / "scheduler" / "scheduler_config.json"
    target.unlink()
    target.symlink_to("/etc/hostname")
    assert client.call("load", source=str(evil)).error.code == P.LOAD_FAILED
    limits = client.ok("hello", client="t", protocols=[1]).result["limits"]
    assert limits["max_sequence_length"] >= 512 and limits["max_items"] >= 2
    assert client.call("encode_prompt", model=m, text="x", max_sequence_length=10**7).error.code == P.TOO_LARGE
    assert client.call("prepare_latents", model=m, seed=0, height=100_000, width=100_000, num_frames=5).error.code == P.TOO_LARGE
    assert client.call("time_embedding", model=m, timesteps=[1.0] * 20_000).error.code == P.TOO_LARGE


def test_the_media_ops_are_bounded(tmp_path):
    """encode_image, encode_video and read_media: over a limit is too_large before the work (sizes in the
    request) or while decoding (frames a file holds, their size); the limits are reported in hello."""
    import io

    from PIL import Image

    small = {"max_source_pixels": 100, "max_media_bytes": 4000, "max_media_files": 2, "max_source_frames": 3,
             "max_label_chars": 8, "max_pixels": 4096}
    w = WorkerProc(tmp_path, *[a for k, v in small.items() for a in ("--limit", f"{k}={v}")], name="lim").start()
    c = Client(w.endpoint)

    def too_large(op, tensors, name, **args):
        err = c.call(op, tensors, **args).error
        assert err is not None and err.code == P.TOO_LARGE and name in err.message, (op, name, err)

    def png(h, w_):
        buf = io.BytesIO()
        Image.fromarray(np.full((h, w_, 3), 60, np.uint8)).save(buf, "PNG")
        return np.frombuffer(buf.getvalue(), np.uint8)

    try:
        limits = c.ok("hello", client="t", protocols=[1]).result["limits"]
        assert {k: limits[k] for k in small} == small
        image = P.tensor("image", np.zeros((11, 10, 3), np.uint8))
        too_large("encode_image", [image], "max_source_pixels", model="m", seed=0, height=32, width=32, num_frames=9)
        image = P.tensor("image", np.zeros((8, 8, 3), np.uint8))
        too_large("encode_image", [image], "max_pixels", model="m", seed=0, height=128, width=64, num_frames=9)
        video = P.tensor("video", np.zeros((2, 16, 20, 3), np.uint8))
        too_large("encode_video", [video], "max_pixels", format="png", scale=4)  # 64 x 80 upscaled
        too_large("encode_video", [video], "max_label_chars", format="png", title="x" * 9)
        assert c.ok("encode_video", [video], format="png", title="x" * 8).result["frames"] == 2
        files = [P.tensor(f"file{i}", png(4, 4)) for i in range(3)]
        too_large("read_media", files, "max_media_files", names=["a.png", "b.png", "c.png"], height=8, width=8, num_frames=1)
        too_large("read_media", [P.tensor("file0", np.zeros(4001, np.uint8))], "max_media_bytes", names=["a.png"], height=8,
                  width=8, num_frames=1)
        too_large("read_media", [P.tensor("file0", png(11, 10))], "max_source_pixels", names=["a.png"], height=8, width=8,
                  num_frames=1)
        gif = io.BytesIO()
        frames = [Image.fromarray(np.full((4, 4, 3), 40 * i, np.uint8)) for i in range(4)]
        frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=50)
        too_large("read_media", [P.tensor("file0", np.frombuffer(gif.getvalue(), np.uint8))], "max_source_frames",
                  names=["g.gif"], height=4, width=4, num_frames=2)
        assert c.ok("read_media", files[:2], names=["a.png", "b.png"], height=4, width=4, num_frames=2).ok
    finally:
        c.close()
        w.stop()
