"""What an operator scrapes shows what real traffic did: the gateway's and the workers' metrics
after signed Slack requests, HTTP API calls and a message that dead-letters, on the real
broker, a real gunicorn gateway (two processes) and real worker processes.

Counters are shared with the other tests of the session: every figure is a difference
between two scrapes around this test's own traffic.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kombu import Connection, Producer
from prometheus_client.parser import text_string_to_metric_families

import routing
from gateway.jobs import Dispatcher
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, message_event
from tests.conftest import API_TOKEN, TEAM
from tests.integration.conftest import Stack
from tests.integration.hosts import eventually, http

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample at `url`/metrics, by name and labels."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def _delta(before: Samples, after: Samples) -> Callable[..., float]:
    return lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)


def _slash(url: str, signer: SlackSigner, slack: FakeSlack, text: str) -> str:
    response_url = slack.response_url()
    body, headers = signer.slash_command("/mood", text, response_url=response_url, team=TEAM)
    answer = http("POST", f"{url}/slack/commands", body, headers)
    assert answer.status == 200, answer.body
    return response_url


def test_gateway_metrics_show_the_traffic_it_answered(
    stack: Stack, gunicorn_gateway: str, fake_slack: FakeSlack, signer: SlackSigner
) -> None:
    before = scrape(gunicorn_gateway)
    urls = [_slash(gunicorn_gateway, signer, fake_slack, f"analyze great work number {n}")
            for n in range(3)]
    body, headers, _ = signer.event(message_event("the deploy went well"), team=TEAM)
    assert http("POST", f"{gunicorn_gateway}/slack/events", body, headers).status == 200
    retried = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert http("POST", f"{gunicorn_gateway}/slack/events", body, retried).status == 200
    assert http("POST", f"{gunicorn_gateway}/slack/commands", b"x=1", {}).status == 401
    assert http("GET", f"{gunicorn_gateway}/no/such/page").status == 404
    for url in urls:
        fake_slack.wait_for(lambda url=url: fake_slack.responses(url), timeout=20)
    after = scrape(gunicorn_gateway)
    delta = _delta(before, after)

    # Two gunicorn processes answered these: their counts add up in one scrape.
    requests = "estafeta_http_requests_total"
    assert delta(requests, route="/slack/commands", method="POST", status="200") == 3
    assert delta(requests, route="/slack/commands", method="POST", status="401") == 1
    assert delta(requests, route="/slack/events", method="POST", status="200") == 2
    assert delta(requests, route="unmatched", method="GET", status="404") == 1
    assert delta("estafeta_http_request_duration_seconds_count", route="/slack/commands") == 4
    assert delta("estafeta_slack_duplicates_total", kind="event") == 1
    # Three commands to the command exchange, one heard message to the topic exchange.
    assert delta("estafeta_publish_confirm_seconds_count", exchange=routing.COMMANDS.name) == 3
    assert delta("estafeta_publish_confirm_seconds_count", exchange=routing.HEARD.name) == 1
    assert value(after, "estafeta_broker_unavailable_total") == value(
        before, "estafeta_broker_unavailable_total")

    # Every queue routing.py declares, dead-letter queues included, with its consumers.
    assert value(after, "estafeta_broker_up") == 1
    dead = {service.dead_queue.name for service in routing.SERVICES.values()}
    for queue in routing.all_queues():
        assert any(n == "estafeta_queue_messages" and ("queue", queue.name) in labels
                   for n, labels in after), queue.name
        if queue.name in dead:  # nothing consumes a dead-letter queue: it is for people
            assert value(after, "estafeta_queue_consumers", queue=queue.name) == 0
    for service in routing.SERVICES.values():
        assert value(after, "estafeta_queue_consumers",
                     queue=service.command_queue.name) >= 1, service.name


def test_worker_metrics_count_tasks_replies_and_dead_letters(
    stack: Stack, gunicorn_gateway: str, fake_slack: FakeSlack, signer: SlackSigner
) -> None:
    worker = stack.workers["sentiment"]
    service = routing.SERVICES["sentiment"]
    before = scrape(worker.metrics_url)
    urls = [_slash(gunicorn_gateway, signer, fake_slack, f"analyze lovely day {n}")
            for n in range(2)]
    for url in urls:
        fake_slack.wait_for(lambda url=url: fake_slack.responses(url), timeout=20)
    # The same command twice under one task id (a redelivery, a replay): one reply.
    from estafeta import grammar
    from estafeta.celery_config import celery_client
    from estafeta.payloads import Context, ReplyTarget
    from gateway.publisher import Publisher

    task_id = str(uuid.uuid4())
    reply_url = fake_slack.response_url()
    publisher = Publisher(stack.settings.broker_url, declare=routing.declare_all)
    dispatcher = Dispatcher(celery_client(stack.settings), publisher)
    command = grammar.parse("sentiment", "analyze twice is once")
    context = Context(team=TEAM, channel="C0001", user="U0001", source="slash")
    for _ in range(2):
        dispatcher.command(command, context, ReplyTarget(kind="response_url", url=reply_url),
                           task_id=task_id)
    # A message no worker can read: dead-lettered, never dropped.
    with Connection(stack.settings.broker_url) as connection:
        Producer(connection.default_channel).publish(
            b"\x80not json", exchange=routing.COMMANDS.name, routing_key=service.routing_key,
            content_type="application/json", content_encoding="utf-8", delivery_mode=2)
    publisher.close()

    def settled() -> Samples | None:
        now = scrape(worker.metrics_url)
        done = _delta(before, now)
        replies = done("estafeta_replies_total", service="sentiment")
        dead = done("estafeta_dead_letters_total", service="sentiment", reason="undecodable")
        return now if replies >= 4 and dead >= 1 else None

    after = eventually(settled, timeout=20, message="the sentiment worker's metrics settle")
    delta = _delta(before, after)
    assert delta("estafeta_tasks_total", service="sentiment", task=service.command_task,
                 outcome="succeeded") == 4
    assert delta("estafeta_task_duration_seconds_count", service="sentiment",
                 task=service.command_task) == 4
    assert delta("estafeta_replies_total", service="sentiment", outcome="posted") == 3
    assert delta("estafeta_replies_total", service="sentiment", outcome="deduplicated") == 1
    assert delta("estafeta_dead_letters_total", service="sentiment", reason="undecodable") == 1
    # From the gateway receiving each slash command to its reply being posted.
    assert delta("estafeta_event_to_reply_seconds_count", service="sentiment",
                 source="slash") >= 2
    assert len(fake_slack.responses(reply_url)) == 1

    # The gateway sees the dead letter in its queue's depth (read every few seconds).
    eventually(lambda: value(scrape(gunicorn_gateway), "estafeta_queue_messages",
                             queue=service.dead_queue.name) >= 1,
               timeout=15, message="the dead letter shows in the queue depth")
    with Connection(stack.settings.broker_url) as connection:
        service.dead_queue(connection.default_channel).purge()

    health = http("GET", f"{worker.metrics_url}/healthz")
    assert health.status == 200, health.body
    assert health.json["status"] == "ok"


def test_a_request_id_follows_the_work_into_the_worker_log(
    stack: Stack, gunicorn_gateway: str
) -> None:
    body = json.dumps({"text": "analyze what a tidy log"}).encode()
    answer = http("POST", f"{gunicorn_gateway}/api/v1/commands/sentiment", body,
                  {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json",
                   "X-Request-Id": "trace-me-0001-abcd"})
    assert answer.status == 202, answer.body
    assert answer.header("X-Request-Id") == "trace-me-0001-abcd"
    task_id = answer.json["task_id"]
    worker = stack.workers["sentiment"]

    def lines() -> list[dict[str, Any]]:
        found = []
        for line in worker.log().splitlines():
            if "trace-me-0001-abcd" in line:
                found.append(json.loads(line))  # every line is one JSON object
        return found

    logged = eventually(lambda: [entry for entry in lines() if entry.get("task_id") == task_id],
                        timeout=20, message="the worker logs the task with its request id")
    for entry in logged:
        assert entry["request_id"] == "trace-me-0001-abcd"
        assert entry["service"] == "sentiment"
        assert entry["team"] == TEAM
