"""The mood store: idempotent scores, daily aggregates kept in step, team isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from workers.sentiment.scores import MoodStore, Scope, Scored
from workers.sentiment.sqlite_scores import SqliteMoodStore

DAY = 86400.0
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def store(tmp_path: Path) -> MoodStore:
    return SqliteMoodStore(tmp_path / "sentiment.sqlite")


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
