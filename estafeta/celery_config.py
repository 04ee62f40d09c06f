"""The Celery configuration every process shares, and the client that runs no tasks.

Workers build their apps on `base_config` (workers/app.py); the gateway, beat and the
command-line tools publish and read results through `celery_client`, without importing any
worker code.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

import routing
from estafeta.settings import Settings

# The schema of Celery's result tables in PostgreSQL (`estafeta.migrate` creates it).
RESULTS_SCHEMA = "results"

# Results are for HTTP callers polling their task: a day is plenty, and nothing older is kept
# (beat sends `celery.backend_cleanup` to the service `routing` names, which deletes them).
RESULT_EXPIRES = 24 * 3600  # seconds


def base_config(settings: Settings) -> dict[str, Any]:
    """Celery settings every process shares: JSON only, durable and confirmed publishing."""
    return {
        **_result_tables(settings),
        "broker_url": settings.broker_url,
        "result_backend": settings.effective_result_backend,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 4,
        # Retries, beat and replays publish with confirms, like the gateway does.
        "broker_transport_options": {"confirm_publish": True},
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Extended results would store each task's arguments: response_urls, the texts of
        # backfilled private messages. The gateway records who owns a task itself.
        "result_extended": False,
        "result_expires": RESULT_EXPIRES,
        "task_default_delivery_mode": "persistent",
        "task_routes": routing.task_routes(),
        "task_queue_max_priority": routing.MAX_PRIORITY,
        "task_create_missing_queues": False,
        # STARTED is written before the task body runs, where a database outage would fail
        # the task before it ran: on PostgreSQL a task reads PENDING until it finishes.
        "task_track_started": not (settings.uses_postgres and not settings.result_backend),
        "enable_utc": True,
        "timezone": "UTC",
    }


def _result_tables(settings: Settings) -> dict[str, Any]:
    """Where the result tables live: in PostgreSQL, a schema of their own where `estafeta
    migrate` creates them."""
    if settings.result_backend or not settings.uses_postgres:
        return {}
    return {"database_table_schemas": {"task": RESULTS_SCHEMA, "group": RESULTS_SCHEMA},
            # Celery's own defaults (pre-ping, recycle), a bounded connect, and no statement
            # parameters in error messages: they would carry results into the logs.
            "database_engine_options": {"pool_pre_ping": True, "pool_recycle": 3600,
                                        "hide_parameters": True,
                                        "connect_args": {"connect_timeout": 3}}}


def celery_client(settings: Settings) -> Celery:
    """A Celery app that publishes and reads results but runs no tasks (gateway, tools)."""
    app = Celery("estafeta-client", set_as_current=False)
    app.conf.update(base_config(settings))
    # A worker waits for the database to store a result (it keeps the message until then);
    # a reader must not: the gateway answers 503 at once and its caller polls again.
    app.conf.result_backend_always_retry = False
    app.conf.task_queues = routing.all_queues()
    return app
