"""The App Home tab end to end: a signed `app_home_opened` event, the real workers of every
service with a Home section relaying it in `routing.SERVICES` order, `views.publish` on the
fake Slack."""

from __future__ import annotations

import time
from typing import Any

from flask.testing import FlaskClient

from estafeta import grammar
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, message_event
from tests.conftest import API_TOKEN, OTHER_API_TOKEN, OTHER_TEAM, TEAM
from tests.integration.conftest import Stack

TOKENS = {TEAM: API_TOKEN, OTHER_TEAM: OTHER_API_TOKEN}
MOOD_TITLE = {"en": "*Mood of your channels*", "es": "*Ánimo de tus canales*"}


def _hear(client: FlaskClient, signer: SlackSigner, text: str, channel: str, user: str,
          team: str = TEAM, channel_type: str = "channel") -> None:
    event = message_event(text, channel=channel, user=user, channel_type=channel_type)
    body, headers, _ = signer.event(event, team=team)
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200


def _wait_scored(client: FlaskClient, channel: str, count: int, team: str = TEAM) -> None:
    """Wait until the sentiment worker has scored `count` messages of a public channel."""
    auth = {"Authorization": f"Bearer {TOKENS[team]}"}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = client.post("/api/v1/commands/sentiment", headers=auth,
                               json={"text": "30d", "channel": channel})
        assert response.status_code == 202
        while time.monotonic() < deadline:
            status = client.get(f"/api/v1/tasks/{response.json['task_id']}",
                                headers=auth).json
            if status["state"] == "SUCCESS":
                break
            time.sleep(0.1)
        if status["result"]["data"].get("messages", 0) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{channel}: fewer than {count} messages scored")


def _open_home(client: FlaskClient, signer: SlackSigner, user: str, team: str = TEAM,
               event_id: str | None = None, retry: int | None = None) -> tuple[str, Any]:
    event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:],
             "tab": "home", "event_ts": f"{time.time():.6f}"}
    body, headers, event_id = signer.event(event, team=team, event_id=event_id, retry=retry)
    response = client.post("/slack/events", data=body, headers=headers)
    assert response.status_code == 200, response.data
    return event_id, response.json


