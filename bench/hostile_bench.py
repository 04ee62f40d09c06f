"""Hostile text: a 40,000-character message (Slack's limit) through every heard-message path.

Each shape is built to defeat a naive parser: `&amp;` chains (one unescaping pass per level),
thousands of raw `<` (a link pattern tried to the end from each), `<<<<|`, runs of `*_~`,
backticks of every length, emoji codes glued together, links nested thousands deep. Every
shape goes, as one heard message, through
- search: `text.index_terms`, and the store's upsert (which indexes it) as the worker does;
- sentiment: `Mood.on_heard` (normalise, language, score, store with its daily aggregate).
Baseline: the same paths, same run, on an ordinary 40,000-character message (the labelled
Slack messages one after another). Target: at most 50 ms per path for every shape.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.sentiment_bench import _messages
from estafeta.payloads import HeardMessage
from workers.replies import SlackReplier
from workers.search import text
from workers.search.handlers import document_of
from workers.search.sqlite_store import SqliteSearchStore
from workers.sentiment.analysis import Analyzer
from workers.sentiment.handlers import Mood
from workers.sentiment.sqlite_scores import SqliteMoodStore
from workers.sqlite_ledger import SqliteLedger

SIZE = 40_000  # Slack's limit for a message's text
TARGET_MS = 50.0


def _fit(unit: str, size: int = SIZE) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def shapes() -> dict[str, str]:
    """The ordinary message (first) and the hostile ones, each `SIZE` characters."""
    ordinary = _fit(" ".join(_messages()) + " ")
    depth = SIZE // 13
    return {
        "ordinary": ordinary,
        "amp_chain": "&" + "amp;" * ((SIZE - 4) // 4) + "lt;",
        "raw_lt": "<" * SIZE,
        "lt_bar": _fit("<<<<|"),
        "markers": _fit("*_~"),
        "backticks": _fit("``` `` `a"),
        "emoji_codes": _fit(":a::a:"),
        "nested_links": ("&lt;#C1|" * depth + "x" + "&gt;" * depth)[:SIZE],
        "escaped_mentions": _fit("&lt;@U1&gt;"),
        "words_and_markup": _fit("great *_launch_* :tada: &lt;@U1&gt; <https://x.io|docs> "),
    }


def _time(call: Callable[[int], object], rounds: int) -> list[float]:
    timings = []
    for n in range(rounds):
        started = time.perf_counter()
        call(n)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def run(workdir: Path, rounds: int = 7) -> dict[str, Any]:
    """Milliseconds per heard message, per path and shape, with ratios to the ordinary one."""
    search = SqliteSearchStore(workdir / "hostile-search.sqlite")
    replier = SlackReplier("http://127.0.0.1:9/", "xoxb-bench",  # never called: no alerts
                           SqliteLedger(workdir / "hostile-sentiment.sqlite"))
    mood = Mood(SqliteMoodStore(workdir / "hostile-sentiment.sqlite"), Analyzer(), replier)
    mood.on_heard(HeardMessage("T1", "C0", "1.000001", "U1", "warm-up: load the models",
                               "channel"))
    serial = iter(range(1, 10**9))

    def heard(body: str) -> HeardMessage:
        # A new message each time: a redelivery would be answered without any work.
        return HeardMessage("T1", "C1", f"{1.7e9 + next(serial):.6f}", "U1", body, "channel")

    paths: dict[str, Callable[[str], Callable[[int], object]]] = {
        "search_index_terms": lambda body: lambda n: text.index_terms(body),
        "search_upsert": lambda body: lambda n: search.upsert([document_of(heard(body))]),
        "sentiment_on_heard": lambda body: lambda n: mood.on_heard(heard(body)),
    }
    result: dict[str, Any] = {"characters": SIZE, "rounds": rounds, "target_ms": TARGET_MS}
    worst: dict[str, float] = {}
    bodies = shapes()  # built once: every path times the same messages
    for path, make in paths.items():
        rows: dict[str, Any] = {}
        for shape, body in bodies.items():
            timings = _time(make(body), rounds)
            rows[shape] = {"p50_ms": round(statistics.median(timings), 2),
                           "max_ms": round(max(timings), 2)}
        baseline = rows["ordinary"]["p50_ms"]
        for row in rows.values():
            row["vs_ordinary"] = round(row["p50_ms"] / baseline, 2) if baseline else None
        worst[path] = max(row["p50_ms"] for row in rows.values())
        result[path] = rows
        hostile = {s: r for s, r in rows.items() if s != "ordinary"}
        slowest = max(hostile, key=lambda s: hostile[s]["p50_ms"])
        print(f"  {path:19s} ordinary {baseline:6.2f} ms; slowest hostile {slowest} "
              f"{hostile[slowest]['p50_ms']:6.2f} ms (x{hostile[slowest]['vs_ordinary']})")
    result["worst_p50_ms"] = worst
    result["within_target"] = all(ms <= TARGET_MS for ms in worst.values())
    return result
