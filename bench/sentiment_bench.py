"""Sentiment benchmarks: scoring throughput per process, and `/mood` over 1,000,000 messages.

1. Scoring: the shipped labelled messages (Spanish and English, 5-40 words), scored one by
   one and in batches with `Analyzer`, then stored with their daily aggregates. Baseline: the
   same messages through plain VADER, which knows English only.
2. `/mood`: 1,000,000 generated scores over 90 days, 5 teams and 40 channels, stored in
   batches with their daily aggregates, once in a SQLite file and once in a throwaway
   PostgreSQL database (created and dropped here; `BENCH_POSTGRES` names the server); then the
   summary (averages, shares, trend, worst day and its worst message) for 7, 30 and 90 days,
   the two backends asked in turn so that both see the same noise, and the chart. Baselines:
   a primary-key lookup in the same store, and PostgreSQL against SQLite in the same run.
   Target: `/mood` over 90 days within 30 ms at p99 on either backend.
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from estafeta.migrate import migrate
from estafeta.payloads import Context
from estafeta.postgres import scratch_database
from estafeta.settings import Settings
from estafeta.stores import open_stores
from workers.sentiment.analysis import Analyzer
from workers.sentiment.chart import render
from workers.sentiment.handlers import parse_request, summarise
from workers.sentiment.postgres_scores import PostgresMoodStore
from workers.sentiment.scores import Day, MoodStore, Scored
from workers.sentiment.sqlite_scores import SqliteMoodStore

DAY = 86400.0
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
MOOD_TARGET_P99_MS = 30.0


def _messages() -> list[str]:
    texts = []
    for name in ("slack_en.csv", "slack_es.csv"):
        data = resources.files("workers.sentiment").joinpath("data", name).read_text("utf-8")
        texts += [row["text"] for row in csv.DictReader(data.splitlines())]
    return texts


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def scoring(workdir: Path, rounds: int = 5, batch: int = 500) -> dict[str, Any]:
    """Messages per second through the analyzer, alone and with storage."""
    texts = _messages()
    analyzer = Analyzer()
    analyzer.score_many(texts[:50])  # load the language model and lexicons
    vader = SentimentIntensityAnalyzer()
    # Every round sees new texts (a suffix), so per-word caches cannot make it look faster.
    single, batched, stored, baseline = [], [], [], []
    store = SqliteMoodStore(workdir / "scoring.sqlite")
    for round_ in range(rounds):
        corpus = [f"{t} ({round_})" for t in texts]
        started = time.perf_counter()
        for text in corpus:
            analyzer.score(text)
        single.append(_rate(len(corpus), time.perf_counter() - started))
        corpus = [f"{t} [{round_}]" for t in texts]
        started = time.perf_counter()
        analyzer.score_many(corpus)
        batched.append(_rate(len(corpus), time.perf_counter() - started))
        corpus = [f"{t} <{round_}>" for t in texts]
        started = time.perf_counter()
        for start in range(0, len(corpus), batch):
            chunk = corpus[start:start + batch]
            scores = analyzer.score_many(chunk)
            store.put_many(Scored("T1", "C1", f"{1.7e9 + round_ * 1e4 + start + n:.6f}",
                                  "U1", s.compound, s.lang, True)
                           for n, s in enumerate(scores))
        stored.append(_rate(len(corpus), time.perf_counter() - started))
        started = time.perf_counter()
        for text in texts:
            vader.polarity_scores(text)
        baseline.append(_rate(len(texts), time.perf_counter() - started))
    result = {
        "messages_per_round": len(texts), "rounds": rounds,
        "one_by_one_per_s": statistics.median(single),
        "batched_per_s": statistics.median(batched),
        "batched_and_stored_per_s": statistics.median(stored),
        "plain_vader_per_s": statistics.median(baseline),
    }
    result["batched_vs_plain_vader"] = round(result["batched_per_s"]
                                             / result["plain_vader_per_s"], 2)
    print(f"  scoring: one by one {result['one_by_one_per_s']:,.0f}/s, batched "
          f"{result['batched_per_s']:,.0f}/s, batched and stored "
          f"{result['batched_and_stored_per_s']:,.0f}/s; plain VADER "
          f"{result['plain_vader_per_s']:,.0f}/s")
    return result


@contextmanager
def throwaway_database() -> Iterator[str]:
    """The URL of a new database with the sentiment schema migrated, dropped afterwards."""
    with scratch_database(POSTGRES, "estafeta_bench") as url:
        migrate(Settings(database_url=url), ["sentiment"])
        yield url


def _generated(messages: int, now: float) -> Iterator[list[Scored]]:
    """The same `messages` scores on every call, in batches of 20,000."""
    rng = random.Random(7)
    chunk = 20_000
    for start in range(0, messages, chunk):
        yield [Scored(f"T{n % 5}", f"C{n % 40}", f"{now - rng.random() * 90 * DAY:.6f}",
                      f"U{rng.randrange(300)}", max(-1.0, min(1.0, rng.gauss(0.1, 0.45))),
                      "es" if n % 3 else "en", True)
               for n in range(start, min(messages, start + chunk))]


def _load(name: str, store: MoodStore, messages: int, now: float) -> dict[str, Any]:
    seconds = 0.0
    for batch in _generated(messages, now):
        started = time.perf_counter()
        store.put_many(batch)
        seconds += time.perf_counter() - started
    print(f"  {name}: stored {messages:,} scores with aggregates in {seconds:.0f} s "
          f"({messages / seconds:,.0f}/s)")
    return {"store_per_s": round(messages / seconds)}


def _pk_lookup(store: MoodStore) -> Callable[[], object]:
    """One primary-key read from the store's own connection: the floor of any query."""
    sql = "SELECT score FROM mood_messages WHERE team = ? AND channel = ? AND ts = ?"
    key = ("T1", "C1", "1.0")
    if isinstance(store, SqliteMoodStore):
        return lambda: store.db.execute(sql, key).fetchone()
    assert isinstance(store, PostgresMoodStore)

    def lookup() -> object:
        with store.database.connection() as db:
            return db.execute(sql.replace("?", "%s"), key).fetchone()
    return lookup


