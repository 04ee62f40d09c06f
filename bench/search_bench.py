"""Search benchmarks: indexing rate and query latency on a generated corpus, on SQLite and on
PostgreSQL in the same run.

The corpus is generated here, never shipped: messages of 5-25 words drawn with a Zipf-like
law from the English words of VADER's lexicon (shipped with vaderSentiment) and Spanish
forms derived from them, spread over teams, channels, people and a year of time. PostgreSQL
runs in a database made for the run and dropped after it (`BENCH_POSTGRES` names the server),
and answers the same queries as SQLite.
"""

from __future__ import annotations

import itertools
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from kombu import Connection, Producer

import routing
from bench.stats import percentiles
from estafeta.celery_config import celery_client
from estafeta.migrate import migrate
from estafeta.payloads import HeardMessage
from estafeta.postgres import Database, scratch_database
from estafeta.settings import Settings
from workers.search.postgres_store import PostgresSearchStore
from workers.search.query import Query, QueryError, parse
from workers.search.sqlite_store import SqliteSearchStore
from workers.search.store import Document, Scope, SearchStore

ROOT = Path(__file__).resolve().parents[1]
TEAMS = 5
CHANNELS = 40
BATCH = 1000  # documents per transaction in the small-batch run
BULK_BATCH = 10_000  # documents per transaction in the bulk run (imports, re-indexing)
_SPANISH_ENDINGS = ("", "s", "ción", "ado", "ando", "mente", "es")
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_BULK_PER_SECOND = 20_000
TARGET_P99_MS = 20.0


def vocabulary() -> list[str]:
    """English words from VADER's lexicon, and Spanish-looking forms of them."""
    import vaderSentiment

    lexicon = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
    english = [line.split("\t")[0] for line in lexicon.read_text(encoding="utf-8").splitlines()
               if line.split("\t")[0].isalpha()]
    rng = random.Random(7)
    spanish = [w + rng.choice(_SPANISH_ENDINGS) for w in english[::2]]
    words = english + spanish
    rng.shuffle(words)
    return words


