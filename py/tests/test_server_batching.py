"""Batching and heartbeats in the real worker: waiting denoise requests share one forward, pings are answered
during it (a worker that sleeps before each forward: test-only, needs an env var)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from sencache_worker import protocol as P
from conftest import SHAPE, Client, WorkerProc, direct_forward, rng_latent, worker_env


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
        want = direct_forward(pipe, xs[i], [ts[i]], ["a green tree"])
        np.testing.assert_allclose(replies[i + 1].get("out").array, want, rtol=1e-5, atol=1e-5)
    s = c.ok("stats").result
    assert s["denoise_requests"] == 3 and s["denoise_items"] == 3 and s["forwards"] == 2
    assert s["forward_seconds"] >= 2 * 1.5  # both forwards were slowed by --debug-delay-ms 1500
    # merging is batch-invariant on CPU (invariance.py): the two merged rows equal each row computed alone, bit for bit
    for i in (1, 2):
        alone = c.ok("denoise", [P.tensor("x", xs[i])], model=m, items=[P.DenoiseItem(cond, ts[i], "cond")]).get("out").array
        np.testing.assert_array_equal(replies[i + 1].get("out").array, alone)
