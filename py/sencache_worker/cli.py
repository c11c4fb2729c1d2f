"""`python -m sencache_worker`: the worker's command line, from arguments to a running Worker."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from . import limits as L
from . import protocol as P
from . import security
from .devices import device_arg
from .server import Worker

log = logging.getLogger("sencache_worker")

DEBUG_ENV = "SENCACHE_WORKER_DEBUG"


def parse_cli(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sencache_worker", description="sencache denoiser worker (ZeroMQ ROUTER).")
    p.add_argument("--endpoint", required=True, help="ZeroMQ endpoint to bind, e.g. ipc:///tmp/sencache.sock or tcp://*:5555")
    p.add_argument("--device", type=device_arg, default="cpu", help="compute device: cpu (default), cuda, cuda:N or auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--max-message-bytes", type=int, default=P.DEFAULT_MAX_MESSAGE_BYTES,
                   help="largest accepted message, in tensor bytes (default 1 GiB)")
    p.add_argument("--max-batch-items", type=int, default=64, help="most denoise items merged into one forward")
    p.add_argument("--batching", choices=["merge", "request"], default="merge",
                   help="merge: waiting denoise requests of one model and shape share a forward (faster under concurrency; a row "
                        "may differ by ~1e-6 with what else is in the batch); request: one forward per request, so a sample's "
                        "result never depends on what else is in flight (bit-identical under concurrency)")
    p.add_argument("--limit", action="append", default=[], metavar="NAME=N",
                   help="raise or lower one request bound (see proto/SPEC.md, Limits), e.g. --limit max_frames=513")
    p.add_argument("--curve-secret", default=None, metavar="FILE",
                   help="the worker's CURVE secret key file (from `sencache keys new`): only clients that know its public key can talk to it")
    p.add_argument("--curve-allow", action="append", default=[], metavar="PATH",
                   help="serve only the clients whose CURVE public key is listed: a client's .public file, or a folder of "
                        "*.public files (repeatable; needs --curve-secret; re-read at most once a second, so keys come and go without a restart)")
    p.add_argument("--insecure", action="store_true",
                   help="allow a tcp:// endpoint reachable from other machines without CURVE (anyone who reaches it can use it)")
    p.add_argument("--log-level", default="INFO", help="stderr log level (default INFO)")
    p.add_argument("--debug-delay-ms", type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def worker_from_args(args: argparse.Namespace, cls=None, **extra):
    """The worker the CLI asked for (of class `cls`, default Worker), with SIGTERM / SIGINT stopping it; None
    (after logging why) when an option is invalid."""
    cls = cls or Worker
    # Test-only slow-down of every forward, honoured only with SENCACHE_WORKER_DEBUG=1 (flag or env,
    # so a test can slow a worker that the CLI spawns).
    debug = os.environ.get(DEBUG_ENV) == "1"
    delay = (args.debug_delay_ms or int(os.environ.get("SENCACHE_WORKER_DEBUG_DELAY_MS", "0"))) if debug else 0
    try:
        secret = security.read_key(args.curve_secret) if args.curve_secret else None
        if args.curve_allow and secret is None:
            raise ValueError("--curve-allow lists the CURVE client keys a worker serves, so it needs CURVE: pass --curve-secret "
                             "<name>.secret too (make one with `sencache keys new`)")
        allowed = security.AllowList(args.curve_allow) if args.curve_allow else None
        limits = L.Limits.parse(args.limit)
        security.check_endpoint(args.endpoint, secret is not None, args.insecure)
    except ValueError as e:
        log.error("%s", e)
        return None
    worker = cls(args.endpoint, args.device, args.threads, args.max_message_bytes, args.max_batch_items, delay,
                 curve_secret=secret, curve_allow=allowed, batching=args.batching, limits=limits, **extra)

    def stop(signum, _frame):
        log.info("signal %d: stopping", signum)
        worker.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return worker


def main(argv: list[str] | None = None) -> int:
    args = parse_cli(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="sencache-worker %(levelname)s %(message)s")
    worker = worker_from_args(args)
    return 2 if worker is None else worker.run()
