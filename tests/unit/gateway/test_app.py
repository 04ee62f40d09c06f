"""`create_app` with an injected publisher and Celery client: the gateway without a broker."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

import routing
from estafeta.celery_config import celery_client
from estafeta.settings import Settings
from gateway import create_app
from gateway.publisher import BrokerUnavailable, Outgoing, Publisher
from gateway.recording import RecordingPublisher, bound_queues, topic_matches
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event
from tests.conftest import API_TOKEN, TEAM

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def test_an_accepted_command_is_recorded_with_its_task_and_nothing_needs_a_broker(
    app: Flask, client: FlaskClient, publisher: RecordingPublisher, closed_broker_url: str
) -> None:
    assert app.extensions["estafeta"].settings.broker_url == closed_broker_url
    response = client.post("/api/v1/commands/search", json={"text": "deploy"}, headers=AUTH)
    assert response.status_code == 202, response.data
    [message] = publisher.sent
    assert message.correlation_id == response.json["task_id"]
    assert message.headers["task"] == routing.SEARCH.command_task
    assert message.body[1]["command"]["service"] == "search"  # (args, kwargs, embed)
    assert publisher.depths() == {routing.SEARCH.command_queue.name: 1}


def test_readyz_reports_what_the_recording_publisher_says(
    client: FlaskClient, publisher: RecordingPublisher
) -> None:
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json) == (200, {"status": "ready", "broker": "reachable",
                                                     "database": "reachable"})
    publisher.fail()
    down = client.get("/readyz")
    assert (down.status_code, down.json) == (503, {"status": "unavailable",
                                                   "broker": "unreachable",
                                                   "database": "reachable"})
    publisher.recover()
    assert client.get("/readyz").status_code == 200
    publisher.close()
    assert client.get("/readyz").status_code == 503


def test_a_broker_that_is_down_gets_503s_and_nothing_is_recorded(
    client: FlaskClient, publisher: RecordingPublisher, signer: SlackSigner
) -> None:
    publisher.fail("the broker is on fire")
    api = client.post("/api/v1/commands/search", json={"text": "deploy"}, headers=AUTH)
    assert api.status_code == 503 and api.json["error"] == "broker_unavailable"
    assert api.headers["Retry-After"]
    body, headers, _ = signer.event(mention_event("mood"))
    assert client.post("/slack/events", data=body, headers=headers).status_code == 503
    assert publisher.sent == []
    publisher.recover()
    # Not accepted means not remembered: Slack's retry of the same event is published.
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200
    assert publisher.total_depth() == 1


def test_without_an_injected_publisher_the_real_one_reports_the_missing_broker(
    settings: Settings,
) -> None:
    app = create_app({"SETTINGS": settings, "TESTING": True})
    state = app.extensions["estafeta"]
    assert isinstance(state.publisher, Publisher)
    try:
        client = app.test_client()
        ready = client.get("/readyz")
        assert (ready.status_code, ready.json["broker"]) == (503, "unreachable")
        api = client.post("/api/v1/commands/search", json={"text": "deploy"}, headers=AUTH)
        assert api.status_code == 503 and api.json["error"] == "broker_unavailable"
    finally:
        state.publisher.close()


def test_an_injected_celery_client_is_the_one_that_reads_results(
    settings: Settings, publisher: RecordingPublisher
) -> None:
    celery = celery_client(settings)
    app = create_app({"SETTINGS": settings, "PUBLISHER": publisher, "CELERY": celery,
                      "TESTING": True})
    assert app.extensions["estafeta"].celery is celery
    assert app.extensions["estafeta"].dispatcher.celery is celery
    task_id = str(uuid.uuid4())
    celery.backend.store_result(task_id, {"team": TEAM, "text": "done"}, "SUCCESS")
    response = app.test_client().get(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert response.json == {"task_id": task_id, "state": "SUCCESS",
                             "result": {"team": TEAM, "text": "done"}}


# -- the recording publisher itself ------------------------------------------------------------


def _message(exchange: str, routing_key: str, body: object = ((), {}, {})) -> Outgoing:
    return Outgoing(exchange=exchange, routing_key=routing_key, body=body, headers={},
                    priority=1, correlation_id=str(uuid.uuid4()))


def test_messages_land_where_routing_binds_them() -> None:
    heard = bound_queues(routing.HEARD.name, routing.heard_routing_key("T1", "C1"))
    assert sorted(heard) == sorted(s.heard_queue.name for s in routing.SERVICES.values()
                                   if s.heard_queue is not None)
    assert bound_queues(routing.COMMANDS.name, routing.AGENDA.routing_key) == [
        routing.AGENDA.command_queue.name]
    assert bound_queues(routing.COMMANDS.name, "nobody") == []


@pytest.mark.parametrize(("pattern", "key", "matches"), [
    ("a.#", "a", True), ("a.#", "a.b.c", True), ("#", "a.b", True), ("a.*", "a.b", True),
    ("a.*", "a", False), ("a.*", "a.b.c", False), ("a.*.c", "a.b.c", True),
    ("a.b", "a.c", False), ("#.c", "a.b.c", True),
])
def test_topic_bindings_match_like_amqp(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


def test_what_the_broker_would_refuse_is_refused_and_not_recorded() -> None:
    publisher = RecordingPublisher()
    with pytest.raises(BrokerUnavailable, match="no queue is bound"):
        publisher.publish(_message(routing.COMMANDS.name, "nobody"))
    with pytest.raises(TypeError):
        publisher.publish(_message(routing.COMMANDS.name, routing.SEARCH.routing_key,
                                   body={"not json": object()}))
    publisher.close()
    with pytest.raises(BrokerUnavailable, match="closed"):
        publisher.publish(_message(routing.COMMANDS.name, routing.SEARCH.routing_key))
    assert publisher.sent == []


def test_a_service_without_a_declaration_stops_the_gateway_at_start_up(
    settings: Settings, publisher: RecordingPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    ghost = routing.Service("ghost", default_priority=routing.Priority.INTERACTIVE, hears=False)
    monkeypatch.setitem(routing.SERVICES, ghost.name, ghost)
    with pytest.raises(ModuleNotFoundError, match=r"workers\.ghost"):
        create_app({"SETTINGS": settings, "PUBLISHER": publisher, "TESTING": True})


def test_slash_commands_default_to_what_each_service_declares(
    client: FlaskClient, publisher: RecordingPublisher, signer: SlackSigner,
    fake_slack: FakeSlack,
) -> None:
    assert client.application.config["SETTINGS"].slash_commands == {}  # SLASH_COMMANDS unset
    for command, service in (("/search", routing.SEARCH), ("/agenda", routing.AGENDA),
                             ("/mood", routing.SENTIMENT)):
        body, headers = signer.slash_command(command, "help",
                                             response_url=fake_slack.response_url())
        assert client.post("/slack/commands", data=body, headers=headers).status_code == 200
        assert publisher.depth(service.command_queue.name) == 1
