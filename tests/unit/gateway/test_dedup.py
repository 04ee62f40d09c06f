"""The gateway's stores on both backends: accepted events claimed once, task owners, pruning;
and on PostgreSQL, gateways on many hosts claiming the same Slack retry at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from estafeta import postgres
from estafeta.settings import Settings
from estafeta.stores import StoreUnavailable, open_stores
from gateway import postgres_dedup, sqlite_dedup
from gateway.dedup import AcceptedEvents, GatewayStores, TaskOwners


@pytest.fixture
def stores(store_settings: Settings) -> GatewayStores:
    return open_stores(store_settings, "gateway")


@pytest.fixture
def events(stores: GatewayStores) -> AcceptedEvents:
    return stores.accepted_events


@pytest.fixture
def owners(stores: GatewayStores) -> TaskOwners:
    return stores.task_owners


@pytest.fixture
def prune_every_five(monkeypatch: pytest.MonkeyPatch) -> int:
    for module in (sqlite_dedup, postgres_dedup):
        monkeypatch.setattr(module, "PRUNE_EVERY", 5)
    return 5


def test_a_key_is_claimed_once(events: AcceptedEvents) -> None:
    assert "Ev1" not in events
    assert events.claim("Ev1") is True
    assert events.claim("Ev1") is False  # a Slack retry, or a replayed trigger
    assert "Ev1" in events and "Ev2" not in events
    assert events.claim("trigger:T1:123.456") is True


def test_a_discarded_claim_can_be_claimed_again(events: AcceptedEvents) -> None:
    events.claim("trigger:T1:1")
    events.discard("trigger:T1:1")
    assert "trigger:T1:1" not in events
    assert events.claim("trigger:T1:1") is True
    events.discard("never-claimed")  # nothing to forget: no error


def test_every_gateway_opening_the_same_stores_sees_a_claim(
    store_settings: Settings, events: AcceptedEvents,
) -> None:
    other = open_stores(store_settings, "gateway").accepted_events
    assert events.claim("Ev1") is True
    assert "Ev1" in other and other.claim("Ev1") is False


def test_a_tasks_owner_is_recorded_and_forgotten(owners: TaskOwners) -> None:
    assert owners.owner("task-1") is None
    owners.record("task-1", "T1")
    owners.record("task-2", "T2")
    assert owners.owner("task-1") == "T1" and owners.owner("task-2") == "T2"
    owners.record("task-1", "T3")  # recorded again: the last word stands
    assert owners.owner("task-1") == "T3"
    owners.forget("task-1")
    assert owners.owner("task-1") is None and owners.owner("task-2") == "T2"
    owners.forget("task-1")  # already gone: no error


def test_accepted_events_are_pruned_only_past_their_retention(
    events: AcceptedEvents, prune_every_five: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = [f"Ev{n}" for n in range(2 * prune_every_five)]
    for key in keys[:prune_every_five]:  # the fifth claim prunes: nothing is old yet
        events.claim(key)
    assert all(key in events for key in keys[:prune_every_five])
    monkeypatch.setattr(events, "retention", -1.0)  # from now on, everything is old
    for key in keys[prune_every_five:-1]:
        events.claim(key)
    assert all(key in events for key in keys[:-1])  # no prune between two
    events.claim(keys[-1])
    assert not any(key in events for key in keys)


def test_task_owners_are_pruned_only_past_their_retention(
    owners: TaskOwners, prune_every_five: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(prune_every_five):
        owners.record(f"task-{n}", "T1")
    assert owners.owner("task-0") == "T1"
    monkeypatch.setattr(owners, "retention", -1.0)
    for n in range(prune_every_five, 2 * prune_every_five):
        owners.record(f"task-{n}", "T1")
    assert all(owners.owner(f"task-{n}") is None for n in range(2 * prune_every_five))


# PostgreSQL: many gateways, one database ----------------------------------------------------

ON_POSTGRES = pytest.mark.parametrize("store_settings", ["postgresql"], indirect=True)


def _claims_at_once(events: AcceptedEvents, key: str, copies: int) -> list[bool]:
    start = threading.Barrier(copies)
    answers: list[bool] = []

    def claim() -> None:
        start.wait()
        answers.append(events.claim(key))

    threads = [threading.Thread(target=claim) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


@ON_POSTGRES
def test_gateways_claiming_the_same_key_at_once_get_one_true(events: AcceptedEvents) -> None:
    for round_ in range(10):
        assert sorted(_claims_at_once(events, f"Ev{round_}", 8)) == [False] * 7 + [True]


@ON_POSTGRES
def test_a_backlog_is_pruned_in_bounded_steps(
    events: AcceptedEvents, prune_every_five: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(prune_every_five - 1):
        events.claim(f"old-{n}")
    monkeypatch.setattr(postgres, "PRUNE_BATCH", 2)
    monkeypatch.setattr(events, "retention", -1.0)
    events.claim("new")  # the fifth: prunes two of the five
    assert [f"old-{n}" in events for n in range(4)].count(True) + ("new" in events) == 3


class _FailsAfter:
    """A database whose connections stop working after the first `works` of them."""

    def __init__(self, database: Any, works: int) -> None:
        self.database = database
        self.works = works

    def __getattr__(self, name: str) -> Any:
        return getattr(self.database, name)

    @contextmanager
    def connection(self) -> Iterator[Any]:
        if self.works <= 0:
            raise StoreUnavailable("PostgreSQL unavailable (test)")
        self.works -= 1
        with self.database.connection() as connection:
            yield connection


@ON_POSTGRES
def test_a_failed_prune_does_not_fail_the_claim_that_ran_it(
    events: AcceptedEvents, prune_every_five: int, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for n in range(prune_every_five - 1):
        events.claim(f"Ev{n}")
    database = events.database  # type: ignore[attr-defined]
    monkeypatch.setattr(events, "database", _FailsAfter(database, works=1))
    with caplog.at_level("WARNING"):
        assert events.claim("Ev-last") is True  # stored; only the prune after it failed
    assert "pruning accepted_events skipped" in caplog.text
    monkeypatch.setattr(events, "database", database)
    assert "Ev-last" in events
