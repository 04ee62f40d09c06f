"""Sentiment benchmarks: scoring throughput per process, and `/mood` over 1,000,000 messages.

1. Scoring: the shipped labelled messages (Spanish and English, 5-40 words), scored one by
   one and in batches with `Analyzer`, then stored with their daily aggregates. Baseline: the
   same messages through plain VADER, which knows English only.
2. `/mood`: 1,000,000 generated scores over 90 days, 5 teams and 40 channels, stored in
   batches; then the summary (averages, shares, trend, worst day and its worst message) for
   7, 30 and 90 days, and the chart. Baseline: a primary-key lookup in the same file.
"""

from __future__ import annotations

import csv
import random
import statistics
import time
from importlib import resources
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from estafeta.payloads import Context
from workers.sentiment.analysis import Analyzer
from workers.sentiment.chart import render
from workers.sentiment.handlers import parse_request, summarise
from workers.sentiment.scores import Day, Scored
from workers.sentiment.sqlite_scores import SqliteMoodStore

DAY = 86400.0


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


def mood_latency(workdir: Path, messages: int = 1_000_000, queries: int = 200
                 ) -> dict[str, Any]:
    """`/mood` summary and chart latency over `messages` stored scores."""
    store = SqliteMoodStore(workdir / "mood.sqlite")
    rng = random.Random(7)
    now = time.time()
    started = time.perf_counter()
    chunk = 20_000
    for start in range(0, messages, chunk):
        store.put_many(
            Scored(f"T{n % 5}", f"C{n % 40}", f"{now - rng.random() * 90 * DAY:.6f}",
                   f"U{rng.randrange(300)}", max(-1.0, min(1.0, rng.gauss(0.1, 0.45))),
                   "es" if n % 3 else "en", True)
            for n in range(start, min(messages, start + chunk)))
    load_seconds = time.perf_counter() - started
    print(f"  stored {messages:,} scores with aggregates in {load_seconds:.0f} s "
          f"({messages / load_seconds:,.0f}/s)")
    result: dict[str, Any] = {"messages": messages,
                              "store_per_s": round(messages / load_seconds)}
    context = Context(team="T1", channel="C1", user="U1", channel_type="channel",
                      source="slash")
    lookups = []
    for _ in range(queries):
        begun = time.perf_counter()
        store.db.execute("SELECT score FROM mood_messages WHERE team = ? AND channel = ?"
                         " AND ts = ?", ("T1", "C1", "1.0")).fetchone()
        lookups.append((time.perf_counter() - begun) * 1000)
    result["pk_lookup_ms"] = round(statistics.median(lookups), 4)
    for days in (7, 30, 90):
        request = parse_request(f"{days}d", context, "en")
        timings, data = [], {}
        for _ in range(queries):
            begun = time.perf_counter()
            data = summarise(store, request, time.time())
            timings.append((time.perf_counter() - begun) * 1000)
        ordered = sorted(timings)
        series = [Day(d["day"], d["messages"], d["average"], d["positive"], d["negative"])
                  for d in data["series"]]
        begun = time.perf_counter()
        render(series, f"{days} days", "en")
        chart_ms = (time.perf_counter() - begun) * 1000
        result[f"{days}d"] = {
            "messages_in_period": data["messages"],
            "summary_p50_ms": round(statistics.median(ordered), 3),
            "summary_p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 3),
            "chart_ms": round(chart_ms, 1),
        }
        print(f"  /mood {days}d over {data['messages']:,} messages of one channel: summary "
              f"p50 {result[f'{days}d']['summary_p50_ms']} ms, p99 "
              f"{result[f'{days}d']['summary_p99_ms']} ms; chart {chart_ms:.0f} ms")
    return result
