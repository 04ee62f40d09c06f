"""Every log line of a worker or of beat, in the main process and the pool's, through
`estafeta.logs` (text or JSON lines, each with its service and task context)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import setup_logging

from estafeta import logs
from estafeta.settings import Settings

_CHOSEN: dict[str, Any] = {}


def use(service: str, settings: Settings) -> None:
    """Make Celery's logging set-up (main process, then each pool process) configure
    `estafeta.logs` for `service` instead of its own handlers."""
    _CHOSEN.update(service=service, settings=settings)
    # Connected here, not at import: a receiver of `setup_logging` replaces Celery's own
    # set-up in every app of the process, so only a worker or beat connects one.
    setup_logging.connect(_configure, weak=False, dispatch_uid="estafeta-logs")


def _configure(loglevel: Any = None, **_: Any) -> None:
    settings: Settings = _CHOSEN["settings"]
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else (
        loglevel or settings.log_level)
    logs.configure(_CHOSEN["service"], str(level), settings.log_format)
    # Celery's task logger has a handler of its own and does not propagate: its lines go
    # through the root handler, with the context fields, like every other line.
    task_logger = logging.getLogger("celery.task")
    task_logger.handlers = []
    task_logger.propagate = True
    # slack_sdk logs request details at DEBUG; keep tokens and bodies out of the logs.
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
