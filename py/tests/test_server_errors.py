"""Every bad input to the real worker gets its typed error and the worker keeps serving; what one request may
cost is bounded (`limits.py`), and the bounds are reported in `hello`."""

from __future__ import annotations

import os
import shutil

import msgpack
import numpy as np

from sencache_worker import protocol as P
from conftest import PY_DIR, SHAPE, Client, WorkerProc, encode_prompt, rng_latent


def _raw(client, frames) -> P.Reply:
    client.send_raw(frames)
    return client.recv()


def test_bad_inputs_each_get_their_typed_error(client, model):
    m = model["model"]
    c = encode_prompt(client, model, "a cat")["cond"]
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


def test_small_hardening_items(client, model, tiny_dir, tmp_path):
    """t range, branch, release of unknown handles, load "" / same folder spelled three ways / symlinks out, limits in hello."""
    m = model["model"]
    c = encode_prompt(client, model, "a red square")["cond"]
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


def test_what_the_worker_holds_is_bounded(tmp_path, tiny_dir):
    """max_models and max_held_handles: the load, encode_prompt or encode_image that would hold one more than the
    limit is too_large before any work (nothing is loaded or encoded), and releasing makes room again."""
    w = WorkerProc(tmp_path, "--limit", "max_models=1", "--limit", "max_held_handles=2", name="held").start()
    c = Client(w.endpoint)
    try:
        limits = c.ok("hello", client="t", protocols=[1]).result["limits"]
        assert (limits["max_models"], limits["max_held_handles"]) == (1, 2)
        m = c.ok("load", source=str(tiny_dir)).result["model"]
        assert c.ok("load", source=str(tiny_dir)).result["model"] == m  # the same model again holds nothing more
        err = c.call("load", source=str(tiny_dir), dtype="float16").error  # the same folder with other options: a second model
        assert err is not None and err.code == P.TOO_LARGE and "max_models" in err.message, err
        conds = [c.ok("encode_prompt", model=m, text=t).result["cond"] for t in ("a", "b")]
        err = c.call("encode_prompt", model=m, text="c").error
        assert err is not None and err.code == P.TOO_LARGE and "max_held_handles" in err.message, err
        image = P.tensor("image", np.zeros((8, 8, 3), np.uint8))
        err = c.call("encode_image", [image], model=m, seed=0, height=32, width=32, num_frames=5).error
        assert err is not None and err.code == P.TOO_LARGE, err  # checked before the model is asked (t2v would say bad_args)
        assert c.call("encode_prompt", model="m9", text="c").error.code == P.UNKNOWN_MODEL  # an unknown model says so first
        assert c.ok("stats").result["conds"] == 2
        assert c.ok("release", handles=conds[:1]).result["released"] == 1
        assert c.ok("encode_prompt", model=m, text="c").result["cond"]
        assert c.ok("release", handles=[m]).result["released"] == 1
        assert c.ok("load", source=str(tiny_dir), dtype="float16").result["model"] != m
    finally:
        c.close()
        w.stop()
