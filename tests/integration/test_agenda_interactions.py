"""The agenda's form, buttons and Home section on the real broker path: signed slash commands,
view submissions, clicks and events through the gateway, the real workers, the fake Slack."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from estafeta import grammar
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner
from tests.conftest import TEAM
from tests.integration.broker import BeatProcess
from tests.integration.conftest import Stack
from workers.agenda.sqlite_store import SqliteAgendaStore

MADRID = ZoneInfo("Europe/Madrid")  # the fake Slack's timezone of every member
TIMEOUT = 20.0


def _user() -> str:
    """A person no other test knows (the stack's store lives for the whole session)."""
    return "UAG" + uuid.uuid4().hex[:8].upper()


def _store(stack: Stack) -> SqliteAgendaStore:
    return SqliteAgendaStore(stack.data_dir / "agenda.sqlite")


def _interact(client: FlaskClient, signer: SlackSigner, payload: dict[str, Any]) -> Any:
    """POST a signed interaction, form-encoded as Slack does: (status, JSON answer or None)."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post("/slack/interactions", data=body,
                           headers=signer.headers(body, "application/x-www-form-urlencoded"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json if response.data else None


def _open_form(client: FlaskClient, signer: SlackSigner, slack: FakeSlack, user: str,
               channel: str) -> tuple[str, dict[str, Any], float]:
    """`/agenda` alone, as Slack sends it: (view id, the modal opened, seconds it took)."""
    opened = set(slack.views)
    body, headers = signer.slash_command("/agenda", "", response_url=slack.response_url(),
                                         user=user, channel=channel)
    started = time.monotonic()
    assert client.post("/slack/commands", data=body, headers=headers).status_code == 200
    new = slack.wait_for(lambda: set(slack.views) - opened, timeout=TIMEOUT)
    took = time.monotonic() - started
    (view_id,) = new
    return view_id, slack.views[view_id], took


def _submission(user: str, view_id: str, view: dict[str, Any],
                values: dict[str, str]) -> dict[str, Any]:
    """The `view_submission` payload Slack sends for the form with `values` filled in."""
    state = {
        "title": {"title": {"type": "plain_text_input", "value": values["title"]}},
        "date": {"date": {"type": "datepicker", "selected_date": values["date"]}},
        "time": {"time": {"type": "timepicker", "selected_time": values["time"]}},
        "repeat": {"repeat": {"type": "static_select",
                              "selected_option": {"value": values["repeat"]}}},
    }
    return {
        "type": "view_submission", "token": "deprecated-verification-token",
        "team": {"id": TEAM, "domain": "estafeta-demo"},
        "user": {"id": user, "team_id": TEAM}, "api_app_id": "A0001",
        "trigger_id": f"trigger.view.{uuid.uuid4().hex}",
        "view": {"id": view_id, "type": "modal", "callback_id": view["callback_id"],
                 "private_metadata": view["private_metadata"], "state": {"values": state}},
    }


def _click(user: str, channel: str, button: dict[str, Any], response_url: str
           ) -> dict[str, Any]:
    """The `block_actions` payload of a click on `button` of a message in `channel`."""
    return {
        "type": "block_actions", "token": "deprecated-verification-token",
        "trigger_id": f"trigger.click.{uuid.uuid4().hex}", "api_app_id": "A0001",
        "team": {"id": TEAM}, "user": {"id": user, "team_id": TEAM},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": f"{time.time():.6f}",
                      "channel_id": channel},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": button["action_id"],
                     "value": button["value"], "action_ts": f"{time.time():.6f}"}],
    }


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {element["action_id"]: element for block in blocks if block["type"] == "actions"
            for element in block["elements"]}


def test_slash_agenda_opens_the_form_whose_submission_adds_one_event(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    user, channel = _user(), "C0AGFORM"
    view_id, view, took = _open_form(stack_client, signer, fake_slack, user, channel)
    assert took < 3.0  # Slack's trigger lasts 3 seconds
    assert view["callback_id"] == "agenda.add"
    assert json.loads(view["private_metadata"]) == {"channel": channel, "lang": "en"}

    # Bad values: the gateway shows what is wrong on the fields; nothing reaches a worker.
    bad = _submission(user, view_id, view, {"title": " ", "date": "2020-01-01",
                                            "time": "9", "repeat": "hourly"})
    answer = _interact(stack_client, signer, bad)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"title", "date", "time", "repeat"}

    tomorrow = (datetime.now(MADRID) + timedelta(days=1)).date().isoformat()
    good = _submission(user, view_id, view, {"title": "ship <the> release & party",
                                             "date": tomorrow, "time": "16:45",
                                             "repeat": "weekly"})
    assert _interact(stack_client, signer, good) is None  # the modal closes
    assert _interact(stack_client, signer, good) is None  # the same request, replayed
    confirmed = fake_slack.wait_for(lambda: [e for e in fake_slack.ephemerals(channel)
                                             if e.get("user") == user], timeout=TIMEOUT)
    time.sleep(1.0)  # time enough for a second copy to show up
    assert len([e for e in fake_slack.ephemerals(channel) if e.get("user") == user]) == 1
    text = confirmed[0]["text"]
    assert "Added" in text and "ship &lt;the&gt; release &amp; party" in text
    events = _store(stack).owned(TEAM, user)
    assert len(events) == 1
    (event,) = events
    assert event.start_local == f"{tomorrow}T16:45:00" and event.tz == "Europe/Madrid"
    assert event.rrule is not None and event.rrule.startswith("FREQ=WEEKLY;BYDAY=")
    assert event.title == "ship <the> release & party"
    # The confirmation carries the "Cancel" button of the event it added.
    cancel = confirmed[0]["blocks"][0]["accessory"]
    assert cancel["action_id"] == "agenda.cancel" and cancel["value"] == str(event.id)


def test_a_due_reminder_has_done_and_snooze_and_a_snooze_posts_it_once_more(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    user = _user()
    dm = "D" + user.lstrip("UW")
    body, headers = signer.slash_command("/agenda", "remind me to stretch in 2 seconds",
                                         response_url=fake_slack.response_url(), user=user)
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    beat = BeatProcess(stack.env, stack.log_dir, name="agenda-snooze-beat")
    try:
        (reminder,) = fake_slack.wait_for(lambda: fake_slack.posted(dm), timeout=30)
        buttons = _buttons(reminder["blocks"])
        assert set(buttons) == {"agenda.done", "agenda.snooze_10m", "agenda.snooze_1h",
                                "agenda.snooze_tomorrow"}
        (event,) = _store(stack).owned(TEAM, user)
        assert buttons["agenda.snooze_10m"]["value"] == f"{event.id}:{event.start_at:.3f}"

        url = fake_slack.response_url()
        click = _click(user, dm, buttons["agenda.snooze_10m"], url)
        assert _interact(stack_client, signer, click) == {"ok": True}
        assert _interact(stack_client, signer, click) == {"ok": True, "duplicate": True}
        (said,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=TIMEOUT)
        assert "Snoozed" in said["text"] and "stretch" in said["text"]
        store = _store(stack)
        (due,) = [row["due_at"] for row in store.db.execute(
            "SELECT due_at FROM agenda_snoozes WHERE event_id = ? AND ready_at IS NOT NULL",
            (event.id,))]
        assert due > time.time() + 500
        # Ten minutes pass (the snooze brought forward to now): one more reminder, once.
        now = time.time()
        store.db.execute("UPDATE agenda_snoozes SET due_at = ?, ready_at = ?"
                         " WHERE event_id = ?", (now, now, event.id))
        posts = fake_slack.wait_for(lambda: len(fake_slack.posted(dm)) >= 2 and
                                    fake_slack.posted(dm), timeout=30)
        time.sleep(3.0)  # several scans later, still only one more
        posts = fake_slack.posted(dm)
        assert len(posts) == 2
        assert "Reminder again" in posts[1]["text"] and "stretch" in posts[1]["text"]
        assert set(_buttons(posts[1]["blocks"])) == set(buttons)
        assert _store(stack).db.execute(
            "SELECT id FROM agenda_snoozes WHERE event_id = ? AND ready_at IS NOT NULL",
            (event.id,)).fetchall() == []

        # "Done" strikes the reminder through, saying who.
        done_url = fake_slack.response_url()
        assert _interact(stack_client, signer,
                         _click(user, dm, buttons["agenda.done"], done_url)) == {"ok": True}
        (struck,) = fake_slack.wait_for(lambda: fake_slack.responses(done_url),
                                        timeout=TIMEOUT)
        assert struck["replace_original"] is True
        assert struck["text"].startswith("~") and f"<@{user}>" in struck["text"]
    finally:
        beat.stop()


def test_the_home_tab_shows_the_persons_next_events_and_an_add_button(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    user = _user()
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/agenda", "remind me to water <the> plants "
                                         "tomorrow at 10am", response_url=url, user=user)
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=TIMEOUT)

    event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:],
             "tab": "home", "event_ts": f"{time.time():.6f}"}
    body, headers, _ = signer.event(event)
    assert stack_client.post("/slack/events", data=body, headers=headers).status_code == 200
    fake_slack.wait_for(lambda: user in fake_slack.homes, timeout=30)
    blocks = fake_slack.homes[user]["blocks"]
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    start = texts.index("*Your agenda*")
    assert "water &lt;the&gt; plants" in texts[start + 1] and "10:00" in texts[start + 1]
    assert "<the>" not in json.dumps(blocks)
    assert _buttons(blocks)["agenda.open_form"]["value"] == "add"
    assert texts[-1] == grammar.help_text(None, "en")

    # Its button opens the form with the click's trigger.
    opened = set(fake_slack.views)
    click = {"type": "block_actions", "trigger_id": f"trigger.home.{uuid.uuid4().hex}",
             "team": {"id": TEAM}, "user": {"id": user, "team_id": TEAM},
             "container": {"type": "view", "view_id": "VHOME"},
             "view": {"id": "VHOME", "type": "home"},
             "actions": [{"type": "button", "action_id": "agenda.open_form", "value": "add"}]}
    assert _interact(stack_client, signer, click) == {"ok": True}
    (view_id,) = fake_slack.wait_for(lambda: set(fake_slack.views) - opened, timeout=TIMEOUT)
    assert json.loads(fake_slack.views[view_id]["private_metadata"]) == {
        "channel": "", "lang": "en"}
