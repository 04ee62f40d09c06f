"""The agenda's reminder backlog (on both engines), its gauges and its lateness histogram."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from estafeta import metrics
from estafeta.settings import Settings
from estafeta.stores import open_stores
from workers.agenda.gauges import ReminderGauges
from workers.agenda.store import AgendaStore, NewEvent
from workers.agenda.when import When

NOW = 1_800_000_000.0
MADRID = ZoneInfo("Europe/Madrid")


def _add(store: AgendaStore, minutes: float) -> int:
    start = datetime.fromtimestamp(NOW + minutes * 60, MADRID)
    event = NewEvent(team="T1", channel="", owner="U1", title="stand-up",
                     when=When(start=start, rrule=None, time_given=True), lang="en",
                     notify="D1", public=True)
    return store.add(event, now=NOW - 86400).id


@pytest.fixture
def store(store_settings: Settings) -> AgendaStore:
    return open_stores(store_settings, "agenda").events


def test_backlog_splits_unsent_reminders_into_pending_and_overdue(store: AgendaStore) -> None:
    _add(store, 10)  # to come
    _add(store, -0.5)  # due just now: within REMINDER_LATE_SECONDS
    late = _add(store, -5)
    sent = _add(store, -20)
    assert store.backlog(NOW, 60) == (2, 2)
    assert store.advance(sent, NOW - 20 * 60, None)  # posted: no longer counted
    assert store.backlog(NOW, 60) == (2, 1)
    store.snooze("T1", late, NOW - 300, NOW - 600, "snooze-1", now=NOW - 900)
    store.snooze("T1", late, NOW - 300, NOW + 600, "snooze-2", now=NOW - 900)
    assert store.backlog(NOW, 60) == (3, 2)


class _Store:
    def __init__(self) -> None:
        self.reads = 0
        self.down = False

    def backlog(self, now: float, late_after: float) -> tuple[int, int]:
        self.reads += 1
        if self.down:
            raise ConnectionError("database away")
        return 4, 1


def _samples(gauges: ReminderGauges) -> dict[str, float]:
    return {s.name: s.value for family in gauges.collect() for s in family.samples}


def test_gauges_are_cached_and_a_store_that_is_down_gives_no_sample(caplog: Any) -> None:
    now = [NOW]
    fake = _Store()
    gauges = ReminderGauges(fake, 60, clock=lambda: now[0])  # type: ignore[arg-type]
    assert _samples(gauges) == {metrics.REMINDERS_PENDING: 4, metrics.REMINDERS_OVERDUE: 1}
    _samples(gauges)
    assert fake.reads == 1  # a second scrape within the cache reads nothing
    fake.down = True
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            now[0] += 10
            assert _samples(gauges) == {}
    assert caplog.text.count("reminder gauges unavailable") == 1
    fake.down = False
    now[0] += 10
    assert _samples(gauges)[metrics.REMINDERS_OVERDUE] == 1
