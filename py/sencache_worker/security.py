"""Who may reach a worker: CURVE keys, and the rule that a non-loopback `tcp://` endpoint needs them.

A key file holds one Z85 key (40 characters) on its first line; `sencache keys new` writes a pair:
`<name>.secret` (the worker's secret key, mode 0600, given to `--curve-secret`) and `<name>.public`
(the worker's public key, given to clients with `--curve-server-key`).
"""

from __future__ import annotations

import ipaddress
import os
import re

import zmq
from zmq.utils import z85

Z85_KEY_LENGTH = 40
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


def curve_server(sock: zmq.Socket, secret: bytes) -> str:
    """Make `sock` a CURVE server with `secret`; returns the public key clients need."""
    if not zmq.has("curve"):  # pragma: no cover - pyzmq wheels ship libsodium
        raise RuntimeError("this libzmq was built without CURVE; install pyzmq from its wheel")
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
