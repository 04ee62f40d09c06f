"""Agenda benchmarks, on SQLite and on PostgreSQL in the same run: scheduler scan cost as
reminders pile up, and a minute of 10,000 reminders.

1. Scan cost: one `claim_due` (the scheduler's whole query: find what is due, claim it) with
   100 reminders due, while 10^3 ... 10^6 others wait for later dates. Flat means the scan
   reads only what is due. Baseline: a primary-key lookup through the same store's connection.
   PostgreSQL's figures are also given as ratios to SQLite's.
2. Delivery: 10,000 reminders due within one minute (and, harder, all in the same second),
   delivered by real agenda workers through RabbitMQ with one beat scanning every second, to
   the fake Slack over HTTP: due → posted p50/p99, every reminder posted exactly once. On
   SQLite one host (one agenda worker); on PostgreSQL two "hosts": two such agenda workers
   with `DATA_DIR`s of their own that share only the database and the broker's vhost.

PostgreSQL runs in a database made for the run and dropped after it (`BENCH_POSTGRES`: the
server to make it on, default the local one).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from kombu import Connection

import routing
from bench.stats import percentiles
from estafeta.migrate import migrate
from estafeta.postgres import Database, scratch_database
from estafeta.settings import Settings
from slacksim.fake_slack import FakeSlack
from workers.agenda.postgres_store import PostgresAgendaStore
from workers.agenda.sqlite_store import SqliteAgendaStore
from workers.agenda.store import NewEvent
from workers.agenda.when import When

ROOT = Path(__file__).resolve().parents[1]
BOT_TOKEN = "xoxb-bench"
DUE_PER_SCAN = 100
UTC = ZoneInfo("UTC")
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
COPY_CHUNK = 100_000  # rows per COPY: each statement stays well within the statement timeout
_EVENT_COLUMNS = ("team, channel, owner, title, folded, start_local, tz, start_at, rrule,"
                  " time_given, lang, notify, public, uid, created_at, due_at, ready_at")


def _event(at: float, n: int, notify: str) -> NewEvent:
    return NewEvent(team=f"T{n % 5}", channel="", owner=f"U{n}", title=f"reminder {n}",
                    when=When(datetime.fromtimestamp(at, UTC), None, True), lang="en",
                    notify=notify, public=False)


def _rows(count: int, first: float, span: float, start_n: int) -> Iterator[tuple[object, ...]]:
    """`count` pending reminders due between `first` and `first + span`, as table rows."""
    rng = random.Random(start_n)
    for n in range(start_n, start_n + count):
        at = first + rng.random() * span
        yield (f"T{n % 5}", "", f"U{n}", f"r{n}", f"r{n}", "2030-01-01T00:00", "UTC",
               at, None, True, "en", f"D{n}", False, None, 0.0, at, at)


@contextmanager
def throwaway_database() -> Iterator[str]:
    """The URL of a new database with the agenda's schema migrated, dropped afterwards."""
    with scratch_database(POSTGRES, "estafeta_bench") as url:
        migrate(Settings(database_url=url), ["agenda"])
        yield url


class _Sqlite:
    """The agenda's SQLite file, and what the benchmark does to it behind the store's back."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.store = SqliteAgendaStore(path)
        self.env: dict[str, str] = {}

    def fill(self, count: int, first: float, span: float, start_n: int,
             settle: bool = False) -> None:
        """Insert `count` pending reminders due between `first` and `first + span`."""
        with self.store.transaction() as db:
            db.executemany(f"INSERT INTO agenda_events ({_EVENT_COLUMNS}) VALUES"
                           " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           _rows(count, first, span, start_n))

    def put_back(self, ids: list[int], at: float) -> None:
        """Make reminders `ids` due again at `at`."""
        self.store.db.execute(f"UPDATE agenda_events SET ready_at = ? WHERE id IN "
                              f"({','.join('?' * len(ids))})", (at, *ids))

    def lookup(self, event_id: int) -> None:
        """One primary-key lookup through the store's connection."""
        self.store.db.execute("SELECT due_at FROM agenda_events WHERE id = ?",
                              (event_id,)).fetchone()

    def due_by_notify(self) -> dict[str, float]:
        """Each reminder's due time, by where it is posted (unique per reminder here)."""
        rows = self.store.db.execute("SELECT notify, due_at FROM agenda_events").fetchall()
        return {str(r[0]): float(r[1]) for r in rows}


