"""Publishing with confirms: 2xx only once confirmed; a fast 503 when the broker is down."""

import threading
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import routing
from gateway import create_app
from gateway.publisher import BrokerUnavailable, Outgoing, Publisher
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event
from tests.conftest import API_TOKEN
from tests.integration.broker import TcpProxy, Vhost
from tests.integration.conftest import settings_for

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def _message(n: int) -> Outgoing:
    return Outgoing(exchange=routing.COMMANDS.name, routing_key=routing.AGENDA.routing_key,
                    body=[[], {"n": n}, {}], headers={"task": "probe", "id": str(n)},
                    priority=1, correlation_id=f"probe-{n}")


def test_concurrent_publishes_are_all_confirmed_and_persisted(gateway_vhost: Vhost) -> None:
    gateway_vhost.purge()
    publisher = Publisher(gateway_vhost.url, declare=routing.declare_all)
    errors: list[Exception] = []

    def publish_many(start: int) -> None:
        for n in range(start, start + 100):
            try:
                publisher.publish(_message(n))
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=publish_many, args=(i * 100,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    publisher.close()
    assert errors == []
    assert gateway_vhost.depth(routing.AGENDA.command_queue.name) == 800


def test_unroutable_message_is_not_reported_as_accepted(gateway_vhost: Vhost) -> None:
    publisher = Publisher(gateway_vhost.url, declare=routing.declare_all)
    lost = Outgoing(exchange=routing.COMMANDS.name, routing_key="no-such-service",
                    body=[], headers={}, priority=1, correlation_id="lost-1")
    with pytest.raises(BrokerUnavailable, match="no queue is bound"):
        publisher.publish(lost)
    publisher.publish(_message(1))  # the channel is still usable afterwards
    publisher.close()


@pytest.fixture
def proxy() -> TcpProxy:
    proxy = TcpProxy().start()
    yield proxy
    proxy.cut()


@pytest.fixture
def proxied_app(gateway_vhost: Vhost, proxy: TcpProxy, tmp_path: Path,
                fake_slack: FakeSlack) -> Flask:
    gateway_vhost.purge()
    settings = settings_for(gateway_vhost, tmp_path, fake_slack)
    settings = type(settings)(**{**settings.__dict__, "broker_url": proxy.url(gateway_vhost)})
    app = create_app({"SETTINGS": settings, "TESTING": True})
    yield app
    app.extensions["estafeta"].publisher.close()


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_broker_down_gets_fast_errors_and_recovers_without_restart(
    proxied_app: Flask, proxy: TcpProxy, gateway_vhost: Vhost, signer: SlackSigner,
    fake_slack: FakeSlack,
) -> None:
    client: FlaskClient = proxied_app.test_client()
    assert client.post("/api/v1/commands/search", json={"text": "before"},
                       headers=AUTH).status_code == 202

    proxy.cut()
    response, took = _timed(lambda: client.post("/api/v1/commands/search",
                                                json={"text": "during"}, headers=AUTH))
    assert response.status_code == 503 and took < 2.0
    assert response.json["error"] == "broker_unavailable"
    assert response.headers["Retry-After"]

    body, headers, _ = signer.event(mention_event("search x"))
    response, took = _timed(lambda: client.post("/slack/events", data=body, headers=headers))
    assert response.status_code == 503 and took < 2.0  # Slack will retry the event

    body, headers = signer.slash_command("/search", "x", response_url=fake_slack.response_url())
    response, took = _timed(lambda: client.post("/slack/commands", data=body, headers=headers))
    assert response.status_code == 200 and took < 2.0  # Slack shows nothing for a 5xx
    assert "could not queue" in response.json["text"]
    assert response.json["response_type"] == "ephemeral"
    assert client.get("/readyz").status_code == 503

    proxy.start()
    time.sleep(proxied_app.extensions["estafeta"].publisher.config.retry_after_failure + 0.1)
    response = client.post("/api/v1/commands/search", json={"text": "after"}, headers=AUTH)
    assert response.status_code == 202
    # The retried event is accepted now: it was never recorded as accepted while down.
    body, headers, _ = signer.event(mention_event("search x"), event_id="EvRetry1")
    assert client.post("/slack/events", data=body, headers=headers).status_code == 200
    assert gateway_vhost.depth(routing.SEARCH.command_queue.name) == 3
    assert client.get("/readyz").status_code == 200


def test_stalled_broker_gets_503_within_two_seconds_not_a_hang(
    proxied_app: Flask, proxy: TcpProxy, gateway_vhost: Vhost
) -> None:
    client: FlaskClient = proxied_app.test_client()
    assert client.post("/api/v1/commands/search", json={"text": "before"},
                       headers=AUTH).status_code == 202
    proxy.stalled = True
    for _ in range(3):
        response, took = _timed(lambda: client.post("/api/v1/commands/search",
                                                    json={"text": "stalled"}, headers=AUTH))
        assert response.status_code == 503 and took < 2.0
    response, took = _timed(lambda: client.get("/readyz"))
    assert response.status_code == 503 and took < 2.0
    proxy.stalled = False
    proxy.cut()  # the stalled connection is useless now; the broker comes back
    proxy.start()
    deadline = time.monotonic() + 10
    status = 0
    while status != 202 and time.monotonic() < deadline:
        status = client.post("/api/v1/commands/search", json={"text": "after"},
                             headers=AUTH).status_code
        time.sleep(0.2)
    assert status == 202


def test_unreachable_broker_answers_within_two_seconds(
    tmp_path: Path, fake_slack: FakeSlack, gateway_vhost: Vhost
) -> None:
    settings = settings_for(gateway_vhost, tmp_path, fake_slack)
    settings = type(settings)(**{**settings.__dict__,
                                 "broker_url": "amqp://guest:guest@127.0.0.1:9//"})
    client = create_app({"SETTINGS": settings}).test_client()
    for _ in range(3):
        response, took = _timed(lambda: client.post("/api/v1/commands/agenda",
                                                    json={"text": "help"}, headers=AUTH))
        assert response.status_code == 503 and took < 2.0
