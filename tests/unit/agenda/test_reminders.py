"""Reminder delivery against the fake Slack over HTTP: once, late, rescheduled, crash-safe."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.agenda.reminders import deliver_batch, deliver_one, following_due, reminder_text
from workers.agenda.store import AgendaStore, AgendaStores, Claimed, Event, NewEvent
from workers.agenda.when import When
from workers.replies import SlackReplier, TransientError

MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture
def stores(store_settings: Settings) -> AgendaStores:
    return open_stores(store_settings, "agenda")


@pytest.fixture
def store(stores: AgendaStores) -> AgendaStore:
    return stores.events


@pytest.fixture
def replier(stores: AgendaStores, fake_slack: FakeSlack) -> SlackReplier:
    return SlackReplier(fake_slack.api_url, BOT_TOKEN, stores.ledger)


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


def _due(store: AgendaStore, title: str, notify: str, owner: str = "U1",
         channel: str = "") -> Event:
    return store.add(NewEvent(team="T1", channel=channel, owner=owner, title=title,
                              when=When(datetime.now(MADRID) - timedelta(seconds=2), None, True),
                              lang="en", notify=notify, public=False))


def _batch(store: AgendaStore) -> list[list[float]]:
    return [[c.event_id, c.due_at] for c in store.claim_due(time.time(), lease=120, limit=50)]


def test_reminder_text_is_escaped(store: AgendaStore) -> None:
    event = _due(store, "<!channel> standup <https://evil|x>", "DU1")
    text = reminder_text(event, event.start_at, event.start_at)
    assert "<!channel>" not in text and "<https://evil|x>" not in text
    assert "&lt;!channel&gt; standup &lt;https://evil|x&gt;" in text


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived",
                                   "channel_is_archived", "user_not_found",
                                   "restricted_action", "account_inactive"])
def test_a_reminder_slack_refuses_pauses_its_event_tells_its_owner_and_the_rest_go_out(
    store: AgendaStore, replier: SlackReplier, fake_slack: FakeSlack, error: str
) -> None:
    before = _due(store, "before", "DU1", owner="U1")
    gone = _due(store, "<!here> retro", "CGONE", owner="UOWNER", channel="CGONE")
    after = _due(store, "after", "DU2", owner="U2")
    fake_slack.refusals["CGONE"] = error
    batch = _batch(store)
    assert deliver_batch(store, replier, batch) == 2
    assert len(fake_slack.posted("DU1")) == 1 and len(fake_slack.posted("DU2")) == 1
    paused = store.by_id(gone.id)
    assert paused is not None and paused.paused_reason == error
    assert paused.paused_at is not None and paused.due_at is None
    assert store.pending() == 0  # nothing of it is due any more
    (told,) = fake_slack.posted("DOWNER")
    assert f"`#{gone.id}`" in told["text"] and error in told["text"]
    assert "<#CGONE>" in told["text"] and "&lt;!here&gt;" in told["text"]
    # The same batch again (a redelivery): nothing is posted twice, the owner told once.
    assert deliver_batch(store, replier, batch, takeover=True) == 0
    assert len(fake_slack.posted("DOWNER")) == 1 and len(fake_slack.posted()) == 3
    for event in (before, after):
        delivered = store.by_id(event.id)
        assert delivered is not None and delivered.delivered and delivered.paused_at is None


def test_when_telling_the_owner_fails_the_batch_still_goes_on(
    store: AgendaStore, replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    # A personal reminder of a deactivated user: their DM refuses the reminder and the notice.
    _due(store, "mine", "D9", owner="U9")
    _due(store, "yours", "DU2", owner="U2")
    fake_slack.refusals["D9"] = "user_not_found"
    assert deliver_batch(store, replier, _batch(store)) == 1
    assert len(fake_slack.posted("DU2")) == 1
    assert fake_slack.calls_to("chat.postMessage!user_not_found")  # the notice was tried


def test_a_refused_token_pauses_nothing_and_stops_the_batch(
    store: AgendaStore, replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    first = _due(store, "first", "DU1")
    _due(store, "second", "DU2")
    fake_slack.refusals["DU1"] = "invalid_auth"
    assert deliver_batch(store, replier, _batch(store)) == 0
    kept = store.by_id(first.id)
    assert kept is not None and kept.paused_at is None and kept.due_at == first.start_at
    assert fake_slack.posted() == []  # the others would fail alike: not tried in this batch


def test_transient_errors_still_retry_the_batch(store: AgendaStore, replier: SlackReplier,
                                                fake_slack: FakeSlack) -> None:
    _due(store, "first", "DU1")
    _due(store, "second", "DU2")
    batch = _batch(store)
    fake_slack.refusals["DU2"] = "service_unavailable"
    with pytest.raises(TransientError):
        deliver_batch(store, replier, batch)
    fake_slack.refusals.clear()
    assert deliver_batch(store, replier, batch, attempt=1) == 1  # the first is skipped
    assert len(fake_slack.posted("DU1")) == 1 and len(fake_slack.posted("DU2")) == 1


class Tokens:
    """A token per team, as installations give them; a refused token is forgotten."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def token_for(self, team: str) -> str | None:
        return self.tokens.get(team)

    def refused(self, team: str, token: str) -> None:
        self.tokens.pop(team, None)


