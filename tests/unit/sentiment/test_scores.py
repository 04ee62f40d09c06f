"""The mood store on both backends: idempotent scores, daily aggregates kept in step, team
isolation, and on PostgreSQL, workers storing the same messages at once count them once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from estafeta.settings import Settings
from estafeta.stores import open_stores
from workers.sentiment.scores import MoodStore, Scope, Scored

DAY = 86400.0
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def store(store_settings: Settings) -> MoodStore:
    return open_stores(store_settings, "sentiment").moods


def _scored(ts: float, score: float, *, team: str = "T1", channel: str = "C1",
            user: str = "U1", public: bool = True, lang: str = "en") -> Scored:
    return Scored(team, channel, f"{ts:.6f}", user, score, lang, public)


def _days(store: MoodStore, scope: Scope) -> list[tuple[str, int, float, int, int]]:
    return [(d.day, d.messages, round(d.average, 4), d.positive, d.negative)
            for d in store.days(scope, NOON - 10 * DAY, NOON + DAY)]


def test_aggregates_follow_scores_rescoring_and_deletion(store: MoodStore) -> None:
    channel = Scope("T1", channel="C1")
    store.put_many([_scored(NOON, 0.8), _scored(NOON + 1, -0.6), _scored(NOON - DAY, 0.0)])
    assert _days(store, channel) == [("2026-11-19", 1, 0.0, 0, 0),
                                     ("2026-11-20", 2, 0.1, 1, 1)]
    assert store.put(_scored(NOON, 0.8)) is False  # a redelivery changes nothing
    assert store.put(_scored(NOON + 1, 0.4)) is True  # an edit, rescored
    assert _days(store, channel)[-1] == ("2026-11-20", 2, 0.6, 2, 0)
    assert store.delete("T1", "C1", f"{NOON:.6f}") is True
    assert store.delete("T1", "C1", f"{NOON:.6f}") is False
    assert _days(store, channel)[-1] == ("2026-11-20", 1, 0.4, 1, 0)


def test_private_channels_are_read_only_from_inside_and_teams_never_mix(
    store: MoodStore,
) -> None:
    store.put_many([_scored(NOON, -0.9, channel="G1", public=False),
                    _scored(NOON, 0.9, team="T2", channel="G1", public=False)])
    assert _days(store, Scope("T1", channel="G1")) == []
    assert _days(store, Scope("T1", channel="G1", include_private=True)) == [
        ("2026-11-20", 1, -0.9, 0, 1)]
    assert _days(store, Scope("T2", channel="G1", include_private=True)) == [
        ("2026-11-20", 1, 0.9, 1, 0)]


def test_a_users_own_mood_spans_their_channels(store: MoodStore) -> None:
    store.put_many([_scored(NOON, 0.5, channel="C1"), _scored(NOON, -0.3, channel="C2"),
                    _scored(NOON + 5, 0.9, channel="C1", user="U2")])
    assert _days(store, Scope("T1", user="U1")) == [("2026-11-20", 2, 0.1, 1, 1)]
    assert store.most_negative(Scope("T1", user="U1"), "2026-11-20") == (
        "C2", f"{NOON:.6f}", -0.3)


def test_a_channels_days_agree_with_its_peoples_days(store: MoodStore) -> None:
    store.put_many([_scored(NOON, 0.8), _scored(NOON + 1, -0.6, user="U2"),
                    _scored(NOON - DAY, 0.3, user="U2")])
    assert store.put(_scored(NOON + 1, 0.2, user="U2")) is True  # rescored
    assert store.delete("T1", "C1", f"{NOON:.6f}") is True
    channel = _days(store, Scope("T1", channel="C1"))
    assert channel == [("2026-11-19", 1, 0.3, 1, 0), ("2026-11-20", 1, 0.2, 1, 0)]
    assert _days(store, Scope("T1", channel="C1", user="U2")) == channel
    assert _days(store, Scope("T1", channel="C1", user="U1")) == []
    assert _days(store, Scope("T1", user="U2")) == channel


def test_most_negative_message_of_a_day_in_a_channel(store: MoodStore) -> None:
    store.put_many([_scored(NOON, -0.2), _scored(NOON + 60, -0.7), _scored(NOON + DAY, -0.9)])
    assert store.most_negative(Scope("T1", channel="C1"), "2026-11-20") == (
        "C1", f"{NOON + 60:.6f}", -0.7)


def test_usual_language_of_a_channel(store: MoodStore) -> None:
    assert store.usual_language("T1", "C1") is None
    store.put_many([_scored(NOON + n, 0.1, lang="es") for n in range(3)]
                   + [_scored(NOON + 10, 0.1, lang="en")])
    assert store.usual_language("T1", "C1") == "es"
    assert store.usual_language("T2", "C1") is None


def test_alert_slots_are_rate_limited_and_opt_in(store: MoodStore) -> None:
    assert store.take_alert_slot("T1", "C1", every=3600, now=NOON) is False  # not opted in
    store.set_alerts("T1", "C1", True, "es", "U1")
    assert store.alerts_language("T1", "C1") == "es"
    assert store.take_alert_slot("T1", "C1", every=3600, now=NOON) is True
    assert store.take_alert_slot("T1", "C1", every=3600, now=NOON + 60) is False
    store.release_alert_slot("T1", "C1", NOON)
    assert store.take_alert_slot("T1", "C1", every=3600, now=NOON + 61) is True
    assert store.take_alert_slot("T1", "C1", every=3600, now=NOON + 3700) is True
    store.set_alerts("T1", "C1", False, "es", "U1")
    assert store.alerts_language("T1", "C1") is None


def test_a_batch_that_scores_a_message_twice_ends_with_the_last_score(store: MoodStore) -> None:
    batch = [_scored(NOON, 0.8), _scored(NOON + 1, -0.6), _scored(NOON, -0.4)]
    assert store.put_many(batch) == 3  # stored, stored, rescored: as if one by one
    assert _days(store, Scope("T1", channel="C1")) == [("2026-11-20", 2, -0.5, 0, 2)]
    assert store.put_many(batch) == 2  # the first copy moves it back, the last one again
    assert store.put_many([]) == 0
    assert _days(store, Scope("T1", channel="C1")) == [("2026-11-20", 2, -0.5, 0, 2)]


def test_a_deleted_message_heard_again_counts_again(store: MoodStore) -> None:
    store.put(_scored(NOON, 0.8))
    assert store.delete("T1", "C1", f"{NOON:.6f}") is True
    assert _days(store, Scope("T1", channel="C1")) == []
    assert store.put(_scored(NOON, -0.8)) is True
    assert _days(store, Scope("T1", channel="C1")) == [("2026-11-20", 1, -0.8, 0, 1)]


def _at_once(threads: int, call: Callable[[int], object]) -> list[object]:
    """Run `call(0)` … `call(threads - 1)` in threads released together; their results."""
    start = threading.Barrier(threads)
    results: list[object] = [None] * threads
    errors: list[BaseException] = []

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = call(n)
        except BaseException as exc:  # re-raised below, in the test's own thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_workers_storing_the_same_messages_at_once_count_them_once(store: MoodStore) -> None:
    # The channel's usual language is English; Spanish counted twice would outvote it.
    store.put_many([_scored(NOON - 3600 + n, 0.0, lang="en") for n in range(150)])
    batch = [_scored(NOON + n, -0.5 if n % 2 else 0.5, user=f"U{n % 7}", lang="es")
             for n in range(100)]

    def store_them(n: int) -> int:
        if n < 2:  # two batches, one in reverse order: they still wait for each other
            return store.put_many(batch if n == 0 else batch[::-1])
        return sum(store.put(item) for item in batch[n::6])  # others one by one

    changed = _at_once(6, store_them)
    assert sum(c for c in changed if isinstance(c, int)) == 100  # each stored by one worker
    assert _days(store, Scope("T1", channel="C1")) == [("2026-11-20", 250, 0.0, 50, 50)]
    assert store.usual_language("T1", "C1") == "en"
    assert store.put_many(batch) == 0
    # Rescored at once by two workers, in opposite orders: each edit moves its message once.
    edited = [replace(item, score=0.9) for item in batch]
    changed = _at_once(2, lambda n: store.put_many(edited if n == 0 else edited[::-1]))
    assert sum(c for c in changed if isinstance(c, int)) == 100
    assert _days(store, Scope("T1", channel="C1")) == [("2026-11-20", 250, 0.36, 100, 0)]
    assert _days(store, Scope("T1", channel="C1", user="U0")) == [
        ("2026-11-20", 15, 0.9, 15, 0)]


def test_batches_mixing_edits_and_new_messages_across_channels_never_deadlock(
    store: MoodStore
) -> None:
    # One worker edits in A and hears a new message in B; the other the reverse. Row locks
    # taken in each phase's own order would cross; the channels' locks come first.
    for round_ in range(15):
        base = NOON + round_ * 10
        store.put_many([_scored(base, 0.1, channel="CA"), _scored(base + 1, 0.1, channel="CB")])
        batches = [[_scored(base, 0.8, channel="CA"), _scored(base + 2, 0.3, channel="CB")],
                   [_scored(base + 3, 0.3, channel="CA"), _scored(base + 1, 0.8, channel="CB")]]
        assert _at_once(2, lambda n, batches=batches: store.put_many(batches[n])) == [2, 2]
    for channel in ("CA", "CB"):
        assert _days(store, Scope("T1", channel=channel)) == [("2026-11-20", 30, 0.55, 30, 0)]


def test_only_one_worker_takes_an_alert_slot(store: MoodStore) -> None:
    store.set_alerts("T1", "C1", True, "en", "U1")
    taken = _at_once(8, lambda n: store.take_alert_slot("T1", "C1", every=3600, now=NOON))
    assert taken.count(True) == 1


def test_the_channels_a_person_wrote_in_most_recent_first_within_their_team(
    store: MoodStore,
) -> None:
    store.put_many([_scored(NOON - 3 * DAY, 0.1, channel="C1"),
                    _scored(NOON - DAY, 0.2, channel="G1", public=False),
                    _scored(NOON, 0.3, channel="C2"),
                    _scored(NOON - 40 * DAY, 0.4, channel="C3"),  # before `since`
                    _scored(NOON, 0.5, channel="C4", user="U2"),  # someone else's
                    _scored(NOON, 0.6, team="T2", channel="C9")])  # another team's
    since = NOON - 30 * DAY
    assert [(w.channel, w.private) for w in store.channels_of("T1", "U1", since, 10)] == [
        ("C2", False), ("G1", True), ("C1", False)]
    assert [w.channel for w in store.channels_of("T1", "U1", since, 2)] == ["C2", "G1"]
    assert [w.channel for w in store.channels_of("T2", "U1", since, 10)] == ["C9"]
    # A deleted message no longer says the person wrote there.
    assert store.delete("T1", "C1", f"{NOON - 3 * DAY:.6f}")
    assert "C1" not in {w.channel for w in store.channels_of("T1", "U1", since, 10)}
