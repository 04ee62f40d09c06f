"""Slack endpoints without a broker: verification, parsing, replays, and what is published."""

import json
from urllib.parse import urlencode

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import routing
from gateway.recording import RecordingPublisher
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event, message_event


def _post_event(client: FlaskClient, signer: SlackSigner, event: dict, **kw: object):
    body, headers, event_id = signer.event(event, **kw)  # type: ignore[arg-type]
    return client.post("/slack/events", data=body, headers=headers), event_id


def test_url_verification_answers_the_challenge(client: FlaskClient, signer: SlackSigner) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123",
                       "token": "x"}).encode()
    response = client.post("/slack/events", data=body,
                           headers=signer.headers(body, "application/json"))
    assert response.status_code == 200
    assert response.json == {"challenge": "abc123"}


def test_mention_is_one_command_on_the_right_queue(
    client: FlaskClient, signer: SlackSigner, publisher: RecordingPublisher
) -> None:
    response, _ = _post_event(client, signer, mention_event("mood"))
    assert response.status_code == 200
    depths = publisher.depths()
    assert depths[routing.SENTIMENT.command_queue.name] == 1
    assert sum(depths.values()) == 1


def test_slack_retry_of_an_accepted_event_is_acked_and_not_published_again(
    client: FlaskClient, signer: SlackSigner, publisher: RecordingPublisher
) -> None:
    event = mention_event("search deploy")
    first, event_id = _post_event(client, signer, event)
    retry, _ = _post_event(client, signer, event, event_id=event_id, retry=1)
    assert first.status_code == retry.status_code == 200
    assert retry.json == {"ok": True, "duplicate": True}
    assert publisher.total_depth() == 1


def test_bot_messages_are_acked_and_not_published(
    client: FlaskClient, signer: SlackSigner, publisher: RecordingPublisher
) -> None:
    response, _ = _post_event(client, signer, message_event("beep", bot_id="B1"))
    assert response.status_code == 200
    assert "ignored" in response.json
    response, _ = _post_event(client, signer, message_event("my own words", user="UBOT"))
    assert "ignored" in response.json
    assert publisher.total_depth() == 0


def test_unknown_slash_command_or_sub_command_gets_usage_and_nothing_is_published(
    client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack, publisher: RecordingPublisher
) -> None:
    for command, text, expected in [("/weather", "today", "/search"),
                                     ("/mood", "frobnicate", "/mood help")]:
        body, headers = signer.slash_command(command, text,
                                             response_url=fake_slack.response_url())
        response = client.post("/slack/commands", data=body, headers=headers)
        assert response.status_code == 200
        assert response.json["response_type"] == "ephemeral"
        assert expected in response.json["text"]
    assert publisher.total_depth() == 0


