"""The real worker's lifecycle: it exits 0 on `shutdown` and SIGTERM, a crash prints its traceback, and a frame
over the transport limit drops the connection, not the worker."""

from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest
import zmq

from sencache_worker import protocol as P
from conftest import PY_DIR, Client, WorkerProc, worker_env


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
