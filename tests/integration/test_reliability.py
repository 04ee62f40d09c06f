"""Nothing accepted is lost and no reply is posted twice: crashes, rate limits, dead letters."""

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from kombu import Connection, Producer

import routing
from gateway import create_app
from gateway.jobs import event_task_id
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event, message_event
from tests.conftest import API_TOKEN
from tests.integration.broker import ROOT, Vhost, WorkerProcess
from tests.integration.conftest import Stack, settings_for, worker_env

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def own_vhost(rabbitmq: None) -> Iterator[Vhost]:
    """A vhost of this test alone, for workers it may kill or start late."""
    vhost = Vhost("own")
    yield vhost
    vhost.delete()


@pytest.fixture
def own_app(own_vhost: Vhost, tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Flask]:
    app = create_app({"SETTINGS": settings_for(own_vhost, tmp_path, fake_slack)})
    yield app
    app.extensions["estafeta"].publisher.close()


def test_reply_is_posted_once_when_the_worker_is_killed_mid_task(
    own_vhost: Vhost, own_app: Flask, tmp_path: Path, fake_slack: FakeSlack,
    signer: SlackSigner,
) -> None:
    env = worker_env(own_vhost, tmp_path, fake_slack)
    first = WorkerProcess(routing.SEARCH, env, tmp_path)
    first.wait_consuming(own_vhost)
    # Slack takes the post but answers slowly: the worker dies before it hears back.
    fake_slack.stall("chat.postMessage", seconds=8)
    event = mention_event("search anything at all", channel="C0CRASH")
    body, headers, event_id = signer.event(event)
    assert own_app.test_client().post("/slack/events", data=body,
                                      headers=headers).status_code == 200
    fake_slack.wait_for(lambda: fake_slack.posted("C0CRASH"), timeout=20)
    first.kill()

    second = WorkerProcess(routing.SEARCH, env, tmp_path)
    try:
        second.wait_consuming(own_vhost)
        # The redelivered task runs again, finds its reply in the thread and does not repost.
        fake_slack.wait_for(lambda: fake_slack.calls_to("conversations.replies"), timeout=20)
        deadline = time.monotonic() + 20
        while "succeeded" not in second.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        # Return values are not logged: the task's result says it did not post again.
        result = own_app.extensions["estafeta"].celery.AsyncResult(
            event_task_id("T0001", event_id, "command"))
        assert result.get(timeout=20)["posted"] is False
        assert len(fake_slack.posted("C0CRASH")) == 1
        assert own_vhost.depth(routing.SEARCH.command_queue.name) == 0
        assert own_vhost.depth(routing.SEARCH.dead_queue.name) == 0
    finally:
        second.stop()


