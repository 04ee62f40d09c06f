"""The sentiment service end to end: signed events and commands, a real worker, the fake Slack."""

from __future__ import annotations

import json
import time
from typing import Any

from flask.testing import FlaskClient

from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, message_event
from tests.conftest import API_TOKEN
from tests.integration.conftest import Stack

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def _hear(client: FlaskClient, signer: SlackSigner, text: str, channel: str,
          ts: str | None = None, user: str = "U0001") -> None:
    body, headers, _ = signer.event(message_event(text, channel=channel, ts=ts, user=user))
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200


def _api_mood(client: FlaskClient, text: str, channel: str) -> dict[str, Any]:
    response = client.post("/api/v1/commands/sentiment", headers=AUTH,
                           json={"text": text, "channel": channel})
    assert response.status_code == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/tasks/{response.json['task_id']}", headers=AUTH).json
        if status["state"] == "SUCCESS":
            return dict(status["result"]["data"])
        time.sleep(0.1)
    raise AssertionError(f"no result: {status}")


def _wait_scored(client: FlaskClient, channel: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        data = _api_mood(client, "30d", channel)
        if data["messages"] >= count or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


def test_heard_messages_are_scored_and_mood_replies_with_a_chart(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    day = 86400
    now = time.time()
    for n, text in enumerate(["Great release, thank you all! :tada:",
                              "¡Qué buen trabajo, equipo! Me encanta",
                              "The build is broken again and nobody cares. Awful.",
                              "Otra vez caído el servidor, qué desastre"]):
        _hear(stack_client, signer, text, "C0MOOD", ts=f"{now - (3 - n) * day:.6f}")
    data = _wait_scored(stack_client, "C0MOOD", 4)
    assert data["messages"] == 4 and data["positive_share"] == 0.5
    assert data["negative_share"] == 0.5 and len(data["series"]) == 4
    assert data["most_negative"]["score"] < -0.3
    # The same summary through a signed slash command: text at response_url, chart as a file.
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/mood", "", response_url=url, channel="C0MOOD",
                                         user="U0MOOD")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    (answer,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=20)
    assert "from 4 messages" in answer["text"] and "Most negative moment" in answer["text"]
    (chart,) = fake_slack.wait_for(lambda: fake_slack.uploaded("D0MOOD"), timeout=20)
    assert chart["content"].startswith(b"\x89PNG") and chart["filename"].endswith(".png")


def test_an_alert_fires_once_when_a_channel_turns_sour(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/mood", "alerts on", response_url=url,
                                         channel="C0SOUR")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    assert "on for <#C0SOUR>" in fake_slack.wait_for(lambda: fake_slack.responses(url))[0][
        "text"]
    now = time.time()
    for n in range(24):  # two weeks of a cheerful channel
        _hear(stack_client, signer, "Thanks, great work, love it!", "C0SOUR",
              ts=f"{now - (n + 1) * 12 * 3600:.6f}")
    _wait_scored(stack_client, "C0SOUR", 24)
    for text in ["This is terrible, everything is broken", "Awful day, I hate this",
                 "Worst release ever, so angry", "Horrible, nothing works",
                 "I'm furious, this is a disaster", "Terrible, just terrible",
                 "Still broken, awful", "Disgusting mess, I hate it"]:
        _hear(stack_client, signer, text, "C0SOUR")
    alerts = fake_slack.wait_for(lambda: fake_slack.posted("C0SOUR"), timeout=20)
    time.sleep(2)  # the last messages are scored and checked too: still one alert
    _wait_scored(stack_client, "C0SOUR", 32)
    alerts = fake_slack.posted("C0SOUR")
    assert len(alerts) == 1 and "dropped" in alerts[0]["text"], json.dumps(alerts)


def test_a_usage_reply_quotes_a_broadcast_inert(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    # `30d` makes it a summary request, so the worker (not the gateway) reads `<!channel>`.
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/mood", "30d <!channel>", response_url=url,
                                         channel="C0ESC")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    (answer,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=20)
    assert "<!channel>" not in answer["text"] and "`&lt;!channel&gt;`" in answer["text"]


def test_a_hostile_40000_character_message_is_scored_like_any_other(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner
) -> None:
    hostile = "Awful, terrible day " + "&" + "amp;" * 5_000 + "lt;" + "<" * 10_000 + (
        "&lt;#C1|" * 800 + "x" + "&gt;" * 800) + ":a::a:" * 1_000
    assert len(hostile) >= 40_000
    started = time.monotonic()
    _hear(stack_client, signer, hostile, "C0HOSTILE")
    _hear(stack_client, signer, "Thanks, great work!", "C0HOSTILE")
    data = _wait_scored(stack_client, "C0HOSTILE", 2)
    # Both scored (the hostile one negative), without the worker stalling on it.
    assert data["messages"] == 2 and data["negative_share"] == 0.5
    assert time.monotonic() - started < 15
