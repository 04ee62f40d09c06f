"""Request ids: answered in `X-Request-Id`, carried by every message, written in log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from celery import Celery
from flask.testing import FlaskClient

from estafeta import logs, tracing
from estafeta.payloads import Context
from gateway.jobs import Dispatcher
from gateway.recording import RecordingPublisher
from gateway.socket import answer
from gateway.state import Gateway
from slacksim.signing import SlackSigner, message_event
from tests.conftest import API_TOKEN

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def _command(client: FlaskClient, **headers: str) -> tuple[str, object]:
    response = client.post("/api/v1/commands/search", json={"text": "deploy"},
                           headers={**AUTH, **headers})
    return response.headers["X-Request-Id"], response


def test_a_sane_offered_request_id_is_kept_and_carried_by_the_message(
        client: FlaskClient, publisher: RecordingPublisher) -> None:
    request_id, _ = _command(client, **{"X-Request-Id": "lb-1234abcd"})
    assert request_id == "lb-1234abcd"
    [message] = publisher.sent
    assert message.headers[tracing.REQUEST_ID_HEADER] == "lb-1234abcd"
    assert message.headers[tracing.RECEIVED_AT_HEADER] > 0
    assert tracing.current() is None  # the request's trace ended with it


@pytest.mark.parametrize("offered", ["<script>alert(1)</script>", "x" * 300, "short"])
def test_a_hostile_or_odd_request_id_is_replaced(client: FlaskClient, offered: str) -> None:
    request_id, _ = _command(client, **{"X-Request-Id": offered})
    assert request_id != offered and len(request_id) == 32


def test_every_answer_has_a_request_id_errors_too(client: FlaskClient) -> None:
    first = client.get("/no/such/page").headers["X-Request-Id"]
    second = client.get("/healthz").headers["X-Request-Id"]
    assert first and second and first != second


def test_a_heard_message_carries_the_request_id(client: FlaskClient, signer: SlackSigner,
                                                publisher: RecordingPublisher) -> None:
    body, headers, _ = signer.event(message_event("hello there"))
    response = client.post("/slack/events", data=body, headers=headers)
    [message] = publisher.sent
    assert message.headers[tracing.REQUEST_ID_HEADER] == response.headers["X-Request-Id"]


def test_each_socket_mode_envelope_gets_a_request_id_of_its_own(
        app: object, publisher: RecordingPublisher, signer: SlackSigner) -> None:
    state: Gateway = app.extensions["estafeta"]  # type: ignore[attr-defined]
    for n in range(2):
        body, _, _ = signer.event(message_event(f"heard {n}"))
        envelope = {"envelope_id": f"env-{n}", "type": "events_api",
                    "payload": json.loads(body)}
        assert answer(state, envelope) is not None
    ids = [m.headers[tracing.REQUEST_ID_HEADER] for m in publisher.sent]
    assert len(set(ids)) == 2 and "env-0" not in ids
    assert tracing.current() is None


def test_every_hop_of_the_home_relay_carries_the_request_id() -> None:
    # The chain's later hops are sent by the worker (Celery's trace): what a signature's
    # `headers` option holds is what Celery puts in that hop's message.
    celery = Celery("relay", broker="memory://", set_as_current=False)
    publisher = RecordingPublisher()
    token = tracing.start("relay-req-0001")
    try:
        Dispatcher(celery, publisher).home(
            ("search", "agenda", "sentiment"),
            Context(team="T1", channel="D1", user="U1", channel_type="im", source="home"),
            task_id="home-1")
    finally:
        tracing.CURRENT.reset(token)
    [message] = publisher.sent
    assert message.headers[tracing.REQUEST_ID_HEADER] == "relay-req-0001"
    chain = message.body[2]["chain"]
    assert len(chain) == 2
    next_hop = celery.signature(chain[-1])
    with celery.connection_for_write() as connection:
        next_hop.apply_async(("sections",), connection=connection, queue="relay-test")
        queue = connection.SimpleQueue("relay-test")
        sent = queue.get(timeout=1)
        queue.close()
    assert sent.headers[tracing.REQUEST_ID_HEADER] == "relay-req-0001"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The process's log lines as JSON, into a buffer, for one test."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    logs.configure("gateway", "INFO", "json", handler=logging.StreamHandler(stream))
    try:
        yield stream
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def test_a_log_line_of_a_request_carries_its_request_id(
        client: FlaskClient, publisher: RecordingPublisher, json_lines: io.StringIO) -> None:
    publisher.fail()
    request_id, response = _command(client)
    assert response.status_code == 503  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    refused = [line for line in lines if "not accepted" in line["message"]]
    assert refused and all(line["request_id"] == request_id for line in refused)
    assert refused[0]["service"] == "gateway"