def test_interactive_message_overtakes_a_bulk_backlog(
    own_vhost: Vhost, own_app: Flask, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    client = own_app.test_client()
    backlog = [client.post("/api/v1/commands/search", json={"text": f"bulk {n}",
                                                           "priority": "bulk"}, headers=AUTH)
               for n in range(30)]
    assert all(r.status_code == 202 for r in backlog)
    urgent = client.post("/api/v1/commands/search", json={"text": "urgent"}, headers=AUTH)
    assert urgent.status_code == 202
    assert own_vhost.depth(routing.SEARCH.command_queue.name) == 31

    worker = WorkerProcess(routing.SEARCH, worker_env(own_vhost, tmp_path, fake_slack),
                           tmp_path)
    try:
        worker.wait_consuming(own_vhost)
        assert own_vhost.wait_for_depth(routing.SEARCH.command_queue.name, 0) == 0
        deadline = time.monotonic() + 20
        while worker.log().count("succeeded") < 31 and time.monotonic() < deadline:
            time.sleep(0.2)
        order = re.findall(r"Task search\.command\[([0-9a-f-]+)\] received", worker.log())
    finally:
        worker.stop()
    assert len(order) == 31
    assert order[0] == urgent.json["task_id"], "the interactive message was not consumed first"


def test_rate_limited_reply_is_retried_after_retry_after_and_posted_once(
    stack: Stack, stack_client, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("response_url", 429, retry_after=1)
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/search", "help", response_url=url)
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    answers = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=20)
    limited = fake_slack.calls_to("response_url!429")
    assert len(limited) == 1
    assert fake_slack.calls_to("response_url")[0].at - limited[0].at >= 0.9
    time.sleep(0.5)
    assert len(fake_slack.responses(url)) == len(answers) == 1


def test_server_errors_are_retried_with_backoff(
    stack: Stack, stack_client, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 500, times=2)
    body, headers, _ = signer.event(mention_event("help", channel="C0FLAKY"))
    assert stack_client.post("/slack/events", data=body, headers=headers).status_code == 200
    fake_slack.wait_for(lambda: fake_slack.posted("C0FLAKY"), timeout=30)
    assert len(fake_slack.calls_to("chat.postMessage!500")) == 2
    assert len(fake_slack.posted("C0FLAKY")) == 1


def _publish_raw(vhost: Vhost, body: bytes, content_type: str, headers: dict) -> None:
    with Connection(vhost.url, transport_options={"confirm_publish": True}) as connection:
        Producer(connection.default_channel).publish(
            body, exchange=routing.COMMANDS.name, routing_key=routing.SEARCH.routing_key,
            content_type=content_type, content_encoding="utf-8", headers=headers,
            delivery_mode=2, retry=False)


def _dead(stack: Stack) -> int:
    return stack.vhost.depth(routing.SEARCH.dead_queue.name)


def test_undecodable_and_malformed_messages_are_dead_lettered_not_dropped(
    stack: Stack, fake_slack: FakeSlack
) -> None:
    with Connection(stack.vhost.url) as connection:
        routing.SEARCH.dead_queue(connection.default_channel).purge()
    task = {"task": routing.SEARCH.command_task, "id": str(uuid.uuid4())}
    _publish_raw(stack.vhost, b"{not json", "application/json", task)
    _publish_raw(stack.vhost, b"\x80\x04K\x01.", "application/x-python-serialize",
                 {**task, "id": str(uuid.uuid4())})
    # Valid JSON, but the command has no team: the handler refuses it.
    bad_kwargs = json.dumps([[], {"command": {}, "context": {}, "reply": {}}, {}]).encode()
    _publish_raw(stack.vhost, bad_kwargs, "application/json", {**task, "id": str(uuid.uuid4())})
    assert stack.vhost.wait_for_depth(routing.SEARCH.dead_queue.name, 3) == 3
    assert stack.workers["search"].process.poll() is None, "the worker must survive bad input"


def test_exhausted_retries_are_dead_lettered_and_can_be_replayed(
    stack: Stack, stack_client, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    with Connection(stack.vhost.url) as connection:
        routing.SEARCH.dead_queue(connection.default_channel).purge()
    fake_slack.fail("chat.postMessage", 429, retry_after=0, times=1000)
    body, headers, _ = signer.event(mention_event("help", channel="C0DEAD"))
    assert stack_client.post("/slack/events", data=body, headers=headers).status_code == 200
    assert stack.vhost.wait_for_depth(routing.SEARCH.dead_queue.name, 1, timeout=60) == 1
    assert fake_slack.posted("C0DEAD") == []

    fake_slack.reset()  # Slack is healthy again: replay the dead letter
    listing = subprocess.run([sys.executable, "-m", "estafeta.cli", "dead", "list", "search"],
                             cwd=ROOT, env={**stack.env, "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert routing.SEARCH.command_task in listing.stdout
    assert _dead(stack) == 1, "listing must not consume dead letters"
    replay = subprocess.run([sys.executable, "-m", "estafeta.cli", "dead", "replay", "search"],
                            cwd=ROOT, env={**stack.env, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    assert "1 dead letter(s) replayed" in replay.stdout
    fake_slack.wait_for(lambda: fake_slack.posted("C0DEAD"), timeout=30)
    assert _dead(stack) == 0


def _agenda_add(stack_client, signer: SlackSigner, fake_slack: FakeSlack, user: str) -> str:
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/agenda", "add sync tomorrow at 9am", response_url=url,
                                         user=user, channel="C0RETRY")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    return url


def test_slack_errors_inside_a_command_handler_are_retried_and_answered(
    stack: Stack, stack_client, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    # users.info (the caller's timezone) fails twice inside `/agenda add`.
    fake_slack.fail("users.info", 500, times=1)
    fake_slack.fail("users.info", 429, retry_after=1, times=1)
    url = _agenda_add(stack_client, signer, fake_slack, user="U0RETRY")
    (answer,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=40)
    assert "Added `#" in answer["text"] and "sync" in answer["text"]
    assert len(fake_slack.calls_to("users.info!500")) == 1
    assert len(fake_slack.calls_to("users.info!429")) == 1
    assert len(fake_slack.calls_to("users.info")) == 1
    assert stack.vhost.depth(routing.AGENDA.dead_queue.name) == 0
    time.sleep(1)
    assert len(fake_slack.responses(url)) == 1


def test_a_command_whose_slack_calls_keep_failing_is_dead_lettered_and_the_user_told(
    stack: Stack, stack_client, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    with Connection(stack.vhost.url) as connection:
        routing.AGENDA.dead_queue(connection.default_channel).purge()
    fake_slack.fail("users.info", 429, retry_after=0, times=1000)
    url = _agenda_add(stack_client, signer, fake_slack, user="U0DOWN")
    assert stack.vhost.wait_for_depth(routing.AGENDA.dead_queue.name, 1, timeout=60) == 1
    (answer,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=20)
    assert answer["text"].startswith("Sorry, something went wrong")
    assert len(fake_slack.calls_to("users.info!429")) == 9  # the first try and 8 retries
    time.sleep(1)
    assert len(fake_slack.responses(url)) == 1


def test_a_heard_message_whose_handler_hits_a_transient_error_is_retried(
    stack: Stack, stack_client, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    """The mood alert is posted while a heard message is processed: Slack fails it twice."""
    def hear(text: str, ts: str | None = None) -> None:
        body, headers, _ = signer.event(message_event(text, channel="C0GLUM", ts=ts))
        assert stack_client.post("/slack/events", data=body, headers=headers).status_code == 200

    def scored() -> int:
        response = stack_client.post("/api/v1/commands/sentiment", headers=AUTH,
                                     json={"text": "30d", "channel": "C0GLUM"})
        task = f"/api/v1/tasks/{response.json['task_id']}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = stack_client.get(task, headers=AUTH).json
            if status["state"] == "SUCCESS":
                return int(status["result"]["data"]["messages"])
            time.sleep(0.1)
        raise AssertionError("no mood summary")

    def wait_scored(count: int) -> None:
        deadline = time.monotonic() + 20
        while scored() < count:
            assert time.monotonic() < deadline, f"{count} messages were not scored"
            time.sleep(0.2)

    with Connection(stack.vhost.url) as connection:
        routing.SENTIMENT.dead_queue(connection.default_channel).purge()
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/mood", "alerts on", response_url=url,
                                         channel="C0GLUM")
    assert stack_client.post("/slack/commands", data=body, headers=headers).status_code == 200
    fake_slack.wait_for(lambda: fake_slack.responses(url))
    now = time.time()
    for n in range(24):  # two weeks of a cheerful channel
        hear("Thanks, great work, love it!", ts=f"{now - (n + 1) * 12 * 3600:.6f}")
    sour = ["This is terrible, everything is broken", "Awful day, I hate this",
            "Worst release ever, so angry", "Horrible, nothing works",
            "I'm furious, this is a disaster"]
    for text in sour[:-1]:  # not yet enough for an alert
        hear(text)
    wait_scored(28)
    assert fake_slack.posted("C0GLUM") == []
    fake_slack.fail("chat.postMessage", 500, times=2)
    hear(sour[-1])  # this message's handler posts the alert: Slack fails twice
    (alert,) = fake_slack.wait_for(lambda: fake_slack.posted("C0GLUM"), timeout=40)
    assert "dropped" in alert["text"]
    assert len(fake_slack.calls_to("chat.postMessage!500")) == 2
    assert stack.vhost.depth(routing.SENTIMENT.dead_queue.name) == 0
    time.sleep(1)
    assert len(fake_slack.posted("C0GLUM")) == 1