def _published(fake_slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [call.params for call in fake_slack.calls_to("views.publish")
            if call.params.get("user_id") == user]


def _wait_home(fake_slack: FakeSlack, user: str, count: int = 1) -> dict[str, Any]:
    fake_slack.wait_for(lambda: len(_published(fake_slack, user)) >= count, timeout=30)
    return fake_slack.homes[user]


def _text(block: dict[str, Any]) -> str:
    if block["type"] in {"section", "header"}:
        return str(block["text"]["text"])
    if block["type"] == "context":
        return "\n".join(str(e.get("text", "")) for e in block["elements"])
    return ""


def _sections(view: dict[str, Any]) -> tuple[list[str], str]:
    """(the text of each service's section, in order; the general help): `workers/home.py`
    puts a header first, a divider after each section, the help last."""
    blocks = view["blocks"]
    assert view["type"] == "home" and blocks[0]["type"] == "header"
    groups: list[list[str]] = [[]]
    for block in blocks[1:]:
        if block["type"] == "divider":
            groups.append([])
        else:
            groups[-1].append(_text(block))
    *sections, help_blocks = ["\n".join(group) for group in groups]
    return sections, help_blocks


def _mood_section(view: dict[str, Any], lang: str) -> str:
    """The sentiment section, checked to come last of the sections (every service with a Home
    section before it in `routing.SERVICES` order), with the general help after it."""
    sections, help_text = _sections(view)
    services = grammar.home_services()
    assert "sentiment" in services and services[-1] == "sentiment"
    assert 1 <= len(sections) <= len(services)
    *before, mood = sections
    assert MOOD_TITLE[lang] in mood
    assert not any(MOOD_TITLE[lang] in section for section in before)
    if "agenda" in services and before:  # the agenda's section, ahead of the mood's
        assert services.index("agenda") < services.index("sentiment")
    assert help_text == grammar.help_text(None, lang)
    return mood


def test_the_home_tab_shows_the_mood_of_the_persons_channels_in_their_language(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    english, spanish = "U0HOMEEN", "U0HOMEES"
    fake_slack.users[spanish] = {"locale": "es-ES"}
    _hear(stack_client, signer, "Great release, thank you all!", "C0HOME1", english)
    _hear(stack_client, signer, "¡Qué buen trabajo, equipo! Me encanta", "C0HOME1", spanish)
    _hear(stack_client, signer, "Otra vez caído el servidor, qué desastre", "C0HOME2", spanish)
    _wait_scored(stack_client, "C0HOME1", 2)
    _wait_scored(stack_client, "C0HOME2", 1)

    _open_home(stack_client, signer, english)
    mood = _mood_section(_wait_home(fake_slack, english), "en")
    assert "<#C0HOME1> – *positive*" in mood and "from 2 messages" in mood
    assert "C0HOME2" not in mood  # the person never wrote there

    _open_home(stack_client, signer, spanish)
    mood = _mood_section(_wait_home(fake_slack, spanish), "es")
    assert "<#C0HOME1> – *positivo*" in mood and "de 2 mensajes" in mood
    assert "<#C0HOME2> – *negativo*" in mood and "de 1 mensaje\n" in mood


def test_a_retried_event_publishes_the_home_tab_once(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    user, marker = "U0HOMERETRY", "U0HOMEMARK"
    event_id, first = _open_home(stack_client, signer, user)
    assert first == {"ok": True}
    _wait_home(fake_slack, user)
    _, again = _open_home(stack_client, signer, user, event_id=event_id, retry=1)
    assert again == {"ok": True, "duplicate": True}
    # Published after the retry was answered: had the retry gone through, it would be too.
    _open_home(stack_client, signer, marker)
    _wait_home(fake_slack, marker)
    time.sleep(0.5)
    assert len(_published(fake_slack, user)) == 1


def test_a_person_sees_only_their_own_teams_channels_and_private_ones_they_are_in(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    user, colleague = "U0HOMETEAM", "U0HOMECOLL"  # the same person id in two workspaces
    _hear(stack_client, signer, "Terrible outage, awful night", "G0HOMEPRIV", colleague,
          channel_type="group")
    _hear(stack_client, signer, "Thanks, lovely work!", "C0HOMETA", user)
    _hear(stack_client, signer, "Good news everyone, it works", "C0HOMETB", user,
          team=OTHER_TEAM)
    _wait_scored(stack_client, "C0HOMETA", 1)
    _wait_scored(stack_client, "C0HOMETB", 1, team=OTHER_TEAM)

    _open_home(stack_client, signer, user)
    mood = _mood_section(_wait_home(fake_slack, user), "en")
    assert "<#C0HOMETA>" in mood
    assert "C0HOMETB" not in mood  # the other workspace's channel
    assert "G0HOMEPRIV" not in mood  # a private channel they never wrote in

    _open_home(stack_client, signer, user, team=OTHER_TEAM)
    mood = _mood_section(_wait_home(fake_slack, user, count=2), "en")
    assert "<#C0HOMETB>" in mood and "C0HOMETA" not in mood

    # Once they write in the private channel, they are one of its members: its whole mood.
    _hear(stack_client, signer, "Yes, a really bad night", "G0HOMEPRIV", user,
          channel_type="group")
    _hear(stack_client, signer, "Another thanks", "C0HOMETA", user)
    _wait_scored(stack_client, "C0HOMETA", 2)
    _open_home(stack_client, signer, user)
    mood = _mood_section(_wait_home(fake_slack, user, count=3), "en")
    assert "<#G0HOMEPRIV> – *negative*" in mood and "from 2 messages" in mood
