"""Every metric Estafeta exports, declared once: the gateway's, the workers' and the agenda's.

The alert rules and the dashboard (`deploy/prometheus/`, `deploy/grafana/`) name these and
nothing else; a test holds them to it. In a gunicorn gateway or a prefork worker the values
live in files the processes share (`estafeta.multiprocess`), and `exposition` adds them up.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from estafeta import multiprocess

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds. An ack is milliseconds; a reply to a person a few seconds; a reminder up to minutes.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 90.0)
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
LATENESS_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# -- gateway (and the Socket Mode process, which shares its intake) ---------------------------

HTTP_REQUESTS = Counter(
    "estafeta_http_requests", "Requests answered by the gateway, by route and status.",
    ["route", "method", "status"])
HTTP_DURATION = Histogram(
    "estafeta_http_request_duration_seconds",
    "Time from a request's arrival to its answer (the ack Slack waits for), by route.",
    ["route"], buckets=FAST_BUCKETS)
PUBLISH_CONFIRM = Histogram(
    "estafeta_publish_confirm_seconds",
    "Time from publishing a message to the broker's confirm, by exchange.",
    ["exchange"], buckets=FAST_BUCKETS)
BROKER_UNAVAILABLE = Counter(
    "estafeta_broker_unavailable",
    "Requests refused because the broker did not confirm their message, by source.",
    ["source"])
SLACK_DUPLICATES = Counter(
    "estafeta_slack_duplicates",
    "Slack retries and replays recognised as already accepted and not published again.",
    ["kind"])

# Read from the broker when scraped (`gateway.queues`), not counted here: their names are
# declared so that the alert rules' test knows them.
QUEUE_MESSAGES = "estafeta_queue_messages"
QUEUE_CONSUMERS = "estafeta_queue_consumers"
BROKER_UP = "estafeta_broker_up"

# -- worker services ---------------------------------------------------------------------------

TASKS = Counter(
    "estafeta_tasks", "Tasks a worker finished, by service, task and outcome "
    "(succeeded, failed, retried, rejected, ignored).", ["service", "task", "outcome"])
TASK_DURATION = Histogram(
    "estafeta_task_duration_seconds", "Time a task ran, by service and task.",
    ["service", "task"], buckets=TASK_BUCKETS)
TASK_RETRIES = Counter(
    "estafeta_task_retries", "Retries scheduled, by service, task and reason "
    "(slack, rate_limited, store).", ["service", "task", "reason"])
DEAD_LETTERS = Counter(
    "estafeta_dead_letters", "Messages a worker sent to its dead-letter queue, by reason.",
    ["service", "reason"])
REPLIES = Counter(
    "estafeta_replies", "Replies to Slack, by outcome: posted now, or deduplicated (already "
    "posted by an earlier attempt).", ["service", "outcome"])
SLACK_API_ERRORS = Counter(
    "estafeta_slack_api_errors", "Errors Slack's Web API (or a response_url) answered, "
    "by method and error.", ["service", "method", "error"])
SLACK_RATE_LIMITED = Counter(
    "estafeta_slack_rate_limited", "429 answers from Slack, by method.", ["service", "method"])
EVENT_TO_REPLY = Histogram(
    "estafeta_event_to_reply_seconds",
    "Time from the gateway receiving a Slack request to its reply being posted.",
    ["service", "source"], buckets=REPLY_BUCKETS)

# Read from the worker's event loop when scraped (`workers.monitoring`).
WORKER_LOOP_AGE = "estafeta_worker_loop_age_seconds"
WORKER_OLDEST_TASK = "estafeta_worker_oldest_task_seconds"
WORKER_CONNECTED = "estafeta_worker_connected"

# -- agenda ------------------------------------------------------------------------------------

REMINDER_LATENESS = Histogram(
    "estafeta_agenda_reminder_lateness_seconds",
    "How long after its due time a reminder was posted.", buckets=LATENESS_BUCKETS)
# Read from the agenda's store when scraped.
REMINDERS_PENDING = "estafeta_agenda_reminders_pending"
REMINDERS_OVERDUE = "estafeta_agenda_reminders_overdue"

SCRAPED = (QUEUE_MESSAGES, QUEUE_CONSUMERS, BROKER_UP, WORKER_LOOP_AGE, WORKER_OLDEST_TASK,
           WORKER_CONNECTED, REMINDERS_PENDING, REMINDERS_OVERDUE)


@functools.cache
def child(metric: Counter | Histogram, *values: str) -> Any:
    """`metric.labels(*values)`, found once: `labels()` validates and locks on every call, and
    the gateway counts on its hot path. Only for labels of bounded values."""
    return metric.labels(*values)


def exported_names() -> set[str]:
    """Every series name Estafeta can export (a counter's `_total`, a histogram's `_bucket`,
    `_sum` and `_count`), for the tests of the alert rules and the dashboard."""
    names = set(SCRAPED)
    for metric in (HTTP_REQUESTS, HTTP_DURATION, PUBLISH_CONFIRM, BROKER_UNAVAILABLE,
                   SLACK_DUPLICATES, TASKS, TASK_DURATION, TASK_RETRIES, DEAD_LETTERS, REPLIES,
                   SLACK_API_ERRORS, SLACK_RATE_LIMITED, EVENT_TO_REPLY, REMINDER_LATENESS):
        for family in metric.describe():
            if family.type == "counter":
                names.add(f"{family.name}_total")
            elif family.type == "histogram":
                names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
            else:
                names.add(family.name)
    return names


def exposition(collectors: Iterable[Collector] = ()) -> bytes:
    """This process's metrics (every process's, in multiprocess mode) and `collectors`' in
    Prometheus' text format."""
    extra = CollectorRegistry(auto_describe=True)
    for collector in collectors:
        extra.register(collector)
    if multiprocess.enabled():
        shared = CollectorRegistry()
        MultiProcessCollector(shared)
        return generate_latest(shared) + generate_latest(extra)
    return generate_latest(REGISTRY) + generate_latest(extra)
