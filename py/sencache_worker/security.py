"""Who may reach a worker: CURVE keys, and the rule that a non-loopback `tcp://` endpoint needs them.

A key file holds one Z85 key (40 characters) on its first line; `sencache keys new` writes a pair:
`<name>.secret` (the worker's secret key, mode 0600, given to `--curve-secret`) and `<name>.public`
(the worker's public key, given to clients with `--curve-server-key`).

With `--curve-allow` the worker serves only the clients whose CURVE public keys it lists (`sencache keys new --name
client` makes a client's pair; the client connects with `--curve-client-key client.secret`): a ZAP handler on the
worker's context (RFC 27, `allow_list` below) answers each CURVE handshake, once per connection, so heartbeats and
requests of a connected client never pass through it; `AllowList` re-reads the listed files at most once a second.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
import time
from collections.abc import Collection
from pathlib import Path

import zmq
from zmq.utils import z85

Z85_KEY_LENGTH = 40
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
log = logging.getLogger("sencache_worker")
_TCP = re.compile(r"^tcp://(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:/]*)):(?P<port>[^/]+)$")


def is_remote_endpoint(endpoint: str) -> bool:
    """True for a `tcp://` endpoint other peers can reach: a wildcard, a non-loopback address or any host name but localhost."""
    if not endpoint.startswith("tcp://"):
        return False  # ipc://, inproc://: same host, protected by the file system
    m = _TCP.match(endpoint)
    if m is None:
        return True  # an interface name or something odd: assume it is reachable
    host = m.group("v6") or m.group("host") or ""
    if host.lower() == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # "*", "eth0", a host name


def read_key(path_or_key: str) -> bytes:
    """A Z85 key from a key file, or given inline (40 characters)."""
    text = path_or_key
    if len(path_or_key) != Z85_KEY_LENGTH or os.path.exists(path_or_key):
        try:
            with open(path_or_key, encoding="ascii") as f:
                text = f.readline().strip()
        except OSError as e:
            raise ValueError(f"cannot read the key file {path_or_key!r} ({e.strerror}); make one with `sencache keys new`") from None
    key = text.encode("ascii", "replace")
    if len(key) != Z85_KEY_LENGTH:
        raise ValueError(f"{path_or_key!r} does not hold a 40-character Z85 CURVE key; make one with `sencache keys new`")
    try:
        z85.decode(key)
    except Exception:
        raise ValueError(f"{path_or_key!r} is not a valid Z85 key; make one with `sencache keys new`") from None
    return key


_ALLOW_HINT = "make a client's pair with `sencache keys new --name client` and list its client.public"


def read_allow(paths: list[str]) -> frozenset[bytes]:
    """The client public keys of `--curve-allow`: each path a `.public` key file, or a folder whose `*.public` files are."""
    hint = _ALLOW_HINT
    keys: set[bytes] = set()
    for path in paths:
        if os.path.isdir(path):
            files = sorted(Path(path).glob("*.public"))
            if not files:
                raise ValueError(f"--curve-allow {path!r}: the folder holds no *.public files; {hint}")
        else:
            files = [Path(path)]
        for f in files:
            if f.name.endswith(".secret"):
                raise ValueError(f"--curve-allow {str(f)!r} is a secret key; give the client's .public file instead ({hint})")
            if not f.exists():
                raise ValueError(f"--curve-allow {str(f)!r}: no such file or folder; {hint}")
            try:
                keys.add(read_key(str(f)))
            except ValueError as e:
                raise ValueError(f"--curve-allow: {e}") from None
    return frozenset(keys)


class AllowList:
    """The client keys of `--curve-allow`, checked strictly at start (`read_allow`) and then re-read at most once every
    `max_age_s` when a handshake asks, so a `.public` file added to (or removed from) a listed folder counts for new
    connections within a second, without a restart. A file that cannot be read then is left out (fail closed) with one
    warning; connections already made are not affected. Only the ZAP thread reads it."""

    def __init__(self, paths: list[str], max_age_s: float = 1.0):
        self.paths = list(paths)
        self.max_age_s = max_age_s
        self.keys = read_allow(self.paths)
        self._read_at = time.monotonic()
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self):
        return iter(self.keys)

    def __contains__(self, key: object) -> bool:
        if time.monotonic() - self._read_at >= self.max_age_s:
            self._refresh()
        return key in self.keys

    def _refresh(self) -> None:
        keys: set[bytes] = set()
        for path in self.paths:
            for f in sorted(Path(path).glob("*.public")) if os.path.isdir(path) else [Path(path)]:
                try:
                    if not f.is_file():
                        raise ValueError(f"{str(f)!r} is gone")
                    keys.add(read_key(str(f)))
                except (ValueError, OSError) as e:
                    if str(f) not in self._warned:
                        self._warned.add(str(f))
                        log.warning("--curve-allow: leaving %s out: %s", f, e)
        if keys != self.keys:
            log.info("--curve-allow now lists %d client key(s)", len(keys))
        self.keys = frozenset(keys)
        self._read_at = time.monotonic()


def allow_list(ctx: zmq.Context, allowed: Collection[bytes]) -> threading.Thread:
    """Answer the ZAP requests of every CURVE socket of `ctx`: 200 for a client key in `allowed`, 400 otherwise.

    The REP socket is bound here, before the caller binds its endpoint, so no handshake passes unchecked; the thread
    then owns it, blocks in recv between handshakes, and ends when `ctx` is terminated."""
    zap = ctx.socket(zmq.REP)
    zap.setsockopt(zmq.LINGER, 0)
    zap.bind(ZAP_ENDPOINT)
    thread = threading.Thread(target=_serve_zap, args=(zap, allowed), name="zap", daemon=True)
    thread.start()
    return thread


def _serve_zap(zap: zmq.Socket, allowed: Collection[bytes]) -> None:
    # Nothing but the context's end leaves this loop (curve_server also makes libzmq refuse clients when no handler
    # answers), and a request that cannot be judged is refused.
    refused: set[bytes] = set()
    try:
        while True:
            frames = zap.recv_multipart()
            # version, request id, domain, address, routing id, mechanism, credentials... (RFC 27)
            request_id = frames[1] if len(frames) > 1 else b""
            key = z85.encode(frames[6]) if len(frames) > 6 and frames[5] == b"CURVE" and len(frames[6]) == 32 else b""
            try:
                ok = bool(key) and key in allowed
            except Exception:  # pragma: no cover - AllowList reads files and logs its own errors
                log.exception("--curve-allow: could not check a client key; refusing it")
                ok = False
            zap.send_multipart([b"1.0", request_id, b"200" if ok else b"400", b"OK" if ok else b"client key not allowed",
                                key if ok else b"", b""])
            if not ok and key not in refused and len(refused) < 1000:  # once per key: a refused client may keep retrying
                refused.add(key)
                address = frames[3].decode("ascii", "replace") if len(frames) > 3 else "?"
                log.warning("refused a CURVE client from %s: its public key %s is not in --curve-allow", address,
                            key.decode("ascii") or "(none)")
    except zmq.ContextTerminated:
        pass
    finally:
        zap.close(linger=0)


def curve_server(sock: zmq.Socket, secret: bytes, allowed: Collection[bytes] | None = None) -> str:
    """Make `sock` a CURVE server with `secret`; returns the public key clients need. With `allowed`, only those client
    keys complete the handshake (a ZAP handler on the socket's context; call this before `sock.bind`)."""
    if not zmq.has("curve"):  # pragma: no cover - pyzmq wheels ship libsodium
        raise RuntimeError("this libzmq was built without CURVE; install pyzmq from its wheel")
    if allowed is not None:
        allow_list(sock.context, allowed)
        # With a domain and ZAP_ENFORCE_DOMAIN, libzmq refuses the handshake when no ZAP handler answers, instead of
        # letting the client in: should the handler's thread ever end, the worker fails closed.
        sock.setsockopt(zmq.ZAP_DOMAIN, b"sencache")
        sock.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)
        log.info("CURVE allow-list on: %d client key(s) from --curve-allow", len(allowed))
    public = zmq.curve_public(secret)
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_server = True
    return public.decode("ascii")


def check_endpoint(endpoint: str, curve: bool, insecure: bool) -> None:
    """Refuse a reachable endpoint without CURVE, unless the user said --insecure."""
    if is_remote_endpoint(endpoint) and not curve and not insecure:
        raise ValueError(
            f"{endpoint} is reachable from other machines, and without CURVE anyone who reaches it can load models "
            "and stop the worker: pass --curve-secret (make keys with `sencache keys new`), bind 127.0.0.1 or ipc://, "
            "or pass --insecure on a network you trust"
        )
