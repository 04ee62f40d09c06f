"""What every task of a service run does besides its work: its log lines and trace carry its
request, and its outcome, duration and dead letters are counted.

Connected to Celery's `task_prerun` / `task_postrun`, which run in the pool process around the
task, so Celery's own "Task … succeeded" line (logged before `task_postrun`) is bound too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import Token
from typing import Any

from celery.exceptions import Reject
from celery.signals import task_postrun, task_prerun

import routing
from estafeta import logs, metrics, tracing
from workers.replies import CURRENT_SOURCE
from workers.service import team_of

# Celery's state at `task_postrun` → the `outcome` label of `estafeta_tasks`.
OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried",
            "REJECTED": "rejected", "IGNORED": "ignored"}

_running: dict[str, tuple[float, Any, Token[tracing.Trace | None], Token[str]]] = {}


def service_of(task: Any) -> str | None:
    """The service a task belongs to; None for Celery's own tasks (not counted)."""
    service = getattr(task, "service", None)
    return service.name if isinstance(service, routing.Service) else None


def trace_of(task: Any) -> tracing.Trace | None:
    """The trace the task's message carried (on the request in a worker, in its headers
    when run eagerly)."""
    request = task.request
    return tracing.from_headers(request) or tracing.from_headers(request.headers or {})


def source_of(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """Where the request came from (a Context's `source`); `schedule` for the rest."""
    context = kwargs.get("context")
    if context is None and len(args) >= 2:
        context = args[1]
    source = context.get("source") if isinstance(context, dict) else None
    return source if isinstance(source, str) and source else "schedule"


def dead_letter_reason(state: str | None, retval: Any) -> str | None:
    """Why the message of a finished task goes to its dead-letter queue, or None.

    Failed tasks are rejected without requeue (`task_acks_on_failure_or_timeout=False`); a
    hard time limit or a lost pool process never gets here (their message is requeued).
    """
    if state == "FAILURE":
        return "failed"
    if state == "REJECTED" and not (isinstance(retval, Reject) and retval.requeue):
        return "rejected"
    return None


@task_prerun.connect
def _begin(task_id: str = "", task: Any = None, args: Any = (), kwargs: Any = None,
           **_: Any) -> None:
    args, kwargs = tuple(args or ()), dict(kwargs or {})
    trace = trace_of(task)
    # The request id reaches every line through the trace (`logs.ContextFilter`).
    fields = {"task_id": task_id, "team": team_of(args, kwargs)}
    _running[task_id] = (time.monotonic(), logs.bind(**fields), tracing.CURRENT.set(trace),
                         CURRENT_SOURCE.set(source_of(args, kwargs)))


@task_postrun.connect
def _end(task_id: str = "", task: Any = None, state: str | None = None, retval: Any = None,
         **_: Any) -> None:
    begun = _running.pop(task_id, None)
    if begun is None:
        return
    started, fields, trace, source = begun
    try:
        service = service_of(task)
        if service is None:
            return
        metrics.TASK_DURATION.labels(service, task.name).observe(time.monotonic() - started)
        if outcome := OUTCOMES.get(state or ""):
            metrics.TASKS.labels(service, task.name, outcome).inc()
        if reason := dead_letter_reason(state, retval):
            metrics.DEAD_LETTERS.labels(service, reason).inc()
    finally:
        CURRENT_SOURCE.reset(source)
        tracing.CURRENT.reset(trace)
        logs.unbind(fields)
