"""`/metrics`: request counts by route, the intake's counters, and every queue's depth."""

from __future__ import annotations

import dataclasses
import urllib.request
from collections.abc import Iterator, Mapping

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import routing
from estafeta.metrics import CONTENT_TYPE
from estafeta.metrics_http import MetricsServer
from estafeta.settings import Settings
from gateway import create_app
from gateway.queues import QueueCollector, QueueDepth, kind_of
from gateway.recording import RecordingPublisher
from slacksim.signing import SlackSigner, mention_event
from tests.conftest import API_TOKEN

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
QUEUES = [queue.name for queue in routing.all_queues()]


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _depths(names: list[str]) -> Mapping[str, QueueDepth]:
    return {name: QueueDepth(messages=index, consumers=1) for index, name in enumerate(names)}


def _broker_down(names: list[str]) -> Mapping[str, QueueDepth]:
    raise ConnectionRefusedError("nobody listens")


@pytest.fixture
def metered(settings: Settings, publisher: RecordingPublisher) -> Iterator[FlaskClient]:
    """A gateway whose `/metrics` reads queue depths from `_depths` instead of a broker."""
    app: Flask = create_app({"SETTINGS": settings, "PUBLISHER": publisher, "TESTING": True,
                             "QUEUE_READER": _depths})
    yield app.test_client()
    publisher.close()


