"""The agenda's commands against a real store and the fake Slack over HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from estafeta.grammar import Command
from estafeta.payloads import Context
from estafeta.settings import Settings, own_team
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, OTHER_TEAM, TEAM
from workers.agenda import store as store_module
from workers.agenda.handlers import (
    LIST_LIMIT,
    REQUEST_RETENTION,
    Agenda,
    Occurrence,
    Person,
    build_handlers,
)
from workers.agenda.store import NewEvent
from workers.agenda.when import When
from workers.replies import SlackReplier
from workers.service import LEDGER_RETENTION

IN_CHANNEL = Context(team="T1", channel="C1", user="U1", channel_type="channel",
                     source="slash")


@pytest.fixture
def agenda(store_settings: Settings, fake_slack: FakeSlack) -> Agenda:
    stores = open_stores(store_settings, "agenda")
    return Agenda(stores.events, SlackReplier(fake_slack.api_url, BOT_TOKEN, stores.ledger))


def _run(agenda: Agenda, verb: str, args: str, context: Context = IN_CHANNEL,
         lang: str = "en") -> tuple[str, dict[str, object]]:
    reply = agenda.handlers()[verb](Command("agenda", verb, args, lang), context)
    return reply.text, reply.data


def test_add_in_a_channel_echoes_the_exact_time_in_the_users_zone_and_the_id(
    agenda: Agenda, fake_slack: FakeSlack
) -> None:
    fake_slack.users["U1"] = {"tz": "America/New_York"}
    text, data = _run(agenda, "add", "standup every monday at 9")
    event = data["event"]
    assert isinstance(event, dict)
    assert f"`#{event['id']}`" in text and "standup" in text
    assert "09:00" in text and "America/New_York" in text
    assert event["rrule"] == "FREQ=WEEKLY;BYDAY=MO" and event["tz"] == "America/New_York"
    assert data["notify"] == "channel" and "<#C1>" in text
    start = datetime.fromisoformat(str(event["start"]))
    assert start.weekday() == 0 and (start.hour, start.minute) == (9, 0)
    # The timezone is cached: a second command asks Slack no more.
    _run(agenda, "add", "retro every friday at 16:00")
    assert len(fake_slack.calls_to("users.info")) == 1


def test_remind_me_goes_to_a_direct_message_in_spanish(agenda: Agenda,
                                                       fake_slack: FakeSlack) -> None:
    text, data = _run(agenda, "remind", "enviar el informe mañana a las 10", lang="es")
    event = data["event"]
    assert isinstance(event, dict)
    assert event["title"] == "enviar el informe" and data["notify"] == "dm"
    assert "mensaje directo" in text
    tomorrow = datetime.now(ZoneInfo("Europe/Madrid")).date() + timedelta(days=1)
    assert str(event["start"]).startswith(f"{tomorrow.isoformat()}T10:00")
    assert fake_slack.calls_to("conversations.open")


def test_remind_me_to_strips_the_lead_words(agenda: Agenda) -> None:
    _, data = _run(agenda, "remind", "me to call Ana in 2 hours")
    event = data["event"]
    assert isinstance(event, dict) and event["title"] == "call Ana"


def test_unclear_time_gets_a_question_and_stores_nothing(agenda: Agenda) -> None:
    text, data = _run(agenda, "add", "send the report")
    assert data["error"] == "no_time" and "/agenda" in text
    _, listed = _run(agenda, "list", "week")
    assert listed["occurrences"] == []


def test_list_next_search_and_cancel(agenda: Agenda, fake_slack: FakeSlack) -> None:
    _, first = _run(agenda, "add", "deploy review in 2 hours")
    _, second = _run(agenda, "add", "quarterly planning in 3 days")
    first_id = first["event"]["id"]  # type: ignore[index]
    text, data = _run(agenda, "list", "week")
    assert [o["title"] for o in data["occurrences"]] == [  # type: ignore[union-attr]
        "deploy review", "quarterly planning"]
    assert "deploy review" in text
    _, data = _run(agenda, "next", "")
    assert data["next"]["title"] == "deploy review"  # type: ignore[index]
    _, data = _run(agenda, "search", "PLANNING")
    assert [o["title"] for o in data["occurrences"]] == ["quarterly planning"]  # type: ignore
    # Someone else may not cancel it; the owner may.
    other = Context(team="T1", channel="C1", user="U2", channel_type="channel", source="slash")
    _, data = _run(agenda, "cancel", str(first_id), other)
    assert data["error"] == "forbidden"
    text, data = _run(agenda, "cancel", f"#{first_id}")
    assert data["cancelled"] == first_id and "deploy review" in text
    _, data = _run(agenda, "next", "")
    assert data["next"]["title"] == "quarterly planning"  # type: ignore[index]
    assert second["event"]["id"] != first_id  # type: ignore[index]


def test_workspace_admin_and_channel_creator_may_cancel_a_channel_event(
    agenda: Agenda, fake_slack: FakeSlack
) -> None:
    ids = [_run(agenda, "add", f"demo {n} tomorrow at 11am")[1]["event"]["id"]  # type: ignore
           for n in range(2)]
    fake_slack.users["UADMIN"] = {"is_admin": True}
    fake_slack.creators["C1"] = "UCREATOR"
    for user, event_id in (("UADMIN", ids[0]), ("UCREATOR", ids[1])):
        who = Context(team="T1", channel="C1", user=user, channel_type="channel",
                      source="slash")
        assert _run(agenda, "cancel", str(event_id), who)[1]["cancelled"] == event_id


def test_other_teams_cannot_see_or_cancel(agenda: Agenda) -> None:
    _, data = _run(agenda, "add", "secret launch tomorrow at 11am")
    event_id = data["event"]["id"]  # type: ignore[index]
    stranger = Context(team="T2", channel="C1", user="U1", channel_type="channel",
                       source="slash")
    assert _run(agenda, "cancel", str(event_id), stranger)[1]["error"] == "not_found"
    assert _run(agenda, "search", "secret", stranger)[1]["occurrences"] == []


def test_list_window_words_in_both_languages(agenda: Agenda) -> None:
    _run(agenda, "add", "dentist tomorrow at 11am")
    assert _run(agenda, "list", "hoy", lang="es")[1]["occurrences"] == []
    assert len(_run(agenda, "list", "mañana", lang="es")[1]["occurrences"]) == 1  # type: ignore
    assert _run(agenda, "list", "someday")[1]["error"] == "usage"


def test_export_uploads_an_ics_file_to_the_users_dm(agenda: Agenda) -> None:
    _run(agenda, "add", "standup every monday at 9")
    reply = agenda.export(Command("agenda", "export", "", "en"), IN_CHANNEL)
    assert reply.upload is not None
    assert reply.upload.channel.startswith("D") and reply.upload.filename.endswith(".ics")
    calendar = icalendar.Calendar.from_ical(reply.upload.content)
    (event,) = calendar.walk("VEVENT")
    assert str(event["summary"]) == "standup"
    assert event["rrule"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO"
    assert reply.data["events"] == 1


def test_http_callers_get_utc_no_direct_message_and_the_ics_as_data(
    agenda: Agenda, fake_slack: FakeSlack
) -> None:
    api = Context(team="T1", channel="", user="api", source="api")
    _, data = _run(agenda, "add", "backup check tomorrow at 10am", api)
    assert data["notify"] == "none" and data["event"]["tz"] == "UTC"  # type: ignore[index]
    reply = agenda.export(Command("agenda", "export", "", "en"), api)
    assert reply.upload is None and "BEGIN:VCALENDAR" in reply.data["ics"]
    assert fake_slack.calls_to("users.info") == []


HOSTILE = "<!channel> standup <https://evil|x>"


def _inert(text: str) -> None:
    """No ping or link a user typed survives in `text`."""
    assert "<!channel>" not in text and "<https://evil|x>" not in text
    assert "&lt;!channel&gt;" in text and "&lt;https://evil|x&gt;" in text


def test_titles_and_quoted_words_are_escaped_in_every_reply(agenda: Agenda) -> None:
    text, data = _run(agenda, "add", f"{HOSTILE} tomorrow at 10am")
    _inert(text)
    assert "<#C1>" in text  # the link the bot builds from the stored channel id stays markup
    event_id = data["event"]["id"]  # type: ignore[index]
    assert data["event"]["title"] == HOSTILE  # type: ignore[index]  # JSON keeps it as typed
    listed, _ = _run(agenda, "list", "week")
    _inert(listed)
    assert "<#C1>" in listed
    _inert(_run(agenda, "next", "")[0])
    _inert(_run(agenda, "search", "standup")[0])
    missing, _ = _run(agenda, "search", "<!here> <@U999>")
    assert "&lt;!here&gt; &lt;@U999&gt;" in missing and "<!here>" not in missing
    _inert(_run(agenda, "cancel", str(event_id))[0])


def test_a_stored_channel_that_is_not_an_id_is_written_as_text(agenda: Agenda) -> None:
    # Before HTTP channels were checked, any string could be stored as an event's channel.
    event = agenda.store.add(NewEvent(
        team="T1", channel="<!everyone>", owner="U1", title="legacy",
        when=When(datetime.now(ZoneInfo("UTC")) + timedelta(hours=1), None, True),
        lang="en", notify="", public=True))
    line = agenda._line(Occurrence(event.when.start, event), Person("UTC", False), "en")
    assert "<!everyone>" not in line and "&lt;!everyone&gt;" in line


def test_a_rerun_of_the_same_request_adds_once_and_answers_the_same(agenda: Agenda) -> None:
    retried = replace(IN_CHANNEL, request_id="task-1")
    first = _run(agenda, "add", "deploy review in 2 hours", retried)
    second = _run(agenda, "add", "deploy review in 2 hours", retried)
    assert first == second
    assert len(agenda.store.owned("T1", "U1")) == 1
    # Another request (another task id) is another event; so are old messages without one.
    _run(agenda, "add", "deploy review in 2 hours", replace(IN_CHANNEL, request_id="task-2"))
    _run(agenda, "add", "deploy review in 2 hours")
    _run(agenda, "add", "deploy review in 2 hours")
    assert len(agenda.store.owned("T1", "U1")) == 4


def test_a_rerun_of_remind_and_cancel_has_its_effect_once(agenda: Agenda,
                                                           fake_slack: FakeSlack) -> None:
    retried = replace(IN_CHANNEL, request_id="task-remind")
    first = _run(agenda, "remind", "me to call Ana in 2 hours", retried)
    assert _run(agenda, "remind", "me to call Ana in 2 hours", retried) == first
    assert len(agenda.store.owned("T1", "U1")) == 1
    assert len(fake_slack.calls_to("conversations.open")) == 1
    event_id = first[1]["event"]["id"]  # type: ignore[index]
    cancelling = replace(IN_CHANNEL, request_id="task-cancel")
    cancelled = _run(agenda, "cancel", str(event_id), cancelling)
    assert cancelled[1] == {"cancelled": event_id}
    # The re-run finds the event already cancelled: it answers as the first run did.
    assert _run(agenda, "cancel", str(event_id), cancelling) == cancelled
    assert _run(agenda, "cancel", str(event_id))[1]["error"] == "not_found"


API = Context(team=TEAM, channel="", user="api", source="api")  # the bot's own workspace


@pytest.mark.parametrize(("channel", "setup", "reason"), [
    ("C9", "", "not_in_channel"),  # a public channel the bot is not in
    ("G9", "member", "not_a_public_channel"),  # private, even with the bot in it
    ("D9", "member", "not_a_public_channel"),  # someone's DM
    ("C9", "member archived", "not_a_public_channel"),
    ("<!channel>", "", "not_a_channel"),
])
def test_http_callers_cannot_aim_reminders_at_unvouched_channels(
    agenda: Agenda, fake_slack: FakeSlack, channel: str, setup: str, reason: str
) -> None:
    if "member" in setup:
        fake_slack.bot_channels.add(channel)
    if "archived" in setup:
        fake_slack.archived.add(channel)
    text, data = _run(agenda, "add", "backup check tomorrow at 10am",
                      replace(API, channel=channel))
    assert data == {"error": "channel_not_allowed", "reason": reason}
    assert "public channel" in text and "<!channel>" not in text
    assert agenda.store.visible(TEAM, "api", channel, "", 1e12) == []
    assert agenda.store.claim_due(1e12, 120, 10) == []  # no reminder is waiting anywhere
    if reason == "not_a_channel":
        assert fake_slack.calls_to("conversations.info") == []  # not even asked


def test_http_callers_may_aim_reminders_at_a_public_channel_the_bot_is_in(
    agenda: Agenda, fake_slack: FakeSlack
) -> None:
    fake_slack.bot_channels.add("C9")
    text, data = _run(agenda, "add", "backup check tomorrow at 10am", replace(API, channel="C9"))
    assert data["notify"] == "channel" and "<#C9>" in text
    assert [c.params["channel"] for c in fake_slack.calls_to("conversations.info")] == ["C9"]


@pytest.mark.parametrize("team", [OTHER_TEAM, own_team("a-token-bound-to-no-team")])
def test_http_callers_of_another_workspace_cannot_aim_reminders_at_the_bots_channels(
    agenda: Agenda, fake_slack: FakeSlack, team: str
) -> None:
    fake_slack.bot_channels.add("C9")  # public, and the bot is in it: fine for its own team
    text, data = _run(agenda, "add", "backup check tomorrow at 10am",
                      replace(API, team=team, channel="C9"))
    assert data == {"error": "channel_not_allowed", "reason": "other_workspace"}
    assert "workspace" in text and "Nothing was added" in text
    assert agenda.store.visible(team, "api", "C9", "", 1e12) == []
    assert agenda.store.claim_due(1e12, 120, 10) == []
    assert fake_slack.calls_to("conversations.info") == []  # its channels are not its to ask


def test_the_bots_workspace_is_asked_once(agenda: Agenda, fake_slack: FakeSlack) -> None:
    fake_slack.bot_channels.add("C9")
    for team in (TEAM, OTHER_TEAM, TEAM):
        _run(agenda, "add", "backup check tomorrow at 10am", replace(API, team=team,
                                                                       channel="C9"))
    assert len(fake_slack.calls_to("auth.test")) == 1
    assert len(agenda.store.owned(TEAM, "api")) == 2


@pytest.mark.parametrize(("channel_type", "notify"), [
    ("channel", "channel"), ("group", "channel"), ("im", "dm"), ("mpim", "dm")])
def test_slack_requests_remind_where_they_came_from(agenda: Agenda, channel_type: str,
                                                    notify: str) -> None:
    for source in ("slash", "mention"):
        context = Context(team="T1", channel="C1", user="U1", channel_type=channel_type,
                          source=source)
        _, data = _run(agenda, "add", "sync tomorrow at 11am", context)
        assert data["notify"] == notify
        stored = agenda.store.get("T1", data["event"]["id"])  # type: ignore[index]
        assert stored is not None
        assert stored.notify == ("C1" if notify == "channel" else "D1")  # the DM opened


def test_repeating_more_often_than_every_five_minutes_is_refused(agenda: Agenda) -> None:
    text, data = _run(agenda, "add", "stretch every minute")
    assert data["error"] == "too_often" and "5 minutes" in text
    assert agenda.store.owned("T1", "U1") == []


def test_list_enumerates_a_bounded_number_of_occurrences_per_event(
    agenda: Agenda, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An "every minute" event stored before such rules were refused: 10,080 starts a week.
    start = datetime.now(ZoneInfo("UTC")).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for title in ("flood", "slow flood"):
        agenda.store.add(NewEvent(team="T1", channel="C1", owner="U1", title=title,
                                  when=When(start, "FREQ=MINUTELY", True), lang="en",
                                  notify="", public=True))
    calls = []
    real = store_module.next_occurrence

    def counting(when: When, after: datetime) -> datetime | None:
        calls.append(after)
        return real(when, after)

    monkeypatch.setattr(store_module, "next_occurrence", counting)
    text, data = _run(agenda, "list", "week")
    assert len(calls) <= 2 * (LIST_LIMIT + 1)
    assert len(data["occurrences"]) == LIST_LIMIT  # type: ignore[arg-type]
    assert data["more"] is True and "at least" in text


@pytest.mark.parametrize(("channel", "notify", "public"), [
    ("C1", "C1", True), ("G1", "G1", False), ("D7", "D1", False)])
def test_a_mention_reminds_the_conversation_it_came_from(
    agenda: Agenda, fake_slack: FakeSlack, channel: str, notify: str, public: bool
) -> None:
    # Slack's app_mention events carry no channel_type: the conversation is looked up.
    mention = Context(team="T1", channel=channel, user="U1", source="mention")
    _, data = _run(agenda, "add", "sync tomorrow at 11am", mention)
    stored = agenda.store.get("T1", data["event"]["id"])  # type: ignore[index]
    assert stored is not None and (stored.notify, stored.public) == (notify, public)
    assert [c.params["channel"] for c in fake_slack.calls_to("conversations.info")] == [channel]


def test_maintenance_forgets_request_records_only_after_every_retry_window(
    store_settings: Settings, fake_slack: FakeSlack
) -> None:
    assert REQUEST_RETENTION >= LEDGER_RETENTION
    stores = open_stores(store_settings, "agenda")
    store = stores.events
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, stores.ledger)
    (prune,) = build_handlers(store, replier).maintenance
    now = datetime.now().timestamp()
    old = store.add(_new_event("old"), request_key="task-old", now=now - REQUEST_RETENTION - 60)
    recent = store.add(_new_event("recent"), request_key="task-recent",
                       now=now - REQUEST_RETENTION + 3600)
    assert prune()["requests_pruned"] == 1
    assert store.request("T1", "task-old") is None
    assert store.request("T1", "task-recent") == ("add", recent.id, None)
    # Only the record goes: the event it added stays on the agenda.
    assert old.id in {event.id for event in store.owned("T1", "U1")}
    assert prune()["requests_pruned"] == 0


def _new_event(title: str) -> NewEvent:
    start = datetime.now(ZoneInfo("UTC")) + timedelta(days=3)
    return NewEvent(team="T1", channel="", owner="U1", title=title,
                    when=When(start=start, rrule=None, time_given=True), lang="en",
                    notify="D1", public=True)


@pytest.mark.parametrize(("lang", "source", "one", "two", "none"), [
    ("en", "api", "1 event exported.", "2 events exported.", "0 events exported."),
    ("es", "api", "1 evento exportado.", "2 eventos exportados.", "0 eventos exportados."),
    ("en", "slash", "(1 event)", "(2 events)", "(0 events)"),
    ("es", "slash", "(1 evento)", "(2 eventos)", "(0 eventos)"),
])
def test_export_counts_events_in_the_singular_and_the_plural(
    agenda: Agenda, lang: str, source: str, one: str, two: str, none: str
) -> None:
    context = IN_CHANNEL if source == "slash" else Context(team="T1", channel="", user="api",
                                                          source="api")
    export = Command("agenda", "export", "", lang)
    assert none in agenda.export(export, context).text
    _run(agenda, "add", "standup every monday at 9", context)
    assert one in agenda.export(export, context).text
    _run(agenda, "add", "retro every friday at 4pm", context)
    assert two in agenda.export(export, context).text