def _timed(call: Callable[[], object]) -> float:
    begun = time.perf_counter()
    call()
    return (time.perf_counter() - begun) * 1000


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 3)


def mood_latency(workdir: Path, messages: int = 1_000_000, queries: int = 200
                 ) -> dict[str, Any]:
    """`/mood` summary and chart latency over `messages` stored scores, on SQLite and (when
    its server answers) on PostgreSQL, with PostgreSQL's p99 as a ratio of SQLite's."""
    now = time.time()
    stores: dict[str, MoodStore] = {"sqlite": SqliteMoodStore(workdir / "mood.sqlite")}
    result: dict[str, Any] = {"messages": messages, "target_90d_p99_ms": MOOD_TARGET_P99_MS}
    result["sqlite"] = _load("SQLite", stores["sqlite"], messages, now)
    with ExitStack() as cleanup:
        try:
            url = cleanup.enter_context(throwaway_database())
        except psycopg.OperationalError as exc:
            print(f"  PostgreSQL not reachable at {POSTGRES} ({exc}): SQLite only")
        else:
            moods = open_stores(Settings(database_url=url), "sentiment").moods
            assert isinstance(moods, PostgresMoodStore)
            stores["postgresql"] = moods
            result["postgresql"] = _load("PostgreSQL", moods, messages, now)
            with moods.database.connection() as db:
                db.execute("ANALYZE")  # what autovacuum does after a load this size
        _summaries(stores, queries, result)
    return result


def _summaries(stores: dict[str, MoodStore], queries: int, result: dict[str, Any]) -> None:
    context = Context(team="T1", channel="C1", user="U1", channel_type="channel",
                      source="slash")
    for name, store in stores.items():
        lookup = _pk_lookup(store)
        result[name]["pk_lookup_ms"] = round(statistics.median(
            _timed(lookup) for _ in range(queries)), 4)
    for days in (7, 30, 90):
        request = parse_request(f"{days}d", context, "en")
        timings: dict[str, list[float]] = {name: [] for name in stores}
        answers: dict[str, dict[str, Any]] = {}
        for _ in range(queries):
            for name, store in stores.items():
                begun = time.perf_counter()
                answers[name] = summarise(store, request, time.time())
                timings[name].append((time.perf_counter() - begun) * 1000)
        data = answers["sqlite"]
        for name, other in answers.items():  # the same summary, whichever the backend
            assert other["messages"] == data["messages"], (name, other["messages"])
        series = [Day(d["day"], d["messages"], d["average"], d["positive"], d["negative"])
                  for d in data["series"]]
        begun = time.perf_counter()
        render(series, f"{days} days", "en")
        chart_ms = (time.perf_counter() - begun) * 1000
        result.setdefault("chart_ms", {})[f"{days}d"] = round(chart_ms, 1)
        for name in stores:
            result[name][f"{days}d"] = {
                "messages_in_period": data["messages"],
                "summary_p50_ms": round(statistics.median(timings[name]), 3),
                "summary_p99_ms": _p99(timings[name]),
            }
        line = ", ".join(f"{name} p50 {result[name][f'{days}d']['summary_p50_ms']} ms"
                         f" p99 {result[name][f'{days}d']['summary_p99_ms']} ms"
                         for name in stores)
        print(f"  /mood {days}d over {data['messages']:,} messages of one channel: {line};"
              f" chart {chart_ms:.0f} ms")
    if "postgresql" in stores:
        result["postgresql_vs_sqlite_p99"] = {
            f"{days}d": round(result["postgresql"][f"{days}d"]["summary_p99_ms"]
                              / result["sqlite"][f"{days}d"]["summary_p99_ms"], 2)
            for days in (7, 30, 90)}
    result["90d_p99_within_target"] = {
        name: result[name]["90d"]["summary_p99_ms"] <= MOOD_TARGET_P99_MS for name in stores}
    print(f"  /mood 90d p99 within {MOOD_TARGET_P99_MS:.0f} ms: "
          f"{result['90d_p99_within_target']}"
          + (f"; PostgreSQL/SQLite p99 {result['postgresql_vs_sqlite_p99']}"
             if "postgresql" in stores else ""))
