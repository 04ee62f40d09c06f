"""Signed Slack requests and HTTP calls through the real broker to real worker processes."""

import json
import time
import urllib.request
from typing import Any

from flask.testing import FlaskClient

import routing
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event, message_event
from tests.conftest import API_TOKEN, OTHER_API_TOKEN, OTHER_TEAM, TEAM
from tests.integration.conftest import Stack


def _slash(client: FlaskClient, signer: SlackSigner, slack: FakeSlack, command: str,
           text: str, **kw: str) -> str:
    url = slack.response_url()
    body, headers = signer.slash_command(command, text, response_url=url, **kw)
    response = client.post("/slack/commands", data=body, headers=headers)
    assert response.status_code == 200 and response.json["response_type"] == "ephemeral"
    answers = slack.wait_for(lambda: slack.responses(url), timeout=20)
    assert len(answers) == 1
    return str(answers[0]["text"])


def _mention(client: FlaskClient, signer: SlackSigner, slack: FakeSlack, text: str,
             channel: str = "C0E2E") -> dict[str, Any]:
    event = mention_event(text, channel=channel)
    body, headers, _ = signer.event(event)
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200
    posts = slack.wait_for(lambda: slack.posted(channel), timeout=20)
    assert len(posts) == 1
    assert posts[0]["thread_ts"] == event["ts"]
    return posts[0]


def _slash_until(expected: str, client: FlaskClient, signer: SlackSigner, slack: FakeSlack,
                 command: str, text: str, **kw: str) -> str:
    """Ask again until the answer contains `expected`: heard messages are processed async."""
    deadline = time.monotonic() + 20
    answer = _slash(client, signer, slack, command, text, **kw)
    while expected not in answer and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = _slash(client, signer, slack, command, text, **kw)
    return answer


def _hear(client: FlaskClient, signer: SlackSigner, text: str, *, team: str = TEAM,
          channel: str = "C0E2E", **kw: str) -> None:
    body, headers, _ = signer.event(message_event(text, channel=channel, **kw), team=team)
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200


def test_every_service_answers_help_through_its_own_worker(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    assert "/search help" in _slash(stack_client, signer, fake_slack, "/search", "help")
    assert "/agenda ayuda" in _slash(stack_client, signer, fake_slack, "/agenda", "ayuda")
    assert "/mood analyze" in _slash(stack_client, signer, fake_slack, "/mood", "help")
    # Each reply came from the worker of that service and no other.
    for name, worker in stack.workers.items():
        assert f"{name}.command" in worker.log()
        others = {"search", "agenda", "sentiment"} - {name}
        assert not any(f"{other}.command[" in worker.log() for other in others)


def test_mention_is_answered_in_its_thread(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    post = _mention(stack_client, signer, fake_slack, "ayuda", channel="C0HELP")
    assert "Estafeta* entiende" in post["text"]
    fake_slack.reset()
    post = _mention(stack_client, signer, fake_slack, "mood frobnicate", channel="C0USAGE")
    assert "frobnicate" in post["text"] and "/mood help" in post["text"]


def test_heard_messages_reach_search_and_sentiment(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    _hear(stack_client, signer, "The staging deploy failed again, this is terrible",
          channel="C0HEARD", user="U0ANA")
    _hear(stack_client, signer, "Great work on the release, I love it", channel="C0HEARD")
    found = _slash_until("staging", stack_client, signer, fake_slack, "/search",
                         "deploy failed", channel="C0HEARD")
    assert "*deploy*" in found and "<@U0ANA>" in found
    mood = _slash_until("from 2 messages", stack_client, signer, fake_slack, "/mood", "",
                        channel="C0HEARD")
    assert "from 2 messages" in mood


def test_a_team_never_sees_another_teams_messages(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    _hear(stack_client, signer, "secret roadmap for zeppelin", team=OTHER_TEAM, channel="C0SEC")
    _hear(stack_client, signer, "zeppelin launch is public", channel="C0SEC")
    found = _slash_until("public", stack_client, signer, fake_slack, "/search", "zeppelin",
                         channel="C0SEC")
    assert "public" in found and "roadmap" not in found


def _http(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_http_command_result_is_readable_from_any_gunicorn_process(
    stack: Stack, gunicorn_gateway: str
) -> None:
    status, accepted = _http(f"{gunicorn_gateway}/api/v1/commands/sentiment", API_TOKEN,
                             {"text": "analyze I love this, it is wonderful"})
    assert status == 202
    assert accepted["status_url"].endswith(f"/api/v1/tasks/{accepted['task_id']}")
    states = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, body = _http(accepted["status_url"], API_TOKEN)
        states.append(body["state"])
        if body["state"] == "SUCCESS":
            break
        time.sleep(0.1)
    assert body["state"] == "SUCCESS", states
    assert body["result"]["data"]["label"] == "positive"
    assert body["result"]["text"].startswith("positive")
    # Several requests hit both gunicorn processes: every one of them sees the result.
    for _ in range(6):
        assert _http(accepted["status_url"], API_TOKEN)[1]["state"] == "SUCCESS"
    # Another team's token cannot read it.
    assert _http(accepted["status_url"], OTHER_API_TOKEN)[0] == 404


def test_openapi_document_describes_the_api(gunicorn_gateway: str) -> None:
    with urllib.request.urlopen(f"{gunicorn_gateway}/api/v1/openapi.json") as response:
        document = json.loads(response.read())
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {"/api/v1/commands/{service}", "/api/v1/tasks/{task_id}"}
    with urllib.request.urlopen(f"{gunicorn_gateway}/readyz") as response:
        assert json.loads(response.read())["broker"] == "reachable"


def test_periodic_maintenance_runs_on_each_service_worker(stack: Stack) -> None:
    from estafeta.celery_config import celery_client
    from workers.beat import app as beat_app

    client = celery_client(stack.settings)
    maintenance = [entry for entry in beat_app.conf.beat_schedule.values()
                   if entry["task"].endswith(".maintenance")]
    assert len(maintenance) == len(routing.SERVICES)
    for entry in maintenance:
        result = client.send_task(entry["task"], **entry["options"])
        report = result.get(timeout=20)
        # Answered by the worker of the service the task belongs to, through its own queue.
        assert report["service"] == entry["task"].split(".")[0]
        assert isinstance(report["ledger_pruned"], int)


def test_what_slack_escaped_is_written_back_escaped_once(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    # Slack sends what people type with `&`, `<`, `>` escaped. The gateway undoes that once and
    # the service escapes once on the way out: `Q&A` reads as `Q&A`, never as `Q&amp;A`, and a
    # typed `<!here>` stays text.
    answer = _slash(stack_client, signer, fake_slack, "/agenda",
                    "add Q&amp;A &lt;!here&gt; tomorrow at 10")
    assert "*Q&amp;A &lt;!here&gt;*" in answer and "&amp;amp;" not in answer
    fake_slack.reset()
    post = _mention(stack_client, signer, fake_slack, "mood &lt;!here&gt; x", channel="C0ESC")
    assert "`&lt;!here&gt;`" in post["text"] and "&amp;lt;" not in post["text"]
    assert "<!here>" not in post["text"]
