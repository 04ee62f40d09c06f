"""The agenda's commands against a real store and the fake Slack over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from grammar import Command
from payloads import Context
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.agenda.handlers import Agenda
from workers.agenda.store import AgendaStore
from workers.replies import Ledger, SlackReplier

IN_CHANNEL = Context(team="T1", channel="C1", user="U1", channel_type="channel",
                     source="slash")


@pytest.fixture
def agenda(tmp_path: Path, fake_slack: FakeSlack) -> Agenda:
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, Ledger(tmp_path / "agenda.sqlite"))
    return Agenda(AgendaStore(tmp_path / "agenda.sqlite"), replier)


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