class _Postgres:
    """The agenda's schema in a throwaway PostgreSQL database."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.store = PostgresAgendaStore(Database(url, "agenda"))
        self.env = {"DATABASE_URL": url}

    def _connect(self) -> psycopg.Connection[Any]:
        # Outside the stores' pool and its timeouts: bulk loads and VACUUM take longer.
        return psycopg.connect(self.url, autocommit=True, options="-c search_path=agenda")

    def fill(self, count: int, first: float, span: float, start_n: int,
             settle: bool = False) -> None:
        """Insert `count` pending reminders; `settle`: vacuum as autovacuum would after it."""
        rows = _rows(count, first, span, start_n)
        with self._connect() as db:
            for _ in range(0, count, COPY_CHUNK):
                with db.cursor() as cursor, cursor.copy(
                        f"COPY agenda_events ({_EVENT_COLUMNS}) FROM STDIN") as copy:
                    for row in islice(rows, COPY_CHUNK):
                        copy.write_row(row)
            db.execute("VACUUM ANALYZE agenda_events" if settle else "ANALYZE agenda_events")

    def put_back(self, ids: list[int], at: float) -> None:
        """Make reminders `ids` due again at `at`."""
        with self.store.database.connection() as db:
            db.execute("UPDATE agenda_events SET ready_at = %s WHERE id = ANY(%s)", (at, ids))

    def lookup(self, event_id: int) -> None:
        """One primary-key lookup through the store's pool, as every store call does."""
        with self.store.database.connection() as db:
            db.execute("SELECT due_at FROM agenda_events WHERE id = %s", (event_id,)).fetchone()

    def due_by_notify(self) -> dict[str, float]:
        """Each reminder's due time, by where it is posted (unique per reminder here)."""
        with self._connect() as db:
            rows = db.execute("SELECT notify, due_at FROM agenda_events").fetchall()
        return {str(r[0]): float(r[1]) for r in rows}


Backend = _Sqlite | _Postgres


def _backend(name: str, data_dir: Path) -> AbstractContextManager[Backend]:
    """A fresh, empty agenda store of engine `name` (SQLite's file under `data_dir`)."""
    if name == "sqlite":
        return nullcontext(_Sqlite(data_dir / "agenda.sqlite"))
    return _postgres_backend()


@contextmanager
def _postgres_backend() -> Iterator[Backend]:
    with throwaway_database() as url:
        yield _Postgres(url)


def pending_sizes(largest: int) -> tuple[int, ...]:
    """10^3, 10^4, ... up to `largest` pending reminders."""
    sizes, size = [], 1_000
    while size <= largest:
        sizes.append(size)
        size *= 10
    return tuple(sizes) or (largest,)


def _time_scans(backend: Backend, due_ids: list[int], now: float, count: int,
                scans: list[float], lookups: list[float]) -> None:
    """Time `count` scans (each claims the 100 due, which are then put back) and as many
    primary-key lookups."""
    for _ in range(count):
        started = time.perf_counter()
        claimed = backend.store.claim_due(now, lease=120, limit=1000)
        scans.append(time.perf_counter() - started)
        assert len(claimed) == DUE_PER_SCAN
        backend.put_back(due_ids, now - 30)  # for the next round (not timed)
        started = time.perf_counter()
        backend.lookup(due_ids[0])
        lookups.append(time.perf_counter() - started)


def _figures(scans: list[float], lookups: list[float]) -> dict[str, float]:
    scan_ms = statistics.median(scans) * 1000
    lookup_ms = statistics.median(lookups) * 1000
    return {"scan_ms": round(scan_ms, 3), "pk_lookup_ms": round(lookup_ms, 4),
            "scan_vs_lookup": round(scan_ms / lookup_ms, 1)}


