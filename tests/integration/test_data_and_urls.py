"""Data and URLs: results expire and keep no task arguments, logs keep no return values, task
ownership is known from acceptance, and a response_url outside Slack is never posted to."""

from __future__ import annotations

import datetime
import time
import uuid

from flask.testing import FlaskClient
from kombu import Connection
from sqlalchemy import create_engine, text

import routing
from estafeta import grammar
from estafeta.celery_config import RESULT_EXPIRES, celery_client
from estafeta.payloads import Context, ReplyTarget
from slacksim.fake_slack import FakeSlack
from tests.conftest import API_TOKEN, OTHER_API_TOKEN, TEAM
from tests.integration.conftest import Stack
from workers import beat

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
OTHER = {"Authorization": f"Bearer {OTHER_API_TOKEN}"}


def _wait(probe, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_expired_results_are_deleted_by_the_cleanup_beat_sends(stack: Stack) -> None:
    client = celery_client(stack.settings)
    backend = client.backend
    expired, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    for task_id in (expired, fresh):
        backend.store_result(task_id, {"text": "old words"}, "SUCCESS")
    engine = create_engine(stack.settings.effective_result_backend.removeprefix("db+"))
    old = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(
        seconds=RESULT_EXPIRES + 60)
    with engine.begin() as db:
        db.execute(text("UPDATE celery_taskmeta SET date_done = :old WHERE task_id = :id"),
                   {"old": old, "id": expired})

    def stored(task_id: str) -> bool:
        with engine.connect() as db:
            return db.execute(text("SELECT 1 FROM celery_taskmeta WHERE task_id = :id"),
                              {"id": task_id}).first() is not None

    assert stored(expired) and stored(fresh)
    # Exactly what beat sends: routed by `routing` to one service's queue, run by its worker.
    entry = beat.app.conf.beat_schedule[routing.BACKEND_CLEANUP_TASK]
    client.send_task(entry["task"], **entry["options"])
    assert _wait(lambda: not stored(expired)), "the cleanup did not delete the expired result"
    assert stored(fresh)
    engine.dispose()


def test_worker_logs_keep_no_reply_text(stack: Stack, stack_client: FlaskClient) -> None:
    marker = f"zebrafish{uuid.uuid4().hex[:8]}"
    # A search's reply quotes its query: the reply text, and the task's return value, hold it.
    accepted = stack_client.post("/api/v1/commands/search", json={"text": marker},
                                 headers=AUTH)
    assert accepted.status_code == 202
    status_url = f"/api/v1/tasks/{accepted.json['task_id']}"

    def finished() -> dict | None:
        body = stack_client.get(status_url, headers=AUTH).json
        return body if body["state"] == "SUCCESS" else None

    body = _wait(finished)
    assert body and marker in body["result"]["text"]
    worker = stack.workers["search"]
    assert _wait(lambda: f"{accepted.json['task_id']}] succeeded" in worker.log())
    log = worker.log()
    assert "succeeded" in log and marker not in log


def test_http_tasks_belong_to_their_team_from_acceptance(client: FlaskClient) -> None:
    accepted = client.post("/api/v1/commands/search", json={"text": "deploy"}, headers=AUTH)
    assert accepted.status_code == 202
    status_url = f"/api/v1/tasks/{accepted.json['task_id']}"
    # No worker consumes here: the task is PENDING, and already only its team's.
    assert client.get(status_url, headers=AUTH).json["state"] == "PENDING"
    assert client.get(status_url, headers=OTHER).status_code == 404
    # An id nobody queued here reads like any unknown id. Once it has a result (another
    # replica, with its own DATA_DIR, accepted it), the result's team decides.
    unknown = str(uuid.uuid4())
    assert client.get(f"/api/v1/tasks/{unknown}", headers=AUTH).json["state"] == "PENDING"
    celery = client.application.extensions["estafeta"].celery
    # Started (or retrying) names no team yet: it reads PENDING to anyone, with nothing more.
    celery.backend.store_result(unknown, {"pid": 1, "hostname": "search@h"}, "STARTED")
    for headers in (AUTH, OTHER):
        assert client.get(f"/api/v1/tasks/{unknown}", headers=headers).json == {
            "task_id": unknown, "state": "PENDING"}
    celery.backend.store_result(unknown, {"team": TEAM, "text": "an answer"}, "SUCCESS")
    assert client.get(f"/api/v1/tasks/{unknown}", headers=OTHER).status_code == 404
    assert client.get(f"/api/v1/tasks/{unknown}", headers=AUTH).json["state"] == "SUCCESS"


def test_a_response_url_outside_slack_is_dead_lettered_by_the_worker(
    stack: Stack, stack_client: FlaskClient, fake_slack: FakeSlack
) -> None:
    with Connection(stack.vhost.url) as connection:
        routing.SEARCH.dead_queue(connection.default_channel).purge()
    # Published past the gateway (which refuses it), as anything able to publish could.
    dispatcher = stack_client.application.extensions["estafeta"].dispatcher
    secret = f"secret{uuid.uuid4().hex[:8]}"
    dispatcher.command(grammar.parse("search", "deploy"),
                       Context(team=TEAM, channel="C0001", user="U0001", source="slash"),
                       ReplyTarget(kind="response_url", url=f"https://evil.example/x/{secret}"))
    assert stack.vhost.wait_for_depth(routing.SEARCH.dead_queue.name, 1) == 1
    worker = stack.workers["search"]
    assert worker.process.poll() is None, "the worker must survive a refused response_url"
    assert "RefusedResponseUrl" in worker.log() and secret not in worker.log()
    assert fake_slack.calls_to("response_url") == []