class Corpus:
    """A reproducible stream of synthetic messages."""

    def __init__(self, count: int, seed: int = 1) -> None:
        self.count = count
        self.words = vocabulary()
        self.rng = random.Random(seed)
        weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(self.words))]
        self.cumulative = list(itertools.accumulate(weights))
        self.start = time.time() - 365 * 86400

    def text(self) -> str:
        """One message's words."""
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative,
                                          k=self.rng.randint(5, 25)))

    def documents(self) -> list[Document]:
        """All messages, oldest first."""
        step = 365 * 86400 / self.count
        return [
            Document(team=f"T{i % TEAMS}", channel=f"C{i % CHANNELS}",
                     ts=f"{self.start + i * step:.6f}", text=self.text(), user=f"U{i % 500}",
                     channel_type="channel" if i % 10 else "group")
            for i in range(self.count)
        ]

    def query(self) -> str:
        """A query of one to three words a person might look for (not the 100 commonest)."""
        while True:
            words = self.rng.choices(self.words[100:], cum_weights=[
                c - self.cumulative[99] for c in self.cumulative[100:]],
                k=self.rng.randint(1, 3))
            raw = " ".join(words)
            try:
                parse(raw)
            except QueryError:
                continue  # only stop words: a person would not search for that
            return raw


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def index_and_query(count: int, queries: int) -> dict[str, Any]:
    """Batched indexing rate and query latency on `count` messages, SQLite then PostgreSQL."""
    corpus = Corpus(count)
    print(f"  generating {count:,} messages …")
    documents = corpus.documents()
    workload = _workload(corpus, queries)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "search.sqlite"
        store = SqliteSearchStore(path)
        print("  SQLite …")
        small_batches = _index_rate(SqliteSearchStore(Path(tmp) / "small.sqlite"), documents,
                                    BATCH)
        for leftover in Path(tmp).glob("small.sqlite*"):
            leftover.unlink()
        bulk = _index_rate(store, documents, BULK_BATCH)
        # Baseline in the same run: the same rows through a plain SQLite table (no index).
        baseline = _plain_insert_rate(Path(tmp) / "plain.sqlite", documents[:200_000])
        latencies, filtered = _query_latencies(store, workload)
        # Point lookups by key: the cheapest read the store does, as a same-run baseline.
        lookups = []
        for document in corpus.rng.sample(documents, 500):
            t = time.perf_counter()
            store.db.execute("SELECT text FROM documents WHERE team = ? AND channel = ?"
                             " AND ts = ?", (document.team, document.channel,
                                             document.ts)).fetchone()
            lookups.append((time.perf_counter() - t) * 1000)
        size = sum(f.stat().st_size for f in Path(tmp).glob("search.sqlite*"))
    report: dict[str, Any] = {
        "messages": count,
        "batched_index_per_second": {str(BATCH): round(small_batches),
                                     str(BULK_BATCH): round(bulk)},
        "plain_insert_per_second": round(baseline),
        "index_vs_plain_insert": round(bulk / baseline, 3),
        "query_ms": percentiles(latencies),
        "query_with_filters_ms": percentiles(filtered),
        "key_lookup_ms": percentiles(lookups),
        "file_mib": round(size / 2**20, 1),
        "bytes_per_message": round(size / count),
        "peak_rss_mib": round(_rss_mib(), 1),
    }
    print("  PostgreSQL …")
    postgresql = _postgres(documents, workload, corpus.rng.sample(documents, 500))
    report["postgresql"] = postgresql
    report["postgresql_vs_sqlite"] = {
        "bulk_index_rate": round(postgresql["bulk_index_per_second"] / bulk, 2),
        "query_p50": round(postgresql["query_ms"]["p50"] / report["query_ms"]["p50"], 2),
        "query_p99": round(postgresql["query_ms"]["p99"] / report["query_ms"]["p99"], 2),
        "query_with_filters_p99": round(postgresql["query_with_filters_ms"]["p99"]
                                        / report["query_with_filters_ms"]["p99"], 2),
    }
    report["postgresql_targets"] = {
        f"bulk index >= {TARGET_BULK_PER_SECOND:,}/s":
            postgresql["bulk_index_per_second"] >= TARGET_BULK_PER_SECOND,
        f"query p99 <= {TARGET_P99_MS:g} ms": postgresql["query_ms"]["p99"] <= TARGET_P99_MS,
    }
    return report


Workload = tuple[list[tuple[Query, Scope]], list[tuple[Query, Scope]]]