def scan_cost(workdir: Path, largest: int = 1_000_000, repeats: int = 200,
              rounds: int = 10) -> dict[str, Any]:
    """Median time of one scan (claim 100 due) on each engine as the number of pending
    reminders grows from 10^3 to `largest`, and PostgreSQL's figures as ratios to SQLite's.
    The engines take turns, `rounds` times per size: this machine's load changes alike for
    both."""
    sizes = pending_sizes(largest)
    results: dict[str, Any] = {name: {} for name in BACKENDS}
    with ExitStack() as stack:
        backends = [stack.enter_context(_backend(name, workdir / f"scan-{name}"))
                    for name in BACKENDS]
        now = time.time()
        due_ids = {backend.name: [backend.store.add(_event(now - 30, n, "D0"), now=now).id
                                  for n in range(DUE_PER_SCAN)] for backend in backends}
        pending = 0
        for size in sizes:
            for backend in backends:
                backend.fill(size - pending, now + 3600, 365 * 86400, 10_000_000 + pending,
                             settle=True)
            pending = size
            # The bulk loads' dirty pages go to disk now, not while the scans below commit
            # (PostgreSQL waits for its log on every commit).
            os.sync()
            samples: dict[str, tuple[list[float], list[float]]] = {
                backend.name: ([], []) for backend in backends}
            for _ in range(rounds):
                for backend in backends:
                    _time_scans(backend, due_ids[backend.name], now,
                                max(1, repeats // rounds), *samples[backend.name])
            for backend in backends:
                figures = results[backend.name][str(size)] = _figures(*samples[backend.name])
                print(f"  {backend.name:10s} {size:>9,} pending: scan {figures['scan_ms']:.3f} ms"
                      f" (claims {DUE_PER_SCAN}), key lookup {figures['pk_lookup_ms']:.4f} ms")
    for name in BACKENDS:
        smallest, most = results[name][str(sizes[0])], results[name][str(sizes[-1])]
        results[name]["largest_vs_smallest"] = round(most["scan_ms"] / smallest["scan_ms"], 2)
        print(f"  {name:10s} scan at {sizes[-1]:,} / at {sizes[0]:,} pending:"
              f" {results[name]['largest_vs_smallest']}")
    sqlite, postgresql = results["sqlite"], results["postgresql"]
    ratios = {str(size): round(postgresql[str(size)]["scan_ms"] / sqlite[str(size)]["scan_ms"], 2)
              for size in sizes}
    results["postgresql_vs_sqlite_scan"] = ratios
    print("  PostgreSQL / SQLite scan time: " + ", ".join(
        f"{int(size):,} pending {ratio}" for size, ratio in ratios.items()))
    return results


def _celery(app: str, command: str, env: dict[str, str], out: Any,
            *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app, command, "--loglevel=WARNING", *options],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_consumers(broker_url: str, count: int, timeout: float = 60.0) -> None:
    """Wait until `count` agenda workers consume the agenda's queue."""
    deadline = time.monotonic() + timeout
    with Connection(broker_url) as connection:
        queue = routing.AGENDA.command_queue(connection.default_channel)
        while queue.queue_declare(passive=True).consumer_count < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} agenda workers came up")
            time.sleep(0.5)


def _deliver(broker_url: str, backend: Backend, data_dir: Path, count: int, spread: float,
             lead: float, hosts: int, workers: int) -> dict[str, Any]:
    """`count` reminders due within `spread` seconds from `lead` seconds on, delivered by one
    agenda worker of `workers` processes on each of `hosts` hosts, and one beat."""
    with FakeSlack(token=BOT_TOKEN) as slack:
        env = {**os.environ, "BROKER_URL": broker_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_API_URL": slack.api_url, "LOG_LEVEL": "WARNING",
               "WORKER_CONCURRENCY": str(workers), "REMINDER_SCAN_SECONDS": "1", **backend.env}
        processes = []
        with (data_dir / "agenda-worker.log").open("ab") as out:
            for host in range(hosts):
                # A host of its own: nothing shared with the others but broker and database.
                host_env = {**env, "DATA_DIR": str(data_dir / f"host-{host}")}
                processes.append(_celery("workers.agenda", "worker", host_env, out,
                                         "--without-gossip", "--without-mingle",
                                         f"--hostname=agenda{host}@%h"))
            beat_env = {**env, "DATA_DIR": str(data_dir / "host-0")}
            processes.append(_celery("workers.beat", "beat", beat_env, out,
                                     f"--schedule={data_dir / 'host-0' / 'beat.schedule'}"))
        try:
            _wait_for_consumers(broker_url, hosts)
            first = time.time() + lead
            backend.fill(count, first, spread, 0)
            due = backend.due_by_notify()
            slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= count,
                           timeout=lead + spread + 300)
            time.sleep(2)  # any duplicate would arrive now
            calls = slack.calls_to("chat.postMessage")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
    per_channel = Counter(str(c.params["channel"]) for c in calls)
    delays = [c.at - due[str(c.params["channel"])] for c in calls]
    early = sum(1 for d in delays if d < 0)
    return {
        "reminders": count, "due_within_seconds": spread, "hosts": hosts,
        "worker_processes_per_host": workers,
        "posted": len(calls), "posted_twice": sum(1 for v in per_channel.values() if v > 1),
        "posted_early": early, "due_to_posted_s": percentiles(delays, 3),
    }


def delivery(broker_url: str, workdir: Path, count: int = 10_000) -> dict[str, Any]:
    """`count` reminders due within one minute, then all in the same second: on SQLite by one
    host, on PostgreSQL by two hosts, each with the worker that one host has."""
    workers = max(2, os.cpu_count() or 2)
    # Here the two hosts share this machine's cores: the second adds processes, not CPU.
    setups = {"sqlite": (1, workers), "postgresql": (2, workers)}
    results: dict[str, Any] = {name: {} for name in BACKENDS}
    for name in BACKENDS:
        hosts, per_host = setups[name]
        for run, spread in (("same_minute", 60.0), ("same_second", 1.0)):
            data_dir = workdir / f"delivery-{name}-{int(spread)}"
            data_dir.mkdir(parents=True, exist_ok=True)
            # The first host's DATA_DIR holds the SQLite file (and beat's schedule).
            with _backend(name, data_dir / "host-0") as backend:
                result = _deliver(broker_url, backend, data_dir, count, spread, lead=15.0,
                                  hosts=hosts, workers=per_host)
            p = result["due_to_posted_s"]
            print(f"  {name:10s} {hosts} host(s) x {per_host} process(es), {count:,} due"
                  f" within {spread:.0f} s: due→posted p50 {p['p50']} s, p99 {p['p99']} s;"
                  f" posted {result['posted']:,}, twice {result['posted_twice']},"
                  f" early {result['posted_early']}")
            results[name][run] = result
    ratios = {run: {q: round(results["postgresql"][run]["due_to_posted_s"][q]
                             / results["sqlite"][run]["due_to_posted_s"][q], 2)
                    for q in ("p50", "p99")}
              for run in results["sqlite"]}
    results["postgresql_vs_sqlite_due_to_posted"] = ratios
    print(f"  PostgreSQL (2 hosts) / SQLite (1 host) due→posted: {ratios}")
    return results
