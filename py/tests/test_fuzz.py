"""A short fuzz of a real worker (the full run is `python -m sencache_worker.fuzz --messages 100000`)."""

from __future__ import annotations

from sencache_worker import fuzz, fuzz_messages


def test_a_few_thousand_bad_messages_neither_kill_nor_go_unanswered(tiny_dir):
    report = fuzz.run(3000, None, str(tiny_dir), seed=7, reply_timeout_ms=20_000, log=None)
    assert report["alive"] and not report["worker_died"], report["stderr_tail"]
    assert report["missing_replies"] == []
    assert report["internal_errors"] == []
    assert report["codes"].get("bad_message", 0) > 500
    assert report["rss_mb_after"] - report["rss_mb_before"] < report["rss_slack_mb"]


def test_the_fuzzer_never_sends_a_valid_shutdown():
    """Regression: "bad id" picked op shutdown with id 2**64 - 1 (a valid id), and the worker under fuzz exited 0
    at ~6,800 messages of the seed-0 run (the "death" of the first 100,000-message attempt)."""
    import random

    import msgpack

    fz = fuzz_messages.Fuzzer(random.Random(0), "m1.abcdef", "c2.abcdef", (1, 8, 3, 4, 4))
    assert fuzz_messages.defuse([msgpack.packb({"v": 1, "op": "shutdown", "id": 2**64 - 1})]) != [msgpack.packb({"v": 1, "op": "shutdown", "id": 2**64 - 1})]
    for _ in range(12_000):
        frames, _kind = fz.message()
        try:
            h = msgpack.unpackb(frames[0], raw=False, strict_map_key=False)
        except Exception:
            continue
        if isinstance(h, dict) and h.get("op") == "shutdown":
            mid = h.get("id")
            assert not (isinstance(mid, int) and not isinstance(mid, bool) and mid >= 1), h