def _families(client: FlaskClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type == CONTENT_TYPE
    return {family.name: [(sample.labels, sample.value) for sample in family.samples]
            for family in text_string_to_metric_families(response.get_data(as_text=True))}


def test_metrics_lists_every_queue_of_routing_with_its_service_and_kind(
        metered: FlaskClient) -> None:
    families = _families(metered)
    assert families["estafeta_broker_up"] == [({}, 1.0)]
    messages = {labels["queue"]: (labels["service"], labels["kind"], value)
                for labels, value in families["estafeta_queue_messages"]}
    assert sorted(messages) == sorted(QUEUES)
    assert messages[routing.SEARCH.command_queue.name] == ("search", "command", 0.0)
    assert messages[f"{routing.SEARCH.name}.heard"][:2] == ("search", "heard")
    assert messages[routing.AGENDA.dead_queue.name][:2] == ("agenda", "dead")
    assert {labels["queue"] for labels, value in families["estafeta_queue_consumers"]
            if value == 1.0} == set(QUEUES)


def test_a_broker_that_cannot_be_read_is_down_with_no_queue_samples(
        settings: Settings, publisher: RecordingPublisher) -> None:
    app = create_app({"SETTINGS": settings, "PUBLISHER": publisher, "TESTING": True,
                      "QUEUE_READER": _broker_down})
    families = _families(app.test_client())
    assert families["estafeta_broker_up"] == [({}, 0.0)]
    assert families["estafeta_queue_messages"] == []
    assert families["estafeta_queue_consumers"] == []


def test_depths_are_read_once_per_cache_period_and_registering_reads_nothing() -> None:
    reads: list[int] = []
    now = [100.0]

    def reader(names: list[str]) -> Mapping[str, QueueDepth]:
        reads.append(len(names))
        if len(reads) == 2:
            raise OSError("broker gone")
        return _depths(names)

    collector = QueueCollector(reader, cache_seconds=5.0, clock=lambda: now[0])
    list(collector.describe())
    assert reads == []
    assert collector.depths() is not None and collector.depths() is not None
    assert reads == [len(QUEUES)]
    now[0] += 5.0
    assert collector.depths() is None  # down: said, not raised
    now[0] += 5.0
    assert collector.depths() == _depths(QUEUES)


def test_every_queue_has_a_kind() -> None:
    kinds = {name: kind_of(name) for name in QUEUES}
    assert kinds[routing.SENTIMENT.command_queue.name] == ("sentiment", "command")
    assert {kind for _, kind in kinds.values()} == {"command", "heard", "dead"}
    assert sum(kind == "dead" for _, kind in kinds.values()) == len(routing.SERVICES)


def test_a_request_is_counted_by_its_rule_not_its_path(metered: FlaskClient) -> None:
    route = "/api/v1/tasks/<task_id>"
    before = _value("estafeta_http_requests_total", route=route, method="GET", status="404")
    timed = _value("estafeta_http_request_duration_seconds_count", route=route)
    response = metered.get("/api/v1/tasks/not-a-task", headers=AUTH)
    assert response.status_code == 404  # answered by the JSON error handler
    assert _value("estafeta_http_requests_total", route=route, method="GET",
                  status="404") == before + 1
    assert _value("estafeta_http_request_duration_seconds_count", route=route) == timed + 1


def test_a_path_no_rule_matches_counts_as_unmatched(metered: FlaskClient) -> None:
    before = _value("estafeta_http_requests_total", route="unmatched", method="GET",
                    status="404")
    assert metered.get("/no/such/thing-1234").status_code == 404
    assert _value("estafeta_http_requests_total", route="unmatched", method="GET",
                  status="404") == before + 1
    assert 'path="/no/such' not in metered.get("/metrics").get_data(as_text=True)
    assert "/no/such/thing-1234" not in metered.get("/metrics").get_data(as_text=True)


def test_a_broker_down_api_call_is_counted(metered: FlaskClient,
                                           publisher: RecordingPublisher) -> None:
    before = _value("estafeta_broker_unavailable_total", source="api")
    refused = _value("estafeta_http_requests_total", route="/api/v1/commands/<service>",
                     method="POST", status="503")
    publisher.fail()
    response = metered.post("/api/v1/commands/search", json={"text": "deploy"}, headers=AUTH)
    assert response.status_code == 503
    assert _value("estafeta_broker_unavailable_total", source="api") == before + 1
    assert _value("estafeta_http_requests_total", route="/api/v1/commands/<service>",
                  method="POST", status="503") == refused + 1


def test_a_slack_retry_is_counted_as_a_duplicate(metered: FlaskClient,
                                                 signer: SlackSigner) -> None:
    before = _value("estafeta_slack_duplicates_total", kind="event")
    event = mention_event("search deploy")
    body, headers, event_id = signer.event(event)
    assert metered.post("/slack/events", data=body, headers=headers).status_code == 200
    assert _value("estafeta_slack_duplicates_total", kind="event") == before
    body, headers, _ = signer.event(event, event_id=event_id, retry=1)
    retry = metered.post("/slack/events", data=body, headers=headers)
    assert retry.json == {"ok": True, "duplicate": True}
    assert _value("estafeta_slack_duplicates_total", kind="event") == before + 1


def test_a_broker_down_event_is_counted_under_events(metered: FlaskClient,
                                                     publisher: RecordingPublisher,
                                                     signer: SlackSigner) -> None:
    before = _value("estafeta_broker_unavailable_total", source="events")
    publisher.fail()
    body, headers, _ = signer.event(mention_event("mood"))
    assert metered.post("/slack/events", data=body, headers=headers).status_code == 503
    assert _value("estafeta_broker_unavailable_total", source="events") == before + 1


def test_the_socket_mode_metrics_server_serves_the_counters() -> None:
    server = MetricsServer(0, host="127.0.0.1").start()
    try:
        port = server.port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
            assert answer.headers["Content-Type"] == CONTENT_TYPE
        names = {family.name for family in text_string_to_metric_families(text)}
        assert {"estafeta_slack_duplicates", "estafeta_broker_unavailable"} <= names
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200
    finally:
        server.stop()


def test_with_a_metrics_token_only_its_bearer_may_scrape(
        settings: Settings, publisher: RecordingPublisher) -> None:
    guarded = dataclasses.replace(settings, metrics_token="scrape-secret-123")
    app = create_app({"SETTINGS": guarded, "PUBLISHER": publisher, "TESTING": True,
                      "QUEUE_READER": _depths})
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json["error"] == "unauthorized"
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
    assert right.status_code == 200
    assert "estafeta_broker_up 1.0" in right.get_data(as_text=True)


def test_an_invented_method_is_counted_as_other_and_mints_no_series(
        metered: FlaskClient) -> None:
    before = _value("estafeta_http_requests_total", route="unmatched", method="other",
                    status="405")
    for invented in ("FOO1", "BAR2", "ZZZZZ"):
        assert metered.open("/slack/events", method=invented).status_code == 405
    assert _value("estafeta_http_requests_total", route="unmatched", method="other",
                  status="405") == before + 3
    text = metered.get("/metrics").get_data(as_text=True)
    assert not any(f'method="{invented}"' in text for invented in ("FOO1", "BAR2", "ZZZZZ"))