def _workload(corpus: Corpus, queries: int) -> Workload:
    """The queries both engines answer: plain ones, and ones with `from:` and `after:`."""
    plain = [(parse(corpus.query()),
              Scope(f"T{corpus.rng.randrange(TEAMS)}", f"C{corpus.rng.randrange(CHANNELS)}"))
             for _ in range(queries)]
    filtered = [(parse(f"{corpus.query()} from:@U{corpus.rng.randrange(500)} after:2020-01-01"),
                 Scope("T1", "C1")) for _ in range(queries // 4)]
    return plain, filtered


def _query_latencies(store: SearchStore, workload: Workload) -> tuple[list[float], list[float]]:
    """Milliseconds per query of the workload's plain and filtered queries."""
    timings: tuple[list[float], list[float]] = ([], [])
    for queries, samples in zip(workload, timings, strict=True):
        for query, scope in queries:
            t = time.perf_counter()
            store.search(query, scope, 6)
            samples.append((time.perf_counter() - t) * 1000)
    return timings


@contextmanager
def throwaway_database() -> Iterator[str]:
    """The URL of a new, migrated database, dropped afterwards."""
    with scratch_database(POSTGRES, "estafeta_bench") as url:
        migrate(Settings(database_url=url))
        yield url


def _postgres(documents: list[Document], workload: Workload,
              sample: list[Document]) -> dict[str, Any]:
    """The same corpus, bulk transactions and queries on PostgreSQL."""
    with throwaway_database() as url:
        store = PostgresSearchStore(Database(url, "search"))
        bulk = _index_rate(store, documents, BULK_BATCH)
        # What autovacuum does after a bulk load (visibility map, statistics, the GIN index's
        # pending entries), done now rather than waited for.
        with psycopg.connect(url, autocommit=True) as db:
            started = time.perf_counter()
            db.execute("VACUUM (ANALYZE) search.documents, search.term_documents")
            vacuum = time.perf_counter() - started
            size = db.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'search' AND c.relkind = 'r'").fetchone()
        latencies, filtered = _query_latencies(store, workload)
        lookups = []
        with store.database.connection() as db:
            for document in sample:
                t = time.perf_counter()
                db.execute("SELECT text FROM documents WHERE team = %s AND channel = %s"
                           " AND ts = %s", (document.team, document.channel,
                                            document.ts)).fetchone()
                lookups.append((time.perf_counter() - t) * 1000)
    total = int(size[0]) if size and size[0] is not None else 0
    return {
        "bulk_index_per_second": round(bulk),
        "vacuum_analyze_s": round(vacuum, 1),
        "query_ms": percentiles(latencies),
        "query_with_filters_ms": percentiles(filtered),
        "key_lookup_ms": percentiles(lookups),
        "database_mib": round(total / 2**20, 1),
        "bytes_per_message": round(total / len(documents)),
    }


def _index_rate(store: SearchStore, documents: list[Document], batch: int) -> float:
    started = time.perf_counter()
    for first in range(0, len(documents), batch):
        store.upsert(documents[first:first + batch])
    return len(documents) / (time.perf_counter() - started)


def _plain_insert_rate(path: Path, documents: list[Document]) -> float:
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, team, channel, ts, user, text,"
               " UNIQUE (team, channel, ts))")
    started = time.perf_counter()
    for first in range(0, len(documents), BATCH):
        db.execute("BEGIN")
        db.executemany("INSERT INTO d (team, channel, ts, user, text) VALUES (?, ?, ?, ?, ?)",
                       [(d.team, d.channel, d.ts, d.user, d.text)
                        for d in documents[first:first + BATCH]])
        db.execute("COMMIT")
    return len(documents) / (time.perf_counter() - started)


def through_the_queue(broker_url: str, count: int) -> dict[str, Any]:
    """Heard messages one by one through RabbitMQ to a real search worker, end to end."""
    corpus = Corpus(count, seed=3)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BROKER_URL": broker_url, "DATA_DIR": tmp,
               "LOG_LEVEL": "WARNING", "WORKER_CONCURRENCY": "1"}
        client = celery_client(Settings(broker_url=broker_url, data_dir=Path(tmp)))
        messages = [HeardMessage(team="T0", channel="C1", ts=d.ts, user=d.user, text=d.text,
                                 channel_type="channel") for d in corpus.documents()]
        with Connection(broker_url, transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection.default_channel)
            for number, message in enumerate(messages):
                headers, _, body, _ = client.amqp.as_task_v2(
                    f"bench-{number}", routing.HEARD_TASK, args=(),
                    kwargs={"message": message.as_dict()})
                producer.publish(body, exchange=routing.HEARD.name,
                                 routing_key=routing.heard_routing_key("T0", "C1"),
                                 headers=headers, serializer="json", delivery_mode=2,
                                 priority=int(routing.Priority.EVENT), retry=False)
        queue = routing.SEARCH.heard_queue
        assert queue is not None
        with (Path(tmp) / "worker.log").open("ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.search", "worker",
                 "--loglevel=WARNING", "--without-gossip", "--without-mingle",
                 "--concurrency=1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            started = None
            with Connection(broker_url) as connection:
                channel = connection.default_channel
                while True:
                    _, ready, consumers = channel.queue_declare(queue.name, passive=True)
                    if consumers and started is None:
                        started = time.perf_counter()
                    if started is not None and ready == 0:
                        break
                    time.sleep(0.05)
            store = SqliteSearchStore(Path(tmp) / "search.sqlite")
            while store.count("T0") < count:
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(timeout=20)
        # Queued and acknowledged one by one (prefetch 1, acks_late), one worker process.
        sentiment = routing.SENTIMENT.heard_queue
        assert sentiment is not None
        with Connection(broker_url) as connection:
            sentiment(connection.default_channel).purge()
    return {"messages": count, "one_by_one_per_second": round(count / elapsed),
            "worker_processes": 1}


