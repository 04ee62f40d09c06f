"""Celery application factory of every worker service (the shared configuration is in
`estafeta.celery_config`)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_ready

import routing
from estafeta.celery_config import base_config
from estafeta.settings import Settings, refuse_published_secrets

# Connected at import: metrics, /healthz and task context in every worker process.
from workers import monitoring, task_signals, worker_logs  # noqa: F401

# The soft limit raises inside the task: it fails and its message is dead-lettered. The hard
# limit kills the pool process: Celery requeues the message, and the redelivery guard
# (workers/service.py) dead-letters it once it has come back too often.
TASK_SOFT_TIME_LIMIT = 60  # seconds
TASK_TIME_LIMIT = 90  # seconds


def create_worker_app(service: routing.Service, settings: Settings | None = None) -> Celery:
    """The Celery app of one worker service: it consumes only `service`'s queues."""
    settings = settings or Settings.from_env()
    refuse_published_secrets(settings, needs_signing_secret=False)
    app = Celery(f"estafeta-{service.name}")
    app.conf.update(base_config(settings))
    app.conf.update(
        {
            # Every service's command queue is known, so that a task handed on to another
            # service (the next hop of a Home relay) is routed as `routing` says; the worker
            # consumes only its own queues (selected below).
            "task_queues": [*service.consumed_queues,
                            *(other.command_queue for other in routing.SERVICES.values()
                              if other is not service)],
            "task_default_queue": service.command_queue.name,
            "task_default_exchange": routing.COMMANDS.name,
            "task_default_routing_key": service.routing_key,
            "task_default_priority": int(service.default_priority),
            # The broker can only reorder by priority what it has not handed out yet.
            "worker_prefetch_multiplier": 1,
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            # A failed task is rejected, so its queue dead-letters it instead of dropping it.
            "task_acks_on_failure_or_timeout": False,
            "task_soft_time_limit": TASK_SOFT_TIME_LIMIT,
            "task_time_limit": TASK_TIME_LIMIT,
            "worker_consumer": "workers.consumer:DeadLetteringConsumer",
            "worker_concurrency": settings.worker_concurrency,
            "worker_cancel_long_running_tasks_on_connection_loss": True,
            # A result (STARTED, then the outcome) is stored before the message is acked: with
            # the database away the worker waits for it, at most 10 s between attempts, rather
            # than failing the task into its dead-letter queue; nothing is acked until then.
            "result_backend_always_retry": True,
            "result_backend_max_retries": float("inf"),
            "result_backend_max_sleep_between_retries_ms": 10_000,
            "worker_hijack_root_logger": True,
            "worker_redirect_stdouts": False,
        }
    )
    app.amqp.queues.select([queue.name for queue in service.consumed_queues])
    app.steps["consumer"].add(monitoring.LoopTick)
    worker_logs.use(service.name, settings)
    app.conf.estafeta_service = service.name
    app.conf.estafeta_settings = settings
    return app


@worker_init.connect
def _require_database(sender: Any = None, **_: Any) -> None:
    """Refuse to start, in one line, on a database that is down or not migrated."""
    from estafeta.migrate import DatabaseNotReady, require_database

    app = sender.app
    service = getattr(app.conf, "estafeta_service", None)
    if service is None:  # beat, or a client app: it keeps no state of a service
        return
    settings = app.conf.estafeta_settings
    # With OAuth, the installations too: every task reads its team's token there.
    databases = [service, "installations"] if settings.oauth_enabled else [service]
    try:
        require_database(settings, databases)
    except DatabaseNotReady as exc:
        print(exc, file=sys.stderr, flush=True)
        os._exit(1)  # Celery reports an exception here as a crash with a traceback


@worker_ready.connect
def _declare_topology(sender: Any = None, **_: Any) -> None:
    """Declare the whole topology, dead-letter queues included, once the worker is up."""
    app = sender.app
    with app.connection_for_write() as connection:
        routing.declare_all(connection.default_channel)


class HideReturnValues(logging.Filter):
    """Keeps task return values (reply texts, private words) out of Celery's task log lines."""

    HIDDEN = "<result not logged>"

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the `return_value` of `Task … succeeded in …s: <value>` lines."""
        if isinstance(record.args, Mapping) and "return_value" in record.args:
            record.args = {**record.args, "return_value": self.HIDDEN}
        data = getattr(record, "data", None)
        if isinstance(data, Mapping) and "return_value" in data:
            record.data = {**data, "return_value": self.HIDDEN}
        return True


# On the logger itself, at import: every worker, pool process and eager run imports this module
# before running a task, whatever handlers and formats its logging setup installs.
TRACE_LOGGER = "celery.app.trace"
logging.getLogger(TRACE_LOGGER).addFilter(HideReturnValues())

