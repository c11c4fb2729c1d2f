"""Shared fixtures and helpers: the tiny pipeline (built once per session), real worker processes, a DEALER client,
and the calls the worker tests share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

PY_DIR = Path(__file__).resolve().parents[1]
if str(PY_DIR) not in sys.path:
    sys.path.insert(0, str(PY_DIR))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from sencache_worker import protocol as P  # noqa: E402

REPO = PY_DIR.parent


def worker_env(**extra: str) -> dict:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(PY_DIR), OMP_WAIT_POLICY="PASSIVE", PYTHONUNBUFFERED="1", **extra)
    return env


class Client:
    """A DEALER speaking the protocol to one worker (tests only)."""

    def __init__(self, endpoint: str, timeout_ms: int = 60_000):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
        self.sock.connect(endpoint)
        self.next_id = 100

    def send(self, req: P.Request) -> None:
        self.sock.send_multipart(P.encode_request(req))

    def send_raw(self, frames: list) -> None:
        self.sock.send_multipart(frames)

    def recv(self) -> P.Reply:
        return P.decode_reply(self.sock.recv_multipart())

    def call(self, op: str, tensors=(), **args) -> P.Reply:
        self.next_id += 1
        self.send(P.request(op, self.next_id, list(tensors), **args))
        rep = self.recv()
        assert rep.id == self.next_id and rep.op == op
        return rep

    def ok(self, op: str, tensors=(), **args) -> P.Reply:
        rep = self.call(op, tensors, **args)
        assert rep.ok, f"{op} failed: {rep.error!r}"
        return rep

    def close(self):
        self.sock.close(linger=0)


class WorkerProc:
    def __init__(self, tmp: Path, *args: str, env: dict | None = None, name: str = "w"):
        self.endpoint = f"ipc://{tmp}/{name}.sock"
        self.stderr_path = tmp / f"{name}.stderr"
        self.args = args
        self.env = env or worker_env()
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProc":
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sencache_worker", "--endpoint", self.endpoint, "--threads", "1", *self.args],
            cwd=str(PY_DIR), env=self.env, stdout=subprocess.DEVNULL, stderr=self.stderr,
        )
        return self

    def stderr_text(self) -> str:
        self.stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    from sencache_fixtures import tiny

    out = tmp_path_factory.mktemp("tiny") / "wan-tiny"
    tiny.build(out)
    return out


@pytest.fixture(scope="session")
def pipe(tiny_dir):
    """The same tiny pipeline in this process: the ground truth the worker is compared with."""
    import torch
    from diffusers import DiffusionPipeline

    torch.set_num_threads(1)
    p = DiffusionPipeline.from_pretrained(str(tiny_dir), dtype=torch.float32)
    p.set_progress_bar_config(disable=True)
    return p


@pytest.fixture(scope="session")
def worker(tmp_path_factory):
    """A running worker (max message 1 MB). The client says hello before the process even exists: readiness."""
    tmp = tmp_path_factory.mktemp("main")
    w = WorkerProc(tmp, "--max-message-bytes", "1000000")
    client = Client(w.endpoint)
    client.send(P.hello_request(1, client="pytest"))
    w.start()
    t0 = time.monotonic()
    w.hello = client.recv()
    w.ready_after = time.monotonic() - t0
    w.client = client
    yield w
    client.close()
    w.stop()


@pytest.fixture()
def client(worker) -> Client:
    return worker.client


@pytest.fixture(scope="session")
def model(worker, tiny_dir) -> dict:
    return worker.client.ok("load", source=str(tiny_dir)).result


def rng_latent(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


SHAPE = (1, 4, 2, 4, 4)  # the tiny model's latent at 32x32, 5 frames


def encode_prompt(client: Client, model: dict, text: str, msl: int | None = None) -> dict:
    """The worker's `encode_prompt` result for `text` on the loaded tiny model."""
    args = {"max_sequence_length": msl} if msl else {}
    return client.ok("encode_prompt", model=model["model"], text=text, **args).result


def direct_forward(pipe, x: np.ndarray, ts, texts, msl: int = 16) -> np.ndarray:
    """The tiny pipeline's transformer called in this process on rows `x`: what the worker's `denoise` must equal."""
    import torch

    embeds = torch.cat([pipe.encode_prompt(t, do_classifier_free_guidance=False, max_sequence_length=msl)[0]
                        for t in texts])
    with torch.no_grad():
        return pipe.transformer(hidden_states=torch.from_numpy(x), timestep=torch.tensor(ts, dtype=torch.float32),
                                encoder_hidden_states=embeds, return_dict=False)[0].numpy()


@pytest.fixture(scope="session")
def i2v_dir(tmp_path_factory) -> Path:
    """A tiny image-to-video pipeline (Wan 2.2 TI2V-5B-style, the cheapest to build), built once."""
    from sencache_fixtures import families

    return families.build("wan2.2-ti2v-i2v", tmp_path_factory.mktemp("i2v") / "wan-ti2v-i2v")
