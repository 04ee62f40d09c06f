"""The database away: the gateway answers 503 with Retry-After (Slack retries) and publishes
nothing. (Recovery without a restart is proven against a real outage in
tests/integration/test_database_faults.py.)"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from estafeta.postgres import close_pools
from estafeta.settings import Settings
from gateway import create_app
from gateway.recording import RecordingPublisher
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event
from tests.conftest import API_TOKEN

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def closed_database_url() -> str:
    """A PostgreSQL URL on a local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"postgresql://postgres:secret@127.0.0.1:{port}/estafeta"


@pytest.fixture
def down_app(settings: Settings, publisher: RecordingPublisher,
             closed_database_url: str) -> Iterator[Flask]:
    """A gateway whose stores are in a PostgreSQL that does not answer."""
    app = create_app({"SETTINGS": replace(settings, database_url=closed_database_url),
                      "PUBLISHER": publisher, "TESTING": True})
    yield app
    close_pools()


def test_a_slack_event_gets_503_and_nothing_is_published(
    down_app: Flask, signer: SlackSigner, publisher: RecordingPublisher
) -> None:
    client: FlaskClient = down_app.test_client()
    body, headers, _ = signer.event(mention_event("mood"))
    response = client.post("/slack/events", data=body, headers=headers)
    assert response.status_code == 503
    assert response.json is not None and response.json["error"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert publisher.sent == []
    # The password of DATABASE_URL is in no answer.
    assert b"secret" not in response.data


def test_a_slash_command_is_told_that_nothing_was_queued(
    down_app: Flask, signer: SlackSigner, publisher: RecordingPublisher, fake_slack: FakeSlack
) -> None:
    # Slack never retries a slash command: a 503 would only show Slack's own failure.
    body, headers = signer.slash_command("/search", "deploy failed",
                                         response_url=fake_slack.response_url())
    response = down_app.test_client().post("/slack/commands", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json is not None and response.json["response_type"] == "ephemeral"
    assert response.json["text"].startswith("Sorry, I could not queue that right now")
    assert publisher.sent == []


def test_the_api_and_readiness_say_the_database_is_unavailable(
    down_app: Flask, publisher: RecordingPublisher
) -> None:
    client = down_app.test_client()
    command = client.post("/api/v1/commands/search", json={"text": "deploy"}, headers=AUTH)
    assert command.status_code == 503 and command.headers["Retry-After"]
    assert publisher.sent == []
    status = client.get("/api/v1/tasks/6f1c1d7e-0000-4000-8000-000000000000", headers=AUTH)
    assert status.status_code == 503
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json) == (503, {"status": "unavailable",
                                                     "broker": "reachable",
                                                     "database": "unreachable"})


def test_a_gateway_on_postgresql_acks_a_slack_retry_without_publishing_again(
    settings: Settings, publisher: RecordingPublisher, signer: SlackSigner, postgres_url: str,
) -> None:
    app = create_app({"SETTINGS": replace(settings, database_url=postgres_url),
                      "PUBLISHER": publisher, "TESTING": True})
    client = app.test_client()
    body, headers, _ = signer.event(mention_event("mood"))
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200
    assert publisher.total_depth() == 1
    # Slack's retry of the same event reaches the store in PostgreSQL and is not published.
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200
    assert publisher.total_depth() == 1


def test_results_that_cannot_be_read_are_a_503_not_a_500(
    settings: Settings, publisher: RecordingPublisher, closed_database_url: str
) -> None:
    # The stores answer (SQLite); only the result backend is away.
    backend = "db+" + closed_database_url.replace("postgresql://", "postgresql+psycopg://")
    app = create_app({"SETTINGS": replace(settings, result_backend=backend),
                      "PUBLISHER": publisher, "TESTING": True})
    status = app.test_client().get("/api/v1/tasks/6f1c1d7e-0000-4000-8000-000000000000",
                                   headers=AUTH)
    assert status.status_code == 503
    assert status.json is not None and status.json["error"] == "database_unavailable"
    assert b"secret" not in status.data
