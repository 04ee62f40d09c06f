"""Log lines of every process: text for people, or one JSON object per line (`LOG_FORMAT=json`).

Each line says which service wrote it and, while a request or a task is handled, its request
id (`estafeta.tracing`), task id and team. Nothing else from a record reaches a JSON line:
the arguments of a task or the extras a library attaches can carry private text.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from estafeta import tracing

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTEXT_FIELDS = ("service", "request_id", "task_id", "team")
JSON_FIELDS = ("time", "level", "logger", "message", *CONTEXT_FIELDS, "exc_info")

_NONE: Mapping[str, str] = MappingProxyType({})
_BOUND: ContextVar[Mapping[str, str]] = ContextVar("estafeta_log_fields", default=_NONE)
_SERVICE = {"name": ""}  # one per process: set by `configure`


@contextmanager
def bound(**fields: str) -> Iterator[None]:
    """Add `task_id`, `team` (…) to every line logged inside the block."""
    token = _BOUND.set({**_BOUND.get(), **fields})
    try:
        yield
    finally:
        _BOUND.reset(token)


def bind(**fields: str) -> Any:
    """Add fields to every later line of this context; `unbind(token)` takes them back."""
    return _BOUND.set({**_BOUND.get(), **fields})


def unbind(token: Any) -> None:
    """Take back what `bind` added."""
    _BOUND.reset(token)


class ContextFilter(logging.Filter):
    """Puts the service, request id, task id and team on every record (empty when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the context fields; never drops a record."""
        fields = _BOUND.get()
        trace = tracing.current()
        record.service = _SERVICE["name"]
        record.request_id = fields.get("request_id") or (trace.request_id if trace else "")
        # Celery's own lines about a task ("received", "succeeded") name it in `data`.
        data = getattr(record, "data", None)
        celery_id = data.get("id") if isinstance(data, Mapping) else None
        record.task_id = fields.get("task_id") or (celery_id if isinstance(celery_id, str)
                                                   else "")
        record.team = fields.get("team", "")
        return True


class JsonLines(JsonFormatter):
    """One JSON object per line, with exactly `JSON_FIELDS` (empty ones left out)."""

    def __init__(self) -> None:
        super().__init__(timestamp=False, json_ensure_ascii=False)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        """Keep the fixed fields only."""
        values = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{name: getattr(record, name, "") for name in CONTEXT_FIELDS},
        }
        # The library has formatted a traceback into `message_dict`: it stays in the line.
        values["exc_info"] = message_dict.get("exc_info", "")
        log_data.clear()
        log_data.update({k: v for k, v in values.items() if v})

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """UTC, whatever the host's timezone."""
        return time.strftime(datefmt or "%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of `LOG_FORMAT` (`text` or `json`)."""
    return JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure(service: str, level: str, log_format: str,
              handler: logging.Handler | None = None) -> None:
    """Send this process's log lines to stderr (or `handler`) in `log_format`, each with the
    context fields; replaces the root logger's handlers."""
    _SERVICE["name"] = service
    handler = handler or logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