def test_interactions_are_verified_and_unknown_actions_refused(
    client: FlaskClient, signer: SlackSigner, publisher: RecordingPublisher
) -> None:
    payload = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U0001"},
               "trigger_id": "1.2.abc", "actions": [{"action_id": "weather.today"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    unsigned = client.post("/slack/interactions", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert unsigned.status_code == 401
    response = client.post("/slack/interactions", data=body,
                           headers=signer.headers(body, "application/x-www-form-urlencoded"))
    assert response.status_code == 400
    assert response.json["error"] == "unknown_action"
    empty = urlencode({"payload": json.dumps({**payload, "actions": []})}).encode()
    response = client.post("/slack/interactions", data=empty,
                           headers=signer.headers(empty, "application/x-www-form-urlencoded"))
    assert response.status_code == 400
    assert publisher.total_depth() == 0


def _signed_form(signer: SlackSigner, fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urlencode(fields).encode()
    return body, signer.headers(body, "application/x-www-form-urlencoded")


def _command_fields(fake_slack: FakeSlack, **extra: str) -> dict[str, str]:
    return {"team_id": "T0001", "channel_id": "C0001", "channel_name": "general",
            "user_id": "U0001", "command": "/search", "text": "deploy",
            "response_url": fake_slack.response_url(), **extra}


def test_a_replayed_slash_command_is_answered_and_published_once(
    client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack, publisher: RecordingPublisher
) -> None:
    body, headers = signer.slash_command("/search", "deploy failed",
                                         response_url=fake_slack.response_url())
    first = client.post("/slack/commands", data=body, headers=headers)
    replay = client.post("/slack/commands", data=body, headers=headers)
    assert first.status_code == replay.status_code == 200
    assert replay.json["response_type"] == "ephemeral"
    assert "Already received" in replay.json["text"]
    assert publisher.total_depth() == 1


def test_the_same_trigger_id_in_another_team_is_another_command(
    client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack, publisher: RecordingPublisher
) -> None:
    for team in ("T0001", "T0002"):
        body, headers = _signed_form(signer, _command_fields(fake_slack, team_id=team,
                                                             trigger_id="trigger.same"))
        assert "Already" not in client.post("/slack/commands", data=body,
                                            headers=headers).json["text"]
    assert publisher.total_depth() == 2


def test_a_slash_command_without_trigger_id_is_still_published(
    client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack, publisher: RecordingPublisher
) -> None:
    for _ in range(2):
        body, headers = _signed_form(signer, _command_fields(fake_slack))
        assert client.post("/slack/commands", data=body, headers=headers).status_code == 200
    assert publisher.total_depth() == 2


def test_a_replayed_interaction_is_acked_as_a_duplicate(
    client: FlaskClient, signer: SlackSigner, publisher: RecordingPublisher
) -> None:
    payload = {"type": "block_actions", "trigger_id": "trigger.i1", "team": {"id": "T0001"},
               "user": {"id": "U0001"}, "channel": {"id": "C0001"},
               "actions": [{"action_id": "search.more", "value": "1"}]}
    body, headers = _signed_form(signer, {"payload": json.dumps(payload)})
    first = client.post("/slack/interactions", data=body, headers=headers)
    replay = client.post("/slack/interactions", data=body, headers=headers)
    assert first.json == {"ok": True}
    assert replay.status_code == 200 and replay.json == {"ok": True, "duplicate": True}
    assert publisher.total_depth() == 1
    assert publisher.depth(routing.SEARCH.command_queue.name) == 1
    (sent,) = publisher.sent
    assert sent.headers["task"] == routing.SEARCH.interaction_task
    _, kwargs, _ = sent.body
    assert kwargs["interaction"]["id"] == "search.more"
    assert kwargs["interaction"]["value"] == "1"
    assert kwargs["context"]["team"] == "T0001" and kwargs["context"]["channel"] == "C0001"
    assert kwargs["context"]["source"] == "interaction"
    # No team, no user: refused every time, nothing published, nothing breaks.
    body, headers = _signed_form(signer, {"payload": json.dumps({"type": "block_actions"})})
    for _ in range(2):
        assert client.post("/slack/interactions", data=body, headers=headers).status_code == 400
    assert publisher.total_depth() == 1


def test_a_share_click_answers_through_its_response_url_and_never_a_foreign_one(
    client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack, publisher: RecordingPublisher
) -> None:
    def click(trigger: str, response_url: str) -> TestResponse:
        payload = {"type": "block_actions", "trigger_id": trigger, "team": {"id": "T0001"},
                   "user": {"id": "U0001"}, "channel": {"id": "G0PRIV"},
                   "container": {"type": "message", "channel_id": "G0PRIV",
                                 "is_ephemeral": True, "message_ts": "1700000000.000100"},
                   "response_url": response_url,
                   "actions": [{"action_id": "search.share", "type": "button",
                                "value": '{"q":"deploy","p":0,"l":"en","e":1}'}]}
        body, headers = _signed_form(signer, {"payload": json.dumps(payload)})
        return client.post("/slack/interactions", data=body, headers=headers)

    assert click("trigger.s1", "https://evil.example/hook").status_code == 400
    assert publisher.total_depth() == 0
    url = fake_slack.response_url()
    assert click("trigger.s2", url).json == {"ok": True}
    (sent,) = publisher.sent
    _, kwargs, _ = sent.body
    assert kwargs["reply"]["kind"] == "response_url" and kwargs["reply"]["url"] == url
    assert kwargs["interaction"]["id"] == "search.share"
    assert kwargs["context"]["channel"] == "G0PRIV"
    assert kwargs["context"]["channel_type"] == "group"


def test_an_unknown_slash_command_is_quoted_escaped(
    client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack, publisher: RecordingPublisher
) -> None:
    body, headers = _signed_form(signer, _command_fields(fake_slack,
                                                         command="/<!channel>&<@U1>"))
    text = client.post("/slack/commands", data=body, headers=headers).json["text"]
    assert "`/&lt;!channel&gt;&amp;&lt;@U1&gt;`" in text
    assert "<!channel>" not in text and "<@U1>" not in text
    assert publisher.total_depth() == 0


def test_a_slash_command_with_a_response_url_outside_slack_is_400_and_not_published(
    client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack, publisher: RecordingPublisher
) -> None:
    for url in ("https://evil.example/commands/T1/1/x",
                "https://hooks.slack.com.evil.example/commands/T1/1/x",
                "http://hooks.slack.com/commands/T1/1/x",
                fake_slack.base_url.replace("127.0.0.1", "localhost") + "/response/1"):
        body, headers = _signed_form(signer, _command_fields(fake_slack, response_url=url))
        response = client.post("/slack/commands", data=body, headers=headers)
        assert response.status_code == 400, url
        assert response.json["error"] == "bad_request"
        assert "response_url" in response.json["message"]
    body, headers = _signed_form(signer, _command_fields(
        fake_slack, response_url="https://hooks.slack.com/commands/T0001/1/x"))
    assert client.post("/slack/commands", data=body, headers=headers).status_code == 200
    assert publisher.total_depth() == 1


def _submission(trigger_id: str, title: str) -> dict[str, object]:
    values = {"title": {"title": {"type": "plain_text_input", "value": title}},
              "date": {"date": {"type": "datepicker", "selected_date": "2099-01-02"}},
              "time": {"time": {"type": "timepicker", "selected_time": "09:30"}},
              "repeat": {"repeat": {"type": "static_select",
                                    "selected_option": {"value": "none"}}}}
    return {"type": "view_submission", "team": {"id": "T0001"}, "user": {"id": "U0001"},
            "trigger_id": trigger_id,
            "view": {"id": "V0001", "callback_id": "agenda.add", "state": {"values": values},
                     "private_metadata": json.dumps({"channel": "C0001", "lang": "es"})}}


def test_a_modal_is_checked_on_its_fields_and_submitted_once(
    client: FlaskClient, signer: SlackSigner, publisher: RecordingPublisher
) -> None:
    body, headers = _signed_form(signer, {"payload": json.dumps(_submission("t.1", " "))})
    refused = client.post("/slack/interactions", data=body, headers=headers)
    assert refused.json == {"response_action": "errors",
                            "errors": {"title": "Rellena este campo."}}
    assert publisher.total_depth() == 0
    # Pressing the button again while the first submission is acked: a new trigger, the
    # same view. It is one submission, published once; the modal closes (an empty 200).
    for trigger in ("t.2", "t.3"):
        body, headers = _signed_form(signer, {"payload": json.dumps(_submission(trigger, "Demo"))})
        response = client.post("/slack/interactions", data=body, headers=headers)
        assert response.status_code == 200 and response.data == b""
    assert publisher.depth(routing.AGENDA.command_queue.name) == 1
