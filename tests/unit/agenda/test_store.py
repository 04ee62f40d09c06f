"""The agenda store: atomic claims, conditional advances, visibility per team and channel,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from estafeta.postgres import Database
from estafeta.settings import Settings
from estafeta.stores import open_stores
from tests.conftest import empty_postgres
from workers.agenda.postgres_store import PostgresAgendaStore
from workers.agenda.sqlite_store import SqliteAgendaStore
from workers.agenda.store import AgendaStore, NewEvent
from workers.agenda.when import When

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=MADRID).timestamp()


def _event(title: str = "send the report", *, team: str = "T1", channel: str = "",
           owner: str = "U1", minutes: int = -1, rrule: str | None = None,
           public: bool = True, notify: str = "D1", uid: str | None = None) -> NewEvent:
    start = datetime.fromtimestamp(NOW + minutes * 60, MADRID)
    return NewEvent(team=team, channel=channel, owner=owner, title=title,
                    when=When(start=start, rrule=rrule, time_given=True), lang="en",
                    notify=notify, public=public, uid=uid)


@pytest.fixture
def store(store_settings: Settings) -> AgendaStore:
    return open_stores(store_settings, "agenda").events


def test_only_due_reminders_are_claimed_and_a_claim_hides_them_until_its_lease_ends(
    store: AgendaStore,
) -> None:
    due = store.add(_event(minutes=-1), now=NOW)
    store.add(_event(minutes=+5), now=NOW)
    claimed = store.claim_due(NOW, lease=120, limit=100)
    assert [(c.event_id, c.due_at) for c in claimed] == [(due.id, due.start_at)]
    assert store.claim_due(NOW + 60, lease=120, limit=100) == []
    again = store.claim_due(NOW + 121, lease=120, limit=100)
    assert [c.event_id for c in again] == [due.id]  # the first scheduler died: taken again


def _schedule_from(settings: Settings, start: Any) -> list[int]:
    """One scheduler process: claim a few at a time until nothing is due."""
    store = open_stores(settings, "agenda").events
    store.pending()  # open the file (or connect) before the start line
    start.wait()  # every process starts claiming at the same moment
    taken: list[int] = []
    while claimed := store.claim_due(NOW, lease=120, limit=2):
        taken.extend(c.event_id for c in claimed)
    return taken


def test_concurrent_schedulers_never_claim_the_same_reminder(
    store: AgendaStore, store_settings: Settings,
) -> None:
    # Enough that four schedulers claiming two at a time overlap for hundreds of rounds.
    ids = {store.add(_event(f"r{i}", minutes=-1), now=NOW).id for i in range(1200)}
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(4) as pool:
        start = manager.Barrier(4)
        taken = pool.starmap(_schedule_from, [(store_settings, start)] * 4)
    everything = [event_id for part in taken for event_id in part]
    assert sorted(everything) == sorted(ids)  # every one claimed, none twice
    assert sum(1 for part in taken if part) >= 2  # they really did compete


def _host(url: str, number: int) -> PostgresAgendaStore:
    """The store as another host has it: a pool (so connections) of its own."""
    return PostgresAgendaStore(Database(f"{url}?application_name=host{number}", "agenda"))


@pytest.fixture
def postgres_store(postgres_url: str) -> PostgresAgendaStore:
    empty_postgres(postgres_url)
    return PostgresAgendaStore(Database(postgres_url, "agenda"))


def test_two_hosts_claiming_at_once_share_no_reminder_and_leave_none(
    postgres_store: PostgresAgendaStore, postgres_url: str,
) -> None:
    due = [_event(f"r{i}", uid=f"u{i}", minutes=-1) for i in range(2000)]
    postgres_store.upsert_imported(due, remind=True, now=NOW - 120)
    later = postgres_store.add(_event("later", minutes=+5), now=NOW)
    start = threading.Barrier(2)
    taken: list[list[int]] = [[], []]

    def host(number: int) -> None:
        store = _host(postgres_url, number)
        store.pending()
        start.wait()
        while claimed := store.claim_due(NOW, lease=120, limit=5):
            taken[number].extend(c.event_id for c in claimed)

    threads = [threading.Thread(target=host, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = taken[0] + taken[1]
    assert len(everything) == len(set(everything)) == len(due)  # none twice, none left
    assert later.id not in everything
    assert taken[0] and taken[1]  # they really did compete


def test_one_request_run_on_two_hosts_at_once_adds_one_event(
    postgres_store: PostgresAgendaStore, postgres_url: str,
) -> None:
    hosts = [_host(postgres_url, n) for n in range(2)]
    for host in hosts:
        host.pending()  # connected before the start line

    def run(store: PostgresAgendaStore, key: str, start: threading.Barrier,
            added: list[int]) -> None:
        start.wait()
        added.append(store.add(_event(key), request_key=key, now=NOW).id)

    for n in range(20):
        start = threading.Barrier(2)
        added: list[int] = []
        threads = [threading.Thread(target=run, args=(host, f"task-{n}", start, added))
                   for host in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(added) == 2 and added[0] == added[1]  # the redelivery found the first
    assert len(postgres_store.owned("T1", "U1")) == 20


def test_a_claim_passes_over_reminders_another_host_is_claiming(
    postgres_store: PostgresAgendaStore, postgres_url: str,
) -> None:
    ids = [postgres_store.add(_event(f"r{i}", minutes=-1), now=NOW).id for i in range(6)]
    with psycopg.connect(postgres_url, options="-c search_path=agenda") as other:
        # Another host's scan, still inside its transaction: the first three are locked.
        other.execute("SELECT id FROM agenda_events WHERE id = ANY(%s) FOR UPDATE",
                      (ids[:3],))
        started = time.monotonic()
        claimed = postgres_store.claim_due(NOW, lease=120, limit=10)
        assert time.monotonic() - started < 1.0  # it did not wait for the lock
        assert sorted(c.event_id for c in claimed) == ids[3:]
        other.rollback()
    assert sorted(c.event_id for c in postgres_store.claim_due(NOW, 120, 10)) == ids[:3]


def test_advance_is_conditional_on_the_occurrence(store: AgendaStore) -> None:
    event = store.add(_event(rrule="FREQ=DAILY"), now=NOW)
    following = event.start_at + 86400
    assert store.advance(event.id, event.start_at, following) is True
    assert store.advance(event.id, event.start_at, following) is False  # a duplicate delivery
    moved = store.by_id(event.id)
    assert moved is not None and moved.due_at == following and moved.delivered
    assert store.claim_due(NOW, lease=120, limit=10) == []
    assert [c.due_at for c in store.claim_due(following, 120, 10)] == [following]


def test_single_event_has_no_reminder_left_after_delivery(store: AgendaStore) -> None:
    event = store.add(_event(), now=NOW)
    assert store.advance(event.id, event.start_at, None)
    assert store.pending() == 0
    assert store.claim_due(NOW + 10**6, 120, 10) == []


def test_cancel_removes_pending_reminders(store: AgendaStore) -> None:
    event = store.add(_event(), now=NOW)
    assert store.cancel("T1", event.id) is True
    assert store.cancel("T1", event.id) is False
    assert store.claim_due(NOW, 120, 10) == []


def test_cancel_is_confined_to_the_team(store: AgendaStore) -> None:
    event = store.add(_event(), now=NOW)
    assert store.cancel("T2", event.id) is False
    assert store.get("T2", event.id) is None


def test_visibility_own_events_channel_agenda_and_private_channels(store: AgendaStore) -> None:
    mine = store.add(_event("mine", owner="U1", minutes=60), now=NOW)
    public = store.add(_event("public", owner="U2", channel="C1", minutes=60), now=NOW)
    private = store.add(_event("private", owner="U2", channel="G1", public=False, minutes=60),
                        now=NOW)
    other_team = store.add(_event("theirs", team="T2", owner="U1", minutes=60), now=NOW)
    until = NOW + 86400

    def titles(channel: str, inside: str, user: str = "U1", team: str = "T1") -> set[str]:
        return {e.title for e in store.visible(team, user, channel, inside, until)}

    assert titles("C1", "C1") == {mine.title, public.title}
    assert titles("C1", "") == {mine.title, public.title}  # HTTP: public channels only
    assert titles("G1", "G1") == {mine.title, private.title}
    assert titles("G1", "") == {mine.title}  # named but not vouched for: nothing private
    assert other_team.title not in titles("C1", "C1")
    assert titles("C1", "C1", team="T2") == {other_team.title}


def test_search_matches_every_word_ignoring_case_and_accents(store: AgendaStore) -> None:
    store.add(_event("Reunión de equipo", minutes=60), now=NOW)
    store.add(_event("Team lunch", minutes=60), now=NOW)
    found = store.visible("T1", "U1", "", "", NOW + 86400, "REUNION equipo")
    assert [e.title for e in found] == ["Reunión de equipo"]


def test_imports_are_idempotent_by_uid_and_past_occurrences_are_not_reminded(
    store: AgendaStore,
) -> None:
    events = [_event("Holiday", channel="C9", owner="", uid="h1", minutes=-600, notify="C9"),
              _event("Weekly", channel="C9", owner="", uid="w1", minutes=-600, notify="C9",
                     rrule="FREQ=WEEKLY")]
    assert store.upsert_imported(events, remind=True, now=NOW) == 2
    assert store.upsert_imported(events, remind=True, now=NOW) == 2
    stored = store.visible("T1", "U1", "C9", "C9", NOW + 30 * 86400)
    assert sorted(e.title for e in stored) == ["Holiday", "Weekly"]
    due = {store.by_id(e.id).title: store.by_id(e.id).due_at for e in stored}  # type: ignore
    assert due["Holiday"] is None  # it is over: history, not a missed reminder
    assert due["Weekly"] == pytest.approx(NOW - 600 * 60 + 7 * 86400)


def test_user_timezones_are_cached(store: AgendaStore) -> None:
    assert store.cached_user("T1", "U1", 3600) is None
    store.remember_user("T1", "U1", "America/New_York", True)
    assert store.cached_user("T1", "U1", 3600) == ("America/New_York", True)
    assert store.cached_user("T2", "U1", 3600) is None


# The agenda's table as the first release created it, before pausing existed.
OLD_SCHEMA = """
CREATE TABLE agenda_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, team TEXT NOT NULL, channel TEXT NOT NULL,
    owner TEXT NOT NULL, title TEXT NOT NULL, folded TEXT NOT NULL, start_local TEXT NOT NULL,
    tz TEXT NOT NULL, start_at REAL NOT NULL, rrule TEXT, time_given INTEGER NOT NULL,
    lang TEXT NOT NULL, notify TEXT NOT NULL, public INTEGER NOT NULL, uid TEXT,
    created_at REAL NOT NULL, cancelled_at REAL, due_at REAL, ready_at REAL,
    delivered INTEGER NOT NULL DEFAULT 0
);
"""


def test_a_sqlite_file_from_the_first_release_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "agenda.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO agenda_events (team, channel, owner, title, folded, start_local,"
                   " tz, start_at, time_given, lang, notify, public, created_at, due_at,"
                   " ready_at) VALUES ('T1', '', 'U1', 'old one', 'old one',"
                   " '2026-11-20T08:59:00', 'Europe/Madrid', ?, 1, 'en', 'D1', 0, ?, ?, ?)",
                   (NOW - 60, NOW - 600, NOW - 60, NOW - 60))
    store = SqliteAgendaStore(path)
    (claimed,) = store.claim_due(NOW, lease=120, limit=10)
    old = store.by_id(claimed.event_id)
    assert old is not None and old.title == "old one" and old.paused_at is None
    assert store.pause(old.id, claimed.due_at, "channel_not_found", now=NOW)
    paused = store.by_id(old.id)
    assert paused is not None and paused.paused_reason == "channel_not_found"
    assert store.add(_event("new one"), request_key="task-1", now=NOW).id != old.id


def test_a_request_key_adds_one_event_however_often_it_runs(store: AgendaStore) -> None:
    first = store.add(_event("once"), request_key="task-1", now=NOW)
    again = store.add(_event("once"), request_key="task-1", now=NOW + 5)
    assert again == first and len(store.owned("T1", "U1")) == 1
    assert store.request("T1", "task-1") == ("add", first.id, None)
    # Request keys are per team, and an empty one is no key at all.
    assert store.add(_event("once", team="T2"), request_key="task-1", now=NOW).id != first.id
    assert store.request("T1", "") is None
    store.add(_event("once"), now=NOW)
    store.add(_event("once"), now=NOW)
    assert len(store.owned("T1", "U1")) == 3


def test_a_rerun_finds_the_event_its_request_added_or_cancelled(store: AgendaStore) -> None:
    added = store.add(_event("once"), request_key="task-add", now=NOW)
    assert store.done_event("T1", "task-add", "add") == added
    assert store.done_event("T1", "task-add", "cancel") is None  # another verb's record
    assert store.done_event("T2", "task-add", "add") is None  # keys are per team
    assert store.done_event("T1", "task-new", "add") is None
    assert store.done_event("T1", "", "add") is None
    assert store.cancel("T1", added.id, now=NOW + 1, request_key="task-cancel")
    cancelled = store.done_event("T1", "task-cancel", "cancel")
    assert cancelled is not None and cancelled.id == added.id
    assert cancelled.cancelled_at == NOW + 1  # the event as it is now
    # A re-run of the cancel neither cancels again nor loses the first record.
    assert not store.cancel("T1", added.id, now=NOW + 2, request_key="task-cancel")
    assert store.done_event("T1", "task-cancel", "cancel") == cancelled


def test_a_rerun_import_stores_nothing_again(store: AgendaStore) -> None:
    events = [_event("Holiday", channel="C9", owner="", uid="h1", minutes=600, notify="C9")]
    assert store.upsert_imported(events, remind=True, request_key="task-9", team="T1") == 1
    (holiday,) = store.visible("T1", "U1", "C9", "", NOW * 2)
    store.cancel("T1", holiday.id)
    # The re-run of the same task must not bring back what was cancelled since.
    assert store.upsert_imported(events, remind=True, request_key="task-9", team="T1") == 1
    assert store.visible("T1", "U1", "C9", "", NOW * 2) == []


def test_a_paused_event_is_never_due_again(store: AgendaStore) -> None:
    event = store.add(_event(minutes=-1), now=NOW)
    (claimed,) = store.claim_due(NOW, lease=120, limit=10)
    assert store.pause(event.id, claimed.due_at, "is_archived", now=NOW)
    assert not store.pause(event.id, claimed.due_at, "is_archived", now=NOW)  # already moved
    assert store.claim_due(NOW + 10**6, lease=120, limit=10) == [] and store.pending() == 0


def test_occurrences_stop_at_their_limit(store: AgendaStore) -> None:
    event = store.add(_event(rrule="FREQ=MINUTELY;INTERVAL=5", minutes=1), now=NOW)
    since = datetime.fromtimestamp(NOW, MADRID)
    week = since + timedelta(days=7)
    assert len(list(event.occurrences(since, week, limit=21))) == 21
    assert len(list(event.occurrences(since, since + timedelta(hours=1)))) == 12
