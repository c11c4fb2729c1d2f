"""The CURVE client allow-list (`--curve-allow`): key files and folders read with errors that name the file, the option
refused without `--curve-secret`, and the ZAP handler letting only listed client keys through a real CURVE ROUTER."""

from __future__ import annotations

import logging

import pytest
import zmq

from sencache_worker import security
from sencache_worker.cli import parse_cli, worker_from_args


def _pair(folder, name):
    public, secret = zmq.curve_keypair()
    (folder / f"{name}.public").write_bytes(public + b"\n")
    (folder / f"{name}.secret").write_bytes(secret + b"\n")
    return public, secret


def test_files_and_folders_of_public_keys(tmp_path):
    a, _ = _pair(tmp_path, "a")
    listed = tmp_path / "allowed"
    listed.mkdir()
    b, _ = _pair(listed, "b")
    c, _ = _pair(listed, "c")
    (listed / "c.secret").unlink()
    (listed / "notes.txt").write_text("not a key")  # only *.public files of a folder count
    assert security.read_allow([str(tmp_path / "a.public"), str(listed)]) == {a, b, c}


@pytest.mark.parametrize("case, pattern", [
    ("missing", r"nope\.public.*no such file.*sencache keys new --name client"),
    ("empty folder", r"empty.*holds no \*\.public files.*sencache keys new"),
    ("secret", r"a\.secret.*is a secret key.*\.public"),
    ("junk", r"junk\.public.*40-character Z85.*sencache keys new"),
    ("bad z85", r"bad\.public.*not a valid Z85 key.*sencache keys new"),
])
def test_bad_allow_paths_name_the_file_and_the_command(tmp_path, case, pattern):
    _pair(tmp_path, "a")
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.public").write_text("hello\n")
    (tmp_path / "bad.public").write_text("~" * 40 + "\n")
    path = {"missing": "nope.public", "empty folder": "empty", "secret": "a.secret", "junk": "junk.public", "bad z85": "bad.public"}[case]
    with pytest.raises(ValueError, match=pattern):
        security.read_allow([str(tmp_path / path)])


def test_a_listed_folder_is_re_read_so_keys_come_and_go_without_a_restart(tmp_path, caplog):
    listed = tmp_path / "allowed"
    listed.mkdir()
    a, _ = _pair(listed, "a")
    allowed = security.AllowList([str(listed)], max_age_s=0.0)
    b, _ = _pair(tmp_path, "b")
    assert a in allowed and b not in allowed
    (tmp_path / "b.public").rename(listed / "b.public")
    assert b in allowed
    (listed / "a.public").unlink()
    (listed / "junk.public").write_text("not a key\n")
    with caplog.at_level(logging.WARNING, logger="sencache_worker"):
        assert a not in allowed and b in allowed
        assert b in allowed  # the bad file is left out and warned about once
    assert caplog.text.count("leaving") == 1 and "junk.public" in caplog.text
    assert len(allowed) == 1 and list(allowed) == [b]


def test_the_list_is_re_read_at_most_once_a_second(tmp_path):
    a, _ = _pair(tmp_path, "a")
    allowed = security.AllowList([str(tmp_path / "a.public")])
    (tmp_path / "a.public").unlink()
    assert a in allowed  # within max_age_s of the last read
    allowed._read_at -= 1.0
    assert a not in allowed  # a listed file that is gone: its key is out (fail closed)


def test_allow_without_a_secret_is_a_startup_error(tmp_path, caplog):
    _pair(tmp_path, "client")
    args = parse_cli(["--endpoint", "tcp://127.0.0.1:5999", "--curve-allow", str(tmp_path / "client.public")])
    with caplog.at_level(logging.ERROR, logger="sencache_worker"):
        assert worker_from_args(args) is None
    assert "--curve-allow" in caplog.text and "--curve-secret" in caplog.text


def test_an_unreadable_allow_file_is_a_startup_error(tmp_path, caplog):
    _, secret = _pair(tmp_path, "worker")
    args = parse_cli(["--endpoint", "tcp://127.0.0.1:5999", "--curve-secret", str(tmp_path / "worker.secret"),
                      "--curve-allow", str(tmp_path / "gone.public")])
    with caplog.at_level(logging.ERROR, logger="sencache_worker"):
        assert worker_from_args(args) is None
    assert "gone.public" in caplog.text and "sencache keys new" in caplog.text


def _client(ctx, server_public, pair):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_serverkey = server_public
    s.curve_publickey, s.curve_secretkey = pair
    return s


def test_only_listed_client_keys_complete_the_handshake():
    ctx = zmq.Context()
    try:
        server_public, server_secret = zmq.curve_keypair()
        listed, stranger = zmq.curve_keypair(), zmq.curve_keypair()
        router = ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        security.curve_server(router, server_secret, frozenset({listed[0]}))  # AllowList is a Collection too
        port = router.bind_to_random_port("tcp://127.0.0.1")
        assert router.getsockopt(zmq.ZAP_ENFORCE_DOMAIN) == 1  # no handler answering: refused, not let in
        bad = _client(ctx, server_public, stranger)
        monitor = bad.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        bad.connect(f"tcp://127.0.0.1:{port}")
        bad.send(b"let me in")
        assert monitor.poll(5000), "no handshake:error:auth for a key that is not listed"
        good = _client(ctx, server_public, listed)
        good.connect(f"tcp://127.0.0.1:{port}")
        for _ in range(3):  # several requests over the one handshake
            good.send(b"hi")
            assert router.poll(5000)
            ident, body = router.recv_multipart()
            assert body == b"hi"
            router.send_multipart([ident, b"ok"])
            assert good.recv() == b"ok"
        assert not router.poll(100)  # the refused client's message never arrived
        for s in (monitor, bad, good, router):
            s.close(linger=0)
    finally:
        ctx.term()  # ends the ZAP thread (ContextTerminated), which closes its socket
