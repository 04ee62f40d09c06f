"""Agenda benchmarks: scheduler scan cost as reminders pile up, and a minute of 10,000 reminders.

1. Scan cost: one `claim_due` (the scheduler's whole query: find what is due, claim it) with
   100 reminders due, while 10^3 ... 10^6 others wait for later dates. Flat means the scan
   reads only what is due. Baseline: a primary-key lookup in the same file.
2. Delivery: 10,000 reminders due within one minute (and, harder, all in the same second),
   delivered by real agenda workers through RabbitMQ with one beat scanning every second, to
   the fake Slack over HTTP: due → posted p50/p99, every reminder posted exactly once.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slacksim.fake_slack import FakeSlack
from workers.agenda.sqlite_store import SqliteAgendaStore
from workers.agenda.store import AgendaStore, NewEvent
from workers.agenda.when import When

ROOT = Path(__file__).resolve().parents[1]
BOT_TOKEN = "xoxb-bench"
DUE_PER_SCAN = 100
UTC = ZoneInfo("UTC")


def _event(at: float, n: int, notify: str) -> NewEvent:
    return NewEvent(team=f"T{n % 5}", channel="", owner=f"U{n}", title=f"reminder {n}",
                    when=When(datetime.fromtimestamp(at, UTC), None, True), lang="en",
                    notify=notify, public=False)


def _fill(store: AgendaStore, count: int, first: float, span: float, start_n: int) -> None:
    """Insert `count` pending reminders due between `first` and `first + span`."""
    rng = random.Random(start_n)
    rows = []
    for n in range(start_n, start_n + count):
        at = first + rng.random() * span
        rows.append((f"T{n % 5}", "", f"U{n}", f"r{n}", f"r{n}", "2030-01-01T00:00", "UTC",
                     at, None, 1, "en", f"D{n}", 0, None, 0.0, at, at))
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO agenda_events (team, channel, owner, title, folded, start_local, tz,"
            " start_at, rrule, time_given, lang, notify, public, uid, created_at, due_at,"
            " ready_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def scan_cost(workdir: Path, sizes: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000),
              repeats: int = 200) -> dict[str, Any]:
    """Median time of one scan (claim 100 due) as the number of pending reminders grows."""
    store = SqliteAgendaStore(workdir / "scan.sqlite")
    now = time.time()
    due_ids = [store.add(_event(now - 30, n, "D0"), now=now).id for n in range(DUE_PER_SCAN)]
    pending = 0
    results: dict[str, Any] = {}
    for size in sizes:
        _fill(store, size - pending, now + 3600, 365 * 86400, 10_000_000 + pending)
        pending = size
        scans, lookups = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            claimed = store.claim_due(now, lease=120, limit=1000)
            scans.append(time.perf_counter() - started)
            assert len(claimed) == DUE_PER_SCAN
            # Put them back for the next round (not timed).
            store.db.execute(f"UPDATE agenda_events SET ready_at = ? WHERE id IN "
                             f"({','.join('?' * len(due_ids))})", (now - 30, *due_ids))
            started = time.perf_counter()
            store.db.execute("SELECT due_at FROM agenda_events WHERE id = ?",
                             (due_ids[0],)).fetchone()
            lookups.append(time.perf_counter() - started)
        scan_ms = statistics.median(scans) * 1000
        lookup_ms = statistics.median(lookups) * 1000
        results[str(size)] = {"scan_ms": round(scan_ms, 3), "pk_lookup_ms": round(lookup_ms, 4),
                              "scan_vs_lookup": round(scan_ms / lookup_ms, 1)}
        print(f"  {size:>9,} pending: scan {scan_ms:.3f} ms (claims {DUE_PER_SCAN}),"
              f" key lookup {lookup_ms:.4f} ms")
    smallest, largest = results[str(sizes[0])], results[str(sizes[-1])]
    results["largest_vs_smallest"] = round(largest["scan_ms"] / smallest["scan_ms"], 2)
    return results


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered), 3),
            "p99": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 3),
            "max": round(ordered[-1], 3)}


def _deliver(broker_url: str, workdir: Path, count: int, spread: float, lead: float,
             workers: int) -> dict[str, Any]:
    data_dir = workdir / f"delivery-{int(spread)}"
    store = SqliteAgendaStore(data_dir / "agenda.sqlite")
    with FakeSlack(token=BOT_TOKEN) as slack:
        env = {**os.environ, "BROKER_URL": broker_url, "DATA_DIR": str(data_dir),
               "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url,
               "LOG_LEVEL": "WARNING", "WORKER_CONCURRENCY": str(workers),
               "REMINDER_SCAN_SECONDS": "1"}
        processes = []
        with (data_dir.parent / "agenda-worker.log").open("ab") as out:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.agenda", "worker",
                 "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.beat", "beat",
                 "--loglevel=WARNING", f"--schedule={data_dir / 'beat.schedule'}"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))
        try:
            first = time.time() + lead
            _fill(store, count, first, spread, 0)
            due = {f"D{n}": at for n, at in enumerate(
                float(r[0]) for r in store.db.execute(
                    "SELECT due_at FROM agenda_events ORDER BY id"))}
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
        "reminders": count, "due_within_seconds": spread, "worker_processes": workers,
        "posted": len(calls), "posted_twice": sum(1 for v in per_channel.values() if v > 1),
        "posted_early": early, "due_to_posted_s": _percentiles(delays),
    }


def delivery(broker_url: str, workdir: Path, count: int = 10_000) -> dict[str, Any]:
    """10,000 reminders due within one minute, then all in the same second."""
    workers = max(2, os.cpu_count() or 2)
    results = {}
    for name, spread in (("same_minute", 60.0), ("same_second", 1.0)):
        result = _deliver(broker_url, workdir, count, spread, lead=15.0, workers=workers)
        p = result["due_to_posted_s"]
        print(f"  {count:,} due within {spread:.0f} s: due→posted p50 {p['p50']} s,"
              f" p99 {p['p99']} s; posted {result['posted']:,},"
              f" twice {result['posted_twice']}, early {result['posted_early']}")
        results[name] = result
    return results