def _due_in(store: AgendaStore, team: str, title: str, notify: str) -> Event:
    return store.add(NewEvent(team=team, channel="", owner="U1", title=title,
                              when=When(datetime.now(MADRID) - timedelta(seconds=2), None, True),
                              lang="en", notify=notify, public=False))


def test_a_team_without_installation_pauses_its_reminder_and_the_other_teams_go_out(
    stores: AgendaStores, fake_slack: FakeSlack
) -> None:
    fake_slack.install("xoxb-b", "TB")
    replier = SlackReplier(fake_slack.api_url, "", stores.ledger,
                           tokens=Tokens({"TB": "xoxb-b"}))  # TA uninstalled the app
    store = stores.events
    gone = _due_in(store, "TA", "gone team", "DA1")
    kept = _due_in(store, "TB", "kept team", "DB1")
    batch = _batch(store)
    assert [item[0] for item in batch] == [gone.id, kept.id]
    assert deliver_batch(store, replier, batch) == 1
    (post,) = fake_slack.posted()
    assert post["channel"] == "DB1" and fake_slack.calls_of("TB")
    paused = store.by_id(gone.id)
    assert paused is not None and paused.paused_reason == "not_installed"
    assert paused.due_at is None and paused.paused_at is not None
    delivered = store.by_id(kept.id)
    assert delivered is not None and delivered.delivered and delivered.paused_at is None
    assert store.pending() == 0
    # Its key was given back: nothing is held as "posting" for a reminder never sent.
    assert replier.ledger.state(f"reminder:{gone.id}:{gone.start_at:.3f}") is None


def test_a_snooze_of_a_team_without_installation_is_dropped_and_its_event_paused(
    stores: AgendaStores, fake_slack: FakeSlack
) -> None:
    replier = SlackReplier(fake_slack.api_url, "", stores.ledger, tokens=Tokens({}))
    store = stores.events
    later = datetime.now(MADRID) + timedelta(days=1)
    event = store.add(NewEvent(team="TA", channel="", owner="U1", title="daily",
                               when=When(later, "FREQ=DAILY", True), lang="en",
                               notify="DA1", public=False))
    now = time.time()
    store.snooze("TA", event.id, now - 600, now - 1, request_key="click-1")
    (claimed,) = store.claim_due(now, lease=120, limit=10)
    assert claimed.snooze
    assert deliver_batch(store, replier, [claimed.as_list()]) == 0
    assert fake_slack.posted() == []
    paused = store.by_id(event.id)
    assert paused is not None and paused.paused_reason == "not_installed"
    assert store.pending() == 0


def test_a_team_refusing_its_token_stops_only_its_own_reminders(
    stores: AgendaStores, fake_slack: FakeSlack
) -> None:
    fake_slack.install("xoxb-a", "TA")
    fake_slack.install("xoxb-b", "TB")
    replier = SlackReplier(fake_slack.api_url, "", stores.ledger,
                           tokens=Tokens({"TA": "xoxb-a", "TB": "xoxb-b"}))
    store = stores.events
    first = _due_in(store, "TA", "first of A", "DA1")
    other = _due_in(store, "TB", "of B", "DB1")
    second = _due_in(store, "TA", "second of A", "DA2")
    fake_slack.revoke("xoxb-a")
    batch = _batch(store)
    assert [item[0] for item in batch] == [first.id, other.id, second.id]
    assert deliver_batch(store, replier, batch) == 1
    assert [p["channel"] for p in fake_slack.posted()] == ["DB1"]
    # One refusal was enough: the rest of that team's batch was not tried, nor paused.
    assert len(fake_slack.calls_to("chat.postMessage!invalid_auth")) == 1
    for event in (first, second):
        left = store.by_id(event.id)
        assert left is not None and left.paused_at is None and left.due_at == event.start_at
