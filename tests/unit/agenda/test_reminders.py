"""Reminder delivery against the fake Slack over HTTP: once, late, rescheduled, crash-safe."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.agenda.reminders import deliver_one, following_due, reminder_text
from workers.agenda.store import AgendaStore, Claimed, Event, NewEvent
from workers.agenda.when import When
from workers.replies import Ledger, SlackReplier

MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture
def store(tmp_path: Path) -> AgendaStore:
    return AgendaStore(tmp_path / "agenda.sqlite")


@pytest.fixture
def replier(tmp_path: Path, fake_slack: FakeSlack) -> SlackReplier:
    return SlackReplier(fake_slack.api_url, BOT_TOKEN, Ledger(tmp_path / "agenda.sqlite"))


def _add(store: AgendaStore, start: datetime, rrule: str | None = None,
         lang: str = "en") -> Event:
    return store.add(NewEvent(team="T1", channel="", owner="U1", title="water the plants",
                              when=When(start, rrule, True), lang=lang, notify="DU1",
                              public=False))


def _claim(store: AgendaStore) -> Claimed:
    claimed = store.claim_due(time.time(), lease=120, limit=10)
    assert len(claimed) == 1
    return claimed[0]


def test_due_reminder_is_posted_once_then_done(store: AgendaStore, replier: SlackReplier,
                                               fake_slack: FakeSlack) -> None:
    _add(store, datetime.now(MADRID) - timedelta(seconds=5))
    claimed = _claim(store)
    assert deliver_one(store, replier, claimed) is True
    assert deliver_one(store, replier, claimed) is False  # a duplicate task
    posts = fake_slack.posted("DU1")
    assert len(posts) == 1
    assert "water the plants" in posts[0]["text"] and "Late" not in posts[0]["text"]
    assert store.pending() == 0


def test_reminder_after_downtime_is_marked_late(store: AgendaStore, replier: SlackReplier,
                                                fake_slack: FakeSlack) -> None:
    _add(store, datetime.now(MADRID) - timedelta(hours=2), lang="es")
    deliver_one(store, replier, _claim(store))
    (post,) = fake_slack.posted("DU1")
    assert "Con retraso" in post["text"]


def test_recurring_reminder_missed_several_times_is_posted_once_and_rescheduled(
    store: AgendaStore, replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    start = datetime.now(MADRID).replace(microsecond=0) - timedelta(days=3, minutes=1)
    event = _add(store, start, "FREQ=DAILY")
    deliver_one(store, replier, _claim(store))
    assert len(fake_slack.posted("DU1")) == 1
    moved = store.by_id(event.id)
    assert moved is not None and moved.due_at is not None
    following = datetime.fromtimestamp(moved.due_at, MADRID)
    assert following > datetime.now(MADRID)
    assert following - datetime.now(MADRID) <= timedelta(days=1)
    assert following.time() == start.time()  # same wall-clock time


def test_cancelled_reminder_is_not_posted(store: AgendaStore, replier: SlackReplier,
                                          fake_slack: FakeSlack) -> None:
    event = _add(store, datetime.now(MADRID) - timedelta(seconds=1))
    claimed = _claim(store)
    store.cancel("T1", event.id)
    assert deliver_one(store, replier, claimed) is False
    assert fake_slack.posted() == []


def test_worker_killed_after_slack_answered_does_not_post_twice(
    store: AgendaStore, replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    event = _add(store, datetime.now(MADRID) - timedelta(seconds=1))
    claimed = _claim(store)
    key = f"reminder:{event.id}:{claimed.due_at:.3f}"
    # What a killed worker leaves: its claim in the ledger and its post in Slack, no record.
    assert replier.ledger.claim(key)
    replier.post_message("DU1", "water the plants",
                         metadata={"event_type": "estafeta_reply",
                                   "event_payload": {"reply_key": key}})
    assert deliver_one(store, replier, claimed, takeover=True) is False
    assert len(fake_slack.posted("DU1")) == 1
    assert store.pending() == 0


def test_worker_killed_before_posting_posts_on_redelivery(
    store: AgendaStore, replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    event = _add(store, datetime.now(MADRID) - timedelta(seconds=1))
    claimed = _claim(store)
    assert replier.ledger.claim(f"reminder:{event.id}:{claimed.due_at:.3f}")
    assert deliver_one(store, replier, claimed, takeover=True) is True
    assert len(fake_slack.posted("DU1")) == 1


def test_following_due_keeps_wall_clock_time_across_dst(store: AgendaStore) -> None:
    # Mondays at 09:00 in Madrid: 26 Oct 2026 is the first Monday after summer time ends.
    start = datetime(2026, 10, 19, 9, 0, tzinfo=MADRID)
    event = _add(store, start, "FREQ=WEEKLY;BYDAY=MO")
    due = start.timestamp()
    following = following_due(event, due, due)
    assert following is not None
    local = datetime.fromtimestamp(following, MADRID)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-10-26", 9, 0)
    assert following - due == 7 * 86400 + 3600  # one hour longer: the clocks went back


def test_reminder_text_names_the_time_in_the_events_zone(store: AgendaStore) -> None:
    event = _add(store, datetime(2026, 11, 20, 10, 0, tzinfo=MADRID))
    due = event.start_at
    assert "(10:00)" in reminder_text(event, due, due + 1)
    assert "Late" in reminder_text(event, due, due + 3600)
