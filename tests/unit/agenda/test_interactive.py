"""The agenda's form, buttons and Home section against a real store and the fake Slack."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from estafeta import grammar
from estafeta.grammar import Command
from estafeta.interactions import Interaction
from estafeta.mrkdwn import escape
from estafeta.payloads import Context
from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, OTHER_TEAM, TEAM
from workers.agenda.form import FormProblem, metadata, modal, read_form
from workers.agenda.handlers import Agenda, build_handlers
from workers.agenda.interactive import Interactive
from workers.agenda.reminders import deliver_batch, deliver_one
from workers.agenda.store import AgendaStore, Claimed, Event, NewEvent
from workers.agenda.when import When
from workers.replies import SlackReplier
from workers.service import check_handlers

MADRID = ZoneInfo("Europe/Madrid")
IN_CHANNEL = Context(team="T1", channel="C1", user="U1", channel_type="channel",
                     source="interaction", request_id="req-1")
HOSTILE = "<!channel> demo & <https://evil|x>"


@pytest.fixture
def agenda(store_settings: Settings, fake_slack: FakeSlack) -> Agenda:
    stores = open_stores(store_settings, "agenda")
    return Agenda(stores.events, SlackReplier(fake_slack.api_url, BOT_TOKEN, stores.ledger))


@pytest.fixture
def interactive(agenda: Agenda) -> Interactive:
    return Interactive(agenda)


def _tomorrow() -> str:
    return (datetime.now(MADRID).date() + timedelta(days=1)).isoformat()


def _form_values(title: str = "send the report", day: str | None = None,
                 clock: str = "10:30", repeat: str = "none") -> dict[str, str]:
    return {"title": title, "date": day or _tomorrow(), "time": clock, "repeat": repeat}


def _submission(values: dict[str, str], channel: str = "C1", lang: str = "en") -> Interaction:
    return Interaction(kind="view_submission", id="agenda.add", values=values,
                       private_metadata=metadata(channel, lang), view_id="V1")


def _click(action: str, value: str) -> Interaction:
    return Interaction(kind="block_actions", id=action, value=value, trigger_id="1.2.t",
                       container="message")


# -- the modal and its declaration --------------------------------------------------------


@pytest.mark.parametrize("lang, title", [("en", "New event"), ("es", "Nuevo evento")])
def test_the_modal_has_the_declared_inputs_and_says_where_it_came_from(lang: str,
                                                                       title: str) -> None:
    view = modal(lang, "C42")
    assert view["type"] == "modal" and view["callback_id"] == "agenda.add"
    assert view["title"]["text"] == title
    assert json.loads(view["private_metadata"]) == {"channel": "C42", "lang": lang}
    form = grammar.declaration("agenda").forms["agenda.add"]
    inputs = [(b["block_id"], b["element"]["action_id"], b["element"]["type"])
              for b in view["blocks"]]
    assert [(name, name) for name, _, _ in inputs] == [(i.name, i.name) for i in form.inputs]
    assert [kind for *_, kind in inputs] == ["plain_text_input", "datepicker", "timepicker",
                                             "static_select"]
    repeat = view["blocks"][3]["element"]
    offered = [option["value"] for option in repeat["options"]]
    assert offered == ["none", "daily", "weekdays", "weekly", "monthly"]
    assert tuple(offered) == form.inputs[3].choices and repeat["initial_option"]["value"] == "none"


def test_the_declaration_holds_the_form_ids_home_and_scopes_and_the_handlers_match() -> None:
    declared = grammar.declaration("agenda")
    assert declared.empty_verb == "form"
    assert set(declared.callbacks) == {"agenda.add"}
    assert [s.callback_id for s in declared.shortcuts] == ["agenda.new"]
    assert grammar.interaction_service("agenda.new") == "agenda"
    assert {"agenda.cancel", "agenda.done", "agenda.snooze_10m", "agenda.snooze_1h",
            "agenda.snooze_tomorrow"} <= set(declared.actions)
    assert declared.home and {"chat:write", "users:read", "im:write", "commands"} <= set(
        declared.scopes)
    assert grammar.parse("agenda", "").verb == "form"
    check_handlers("agenda", declared, build_handlers(None, None))  # type: ignore[arg-type]


@pytest.mark.parametrize("lang, needle", [("en", "Please fill this in."),
                                          ("es", "Rellena este campo.")])
def test_the_gateway_form_check_names_each_wrong_field(lang: str, needle: str) -> None:
    form = grammar.declaration("agenda").forms["agenda.add"]
    errors = form.errors({"title": " ", "date": "2026-02-30", "time": "25:00",
                          "repeat": "hourly"}, lang)
    assert set(errors) == {"title", "date", "time", "repeat"}
    assert errors["title"] == needle
    assert form.errors(_form_values(), lang) == {}
    assert "title" in form.errors(_form_values(title="x" * 201), lang)


# -- reading a submission -----------------------------------------------------------------


def test_read_form_turns_the_repeat_choice_into_the_agendas_rules() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=MADRID)  # a Tuesday
    saturday = "2026-12-05"
    cases = {"none": None, "daily": "FREQ=DAILY", "weekly": "FREQ=WEEKLY;BYDAY=SA",
             "monthly": "FREQ=MONTHLY;BYMONTHDAY=5",
             "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"}
    for repeat, rule in cases.items():
        wanted = read_form(_form_values("  stand   up ", saturday, "09:15", repeat),
                           "Europe/Madrid", now, "en")
        assert wanted.title == "stand up" and wanted.when.rrule == rule
        assert wanted.when.time_given and wanted.when.start.tzinfo == MADRID
    # Weekdays from a Saturday start on the Monday after it.
    monday = read_form(_form_values(day=saturday, repeat="weekdays"), "Europe/Madrid", now, "en")
    assert monday.when.start.date() == date(2026, 12, 7)
    assert (monday.when.start.hour, monday.when.start.minute) == (10, 30)


def test_read_form_refuses_a_past_time_and_bad_values_in_the_forms_language() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=MADRID)
    with pytest.raises(FormProblem, match="already passed"):
        read_form(_form_values(day="2026-12-01", clock="11:59"), "Europe/Madrid", now, "en")
    with pytest.raises(FormProblem, match="ya ha pasado"):
        read_form(_form_values(day="2026-12-01", clock="11:59"), "Europe/Madrid", now, "es")
    with pytest.raises(FormProblem, match="Rellena"):
        read_form(_form_values(title=""), "Europe/Madrid", now, "es")
    with pytest.raises(FormProblem, match="Pick one"):
        read_form(_form_values(repeat="yearly"), "Europe/Madrid", now, "en")


# -- opening the form ---------------------------------------------------------------------


def test_slash_agenda_alone_opens_the_modal_with_the_trigger(interactive: Interactive,
                                                             fake_slack: FakeSlack) -> None:
    slash = Context(team="T1", channel="C7", user="U1", channel_type="channel",
                    source="slash", trigger_id="123.456.abc")
    reply = interactive.form_command(Command("agenda", "form", "", "es"), slash)
    assert reply.data == {"form": "opened"}
    (call,) = fake_slack.calls_to("views.open")
    assert call.params["trigger_id"] == "123.456.abc"
    (view,) = fake_slack.views.values()
    assert json.loads(view["private_metadata"]) == {"channel": "C7", "lang": "es"}
    assert view["title"]["text"] == "Nuevo evento"
    # A re-run of the same request (its reply failed) does not try the used trigger again.
    rerun = replace(slash, request_id="task-form")
    interactive.form_command(Command("agenda", "form", "", "es"), rerun)
    again = interactive.form_command(Command("agenda", "form", "", "es"), rerun)
    assert again.data == {"form": "opened"} and len(fake_slack.calls_to("views.open")) == 2


def test_over_http_agenda_alone_keeps_answering_the_help(interactive: Interactive,
                                                         fake_slack: FakeSlack) -> None:
    api = Context(team="T1", user="api", source="api")
    reply = interactive.form_command(Command("agenda", "form", "", "en"), api)
    assert reply.data == {"help": True} and "/agenda add" in reply.text
    assert fake_slack.calls_to("views.open") == []


class _ExpiredTrigger(SlackReplier):
    """A Slack that answers `views.open` as it does a trigger older than 3 seconds."""

    def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        if method == "views_open":
            response = SlackResponse(client=None, http_verb="POST", api_url="views.open",
                                     req_args={}, data={"ok": False,
                                                        "error": "expired_trigger_id"},
                                     headers={}, status_code=200)
            raise SlackApiError("expired", response)
        return super().call(method, **arguments)


@pytest.mark.parametrize("lang, needle", [("en", "/agenda add"), ("es", "/agenda añade")])
def test_an_expired_trigger_is_answered_with_what_to_do(agenda: Agenda, fake_slack: FakeSlack,
                                                        lang: str, needle: str) -> None:
    late = Interactive(Agenda(agenda.store, _ExpiredTrigger(fake_slack.api_url, BOT_TOKEN,
                                                             agenda.replier.ledger)))
    slash = Context(team="T1", channel="C7", user="U1", source="slash", trigger_id="old")
    reply = late.form_command(Command("agenda", "form", "", lang), slash)
    assert reply.data == {"error": "form_not_opened"} and needle in reply.text
    # From the shortcut (no channel, no response_url): told by direct message, once.
    shortcut = Context(team="T1", user="U1", source="interaction", request_id="req-sc")
    item = Interaction(kind="shortcut", id="agenda.new", trigger_id="old")
    assert late.open_form_click(item, shortcut, lang) is None
    assert late.open_form_click(item, shortcut, lang) is None
    (dm,) = fake_slack.posted("D1")
    assert needle in dm["text"]


def test_the_shortcut_opens_a_form_that_answers_by_direct_message(
    interactive: Interactive, fake_slack: FakeSlack
) -> None:
    shortcut = Context(team="T1", user="U1", source="interaction")
    item = Interaction(kind="shortcut", id="agenda.new", trigger_id="9.9.z")
    assert interactive.open_form_click(item, shortcut, "en") is None
    (view,) = fake_slack.views.values()
    assert json.loads(view["private_metadata"]) == {"channel": "", "lang": "en"}


# -- submitting it ------------------------------------------------------------------------


@pytest.mark.parametrize("lang, added", [("en", "Added"), ("es", "Añadido")])
def test_a_submission_adds_the_event_once_in_the_persons_timezone(
    interactive: Interactive, agenda: Agenda, fake_slack: FakeSlack, lang: str, added: str
) -> None:
    fake_slack.users["U1"] = {"tz": "America/New_York"}
    item = _submission(_form_values(HOSTILE, repeat="weekly"), lang=lang)
    first = interactive.submitted(item, IN_CHANNEL, lang)
    again = interactive.submitted(item, IN_CHANNEL, lang)  # the task run twice
    assert first is not None and again is not None
    assert first.text == again.text and added in first.text
    (event,) = agenda.store.owned("T1", "U1")
    assert event.tz == "America/New_York" and event.title == HOSTILE
    assert event.start_local.endswith("T10:30:00") and event.rrule.startswith("FREQ=WEEKLY")
    assert event.notify == "C1" and event.public  # asked from a public channel: it is reminded
    # The title is written back escaped, in the text and in the blocks.
    for shown in (first.text, json.dumps(first.blocks)):
        assert "<!channel>" not in shown and "<https://evil|x>" not in shown
    assert "&lt;!channel&gt; demo &amp;" in first.text
    button = first.blocks[0]["accessory"]  # type: ignore[index]
    assert button["action_id"] == "agenda.cancel" and button["value"] == str(event.id)


def test_a_submission_is_checked_again_on_the_worker(interactive: Interactive,
                                                     agenda: Agenda) -> None:
    bad = _submission(_form_values(day="not-a-date", clock="9"))
    reply = interactive.submitted(bad, IN_CHANNEL, "en")
    assert reply is not None and reply.data == {"error": "invalid"}
    assert "Nothing was added" in reply.text and "Day" in reply.text and "Time" in reply.text
    assert agenda.store.owned("T1", "U1") == []


def test_a_submission_without_a_channel_is_confirmed_by_direct_message(
    interactive: Interactive, agenda: Agenda, fake_slack: FakeSlack
) -> None:
    home = Context(team="T1", user="U1", source="interaction", request_id="req-home")
    item = _submission(_form_values("water the plants"), channel="")
    assert interactive.submitted(item, home, "en") is None
    assert interactive.submitted(item, home, "en") is None
    (dm,) = fake_slack.posted("D1")
    assert "water the plants" in dm["text"]
    (event,) = agenda.store.owned("T1", "U1")
    assert event.notify == "D1" and event.channel == "" and not event.public


def test_a_form_from_a_private_channel_keeps_the_event_private(
    interactive: Interactive, agenda: Agenda, fake_slack: FakeSlack
) -> None:
    fake_slack.private_channels.add("C9")  # a private channel's id starts with C too
    private = replace(IN_CHANNEL, channel="C9")
    interactive.submitted(_submission(_form_values(), channel="C9"), private, "en")
    (event,) = agenda.store.owned("T1", "U1")
    assert event.channel == "C9" and not event.public


# -- Cancel buttons -----------------------------------------------------------------------


def _channel_event(agenda: Agenda, owner: str = "U1", team: str = "T1",
                   title: str = "demo") -> Event:
    return agenda.store.add(NewEvent(
        team=team, channel="C1", owner=owner, title=title,
        when=When(datetime.now(MADRID) + timedelta(hours=3), None, True), lang="en",
        notify="C1", public=True))


def test_listings_show_cancel_only_on_events_the_person_may_cancel(agenda: Agenda) -> None:
    mine = _channel_event(agenda, "U1", title="mine")
    theirs = _channel_event(agenda, "U2", title="theirs")
    slash = Context(team="T1", channel="C1", user="U1", channel_type="channel",
                    source="slash")
    for verb, args in (("list", "week"), ("search", "i"), ("next", "")):
        reply = agenda.handlers()[verb](Command("agenda", verb, args, "en"), slash)
        assert reply.blocks is not None
        buttons = {b["accessory"]["value"] for b in reply.blocks if "accessory" in b}
        assert str(theirs.id) not in buttons
        if verb != "next" or reply.data["next"]["id"] == mine.id:  # type: ignore[index]
            assert str(mine.id) in buttons
    api = Context(team="T1", user="api", source="api")
    assert agenda.handlers()["list"](Command("agenda", "list", "", "en"), api).blocks is None


def test_a_cancel_click_checks_permission_again(interactive: Interactive, agenda: Agenda,
                                                fake_slack: FakeSlack) -> None:
    event = _channel_event(agenda, "U1")
    other = replace(IN_CHANNEL, user="U2", request_id="req-other")
    denied = interactive.cancel_click(_click("agenda.cancel", str(event.id)), other, "en")
    assert denied.data == {"error": "forbidden"}
    stranger = replace(IN_CHANNEL, team="T2", request_id="req-stranger")
    unknown = interactive.cancel_click(_click("agenda.cancel", str(event.id)), stranger, "es")
    assert unknown.data == {"error": "not_found"} and "No encuentro" in unknown.text
    forged = interactive.cancel_click(_click("agenda.cancel", "1; drop"), other, "en")
    assert forged.data == {"error": "usage"}
    assert agenda.store.get("T1", event.id).cancelled_at is None  # type: ignore[union-attr]
    fake_slack.creators["C1"] = "U3"  # the channel's creator may
    creator = replace(IN_CHANNEL, user="U3", request_id="req-creator")
    done = interactive.cancel_click(_click("agenda.cancel", str(event.id)), creator, "en")
    assert done.data == {"cancelled": event.id}
    assert agenda.store.get("T1", event.id).cancelled_at is not None  # type: ignore[union-attr]


# -- reminders, Done and Snooze -----------------------------------------------------------


def _due_reminder(store: AgendaStore, lang: str = "en", title: str = "stretch") -> Event:
    return store.add(NewEvent(team="T1", channel="", owner="U1", title=title,
                              when=When(datetime.now(MADRID) - timedelta(seconds=2), None,
                                        True),
                              lang=lang, notify="DU1", public=False))


def test_a_posted_reminder_carries_done_and_snooze_buttons(agenda: Agenda,
                                                           fake_slack: FakeSlack) -> None:
    event = _due_reminder(agenda.store, title=HOSTILE)
    (claimed,) = agenda.store.claim_due(time.time(), 120, 10)
    assert deliver_one(agenda.store, agenda.replier, claimed)
    (post,) = fake_slack.posted("DU1")
    section, actions = post["blocks"]
    assert "<!channel>" not in section["text"]["text"]
    assert [b["action_id"] for b in actions["elements"]] == [
        "agenda.done", "agenda.snooze_10m", "agenda.snooze_1h", "agenda.snooze_tomorrow"]
    assert {b["value"] for b in actions["elements"]} == {f"{event.id}:{event.start_at:.3f}"}


@pytest.mark.parametrize("lang, again", [("en", "Reminder again"),
                                         ("es", "Te lo recuerdo de nuevo")])
def test_snooze_schedules_one_more_reminder_once(agenda: Agenda, interactive: Interactive,
                                                 fake_slack: FakeSlack, lang: str,
                                                 again: str) -> None:
    event = _due_reminder(agenda.store, lang)
    value = f"{event.id}:{event.start_at:.3f}"
    in_dm = Context(team="T1", channel="DU1", user="U1", source="interaction",
                    request_id="click-1")
    first = interactive.snooze_click(_click("agenda.snooze_10m", value), in_dm, lang)
    second = interactive.snooze_click(_click("agenda.snooze_10m", value), in_dm, lang)
    assert first.data == second.data and first.data["snoozed"] == event.id
    assert first.data["due_at"] == pytest.approx(time.time() + 600, abs=5)
    assert agenda.store.pending() == 2  # its own reminder, and one snooze
    # A click elsewhere than where the reminder was posted, or of another team, does nothing.
    elsewhere = replace(in_dm, channel="C1", request_id="click-2")
    assert interactive.snooze_click(_click("agenda.snooze_1h", value), elsewhere,
                                    lang).data == {"error": "not_found"}
    assert agenda.store.pending() == 2
    # When it is due, it is claimed and posted once, with the buttons again.
    later = time.time() + 601
    claimed = [c for c in agenda.store.claim_due(later, 120, 10) if c.snooze]
    assert len(claimed) == 1 and claimed[0].starts_at == pytest.approx(event.start_at)
    batch = [c.as_list() for c in claimed]
    assert deliver_batch(agenda.store, agenda.replier, batch) == 1
    assert deliver_batch(agenda.store, agenda.replier, batch) == 0
    (post,) = fake_slack.posted("DU1")
    assert again in post["text"] and post["blocks"][1]["type"] == "actions"
    assert agenda.store.pending() == 1  # the snooze is done; its own reminder is left


def test_snooze_until_tomorrow_keeps_the_time_of_the_occurrence(
    agenda: Agenda, interactive: Interactive
) -> None:
    event = _due_reminder(agenda.store)
    value = f"{event.id}:{event.start_at:.3f}"
    in_dm = Context(team="T1", channel="DU1", user="U1", source="interaction",
                    request_id="click-t")
    reply = interactive.snooze_click(_click("agenda.snooze_tomorrow", value), in_dm, "en")
    due = datetime.fromtimestamp(float(reply.data["due_at"]), MADRID)
    start = datetime.fromtimestamp(event.start_at, MADRID)
    assert due.date() == datetime.now(MADRID).date() + timedelta(days=1)
    assert (due.hour, due.minute) == (start.hour, start.minute)


def test_a_cancelled_event_drops_its_snoozes(agenda: Agenda, interactive: Interactive,
                                             fake_slack: FakeSlack) -> None:
    event = _due_reminder(agenda.store)
    value = f"{event.id}:{event.start_at:.3f}"
    in_dm = Context(team="T1", channel="DU1", user="U1", source="interaction",
                    request_id="click-c")
    interactive.snooze_click(_click("agenda.snooze_10m", value), in_dm, "en")
    agenda.store.cancel("T1", event.id)
    assert [c for c in agenda.store.claim_due(time.time() + 700, 120, 10) if c.snooze] == []
    assert agenda.store.pending() == 0


@pytest.mark.parametrize("lang, done", [("en", "Done – marked by <@U1>"),
                                        ("es", "Hecho – lo marcó <@U1>")])
def test_done_strikes_the_reminder_and_says_who(agenda: Agenda, interactive: Interactive,
                                                lang: str, done: str) -> None:
    event = _due_reminder(agenda.store, lang, title=HOSTILE)
    value = f"{event.id}:{event.start_at:.3f}"
    in_dm = Context(team="T1", channel="DU1", user="U1", source="interaction")
    reply = interactive.done_click(_click("agenda.done", value), in_dm, lang)
    assert reply.replace_original and done in reply.text and reply.text.startswith("~")
    assert "<!channel>" not in reply.text and "&lt;!channel&gt;" in reply.text
    assert "actions" not in json.dumps(reply.blocks)  # no buttons left to click
    for forged in ("x:1", f"{event.id}:nan", f"{event.id}", "99999:1.0"):
        assert interactive.done_click(_click("agenda.done", forged), in_dm,
                                      lang).data == {"error": "not_found"}


def test_each_teams_reminders_use_its_own_token(store_settings: Settings,
                                                fake_slack: FakeSlack) -> None:
    stores = open_stores(store_settings, "agenda")
    fake_slack.install("xoxb-other-team", OTHER_TEAM)
    tokens = {TEAM: BOT_TOKEN, OTHER_TEAM: "xoxb-other-team"}

    class Tokens:
        def token_for(self, team: str) -> str | None:
            return tokens.get(team)

        def refused(self, team: str, token: str) -> None:
            raise AssertionError("no token is refused here")

    replier = SlackReplier(fake_slack.api_url, "", stores.ledger, tokens=Tokens())
    past = datetime.now(MADRID) - timedelta(seconds=2)
    for team in tokens:
        stores.events.add(NewEvent(team=team, channel="", owner="U1", title=f"for {team}",
                                   when=When(past, None, True), lang="en", notify="DU1",
                                   public=False))
    claimed = stores.events.claim_due(time.time(), 120, 10)
    # One batch, as a scan sends it, for both teams.
    assert deliver_batch(stores.events, replier, [c.as_list() for c in claimed]) == 2
    for team in tokens:
        (post,) = [c.params for c in fake_slack.calls_to("chat.postMessage", team=team)]
        assert post["text"].endswith(f"*for {team}* ({past:%H:%M})")


def test_claimed_reminders_keep_their_json_form() -> None:
    for claimed in (Claimed(3, 100.5), Claimed(3, 700.0, snooze=9, occurrence=100.5)):
        assert Claimed.from_list(json.loads(json.dumps(claimed.as_list()))) == claimed


# -- the Home tab -------------------------------------------------------------------------


@pytest.mark.parametrize("lang, title, none", [("en", "Your agenda", "Nothing coming up"),
                                               ("es", "Tu agenda", "No tienes nada")])
def test_the_home_section_lists_the_next_five_events_or_a_friendly_line(
    agenda: Agenda, interactive: Interactive, lang: str, title: str, none: str
) -> None:
    home = Context(team="T1", channel="DU1", user="U1", source="home")
    empty = interactive.home(home, lang)
    assert title in empty[0]["text"]["text"] and none in empty[1]["text"]["text"]
    (button,) = empty[-1]["elements"]
    assert button["action_id"] == "agenda.open_form"
    assert "agenda.open_form" in grammar.declaration("agenda").actions
    for n in range(7):
        agenda.store.add(NewEvent(
            team="T1", channel="", owner="U1", title=f"{HOSTILE} {n}",
            when=When(datetime.now(MADRID) + timedelta(hours=n + 1), None, True), lang="en",
            notify="DU1", public=False))
    _channel_event(agenda, "U2", title="someone else's")
    _channel_event(agenda, "U1", team="T2", title="another team's")
    body = interactive.home(home, lang)[1]["text"]["text"]
    lines = body.split("\n")
    assert len(lines) == 5 and lines[0].endswith(f"*{escape(HOSTILE + ' 0')}*")
    assert "<!channel>" not in body and "someone else" not in body and "another" not in body
    soon = datetime.now(MADRID) + timedelta(hours=1)
    assert f"{soon:%H:%M}" in lines[0]  # in the person's timezone (Madrid, from users.info)
