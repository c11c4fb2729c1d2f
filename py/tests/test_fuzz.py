"""A short fuzz of a real worker (the full run is `python -m sencache_worker.fuzz --messages 100000`)."""

from __future__ import annotations

from sencache_worker import fuzz


def test_a_few_thousand_bad_messages_neither_kill_nor_go_unanswered(tiny_dir):
    report = fuzz.run(3000, None, str(tiny_dir), seed=7, reply_timeout_ms=20_000, log=None)
    assert report["alive"] and not report["worker_died"], report["stderr_tail"]
    assert report["missing_replies"] == []
    assert report["internal_errors"] == []
    assert report["codes"].get("bad_message", 0) > 500
    assert report["rss_mb_after"] - report["rss_mb_before"] < report["rss_slack_mb"]
