"""The request a piece of work belongs to, carried from the gateway to every worker log line.

The gateway starts a `Trace` for each request it receives (`start`); every message it
publishes for that request carries the trace in its headers (`headers`), and the worker that
runs the task restores it (`from_headers`) for its log lines and its event-to-reply metric.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

REQUEST_ID_HEADER = "estafeta_request_id"  # message headers (AMQP)
RECEIVED_AT_HEADER = "estafeta_received_at"
HTTP_HEADER = "X-Request-Id"
# What a load balancer's request id may look like to be kept; anything else gets a new id.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


@dataclass(frozen=True)
class Trace:
    """A request's id, and when the gateway received it (seconds since the epoch)."""

    request_id: str
    received_at: float


CURRENT: ContextVar[Trace | None] = ContextVar("estafeta_trace", default=None)


def new_request_id(offered: str | None = None) -> str:
    """`offered` (a proxy's `X-Request-Id`) when it looks like an id, else a new one."""
    if offered and _ACCEPTABLE.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def start(request_id: str | None = None, received_at: float | None = None) -> Token[Trace | None]:
    """Make a new trace the current one; `CURRENT.reset(token)` ends it."""
    trace = Trace(new_request_id(request_id),
                  time.time() if received_at is None else received_at)
    return CURRENT.set(trace)


def current() -> Trace | None:
    """The trace of the request or task being handled, if any."""
    return CURRENT.get()


def headers() -> dict[str, Any]:
    """Message headers that carry the current trace (none outside a request)."""
    trace = CURRENT.get()
    if trace is None:
        return {}
    return {REQUEST_ID_HEADER: trace.request_id, RECEIVED_AT_HEADER: trace.received_at}


def from_headers(values: Mapping[str, Any] | Any) -> Trace | None:
    """The trace a message carried: from its headers, or a Celery request's attributes."""
    get = values.get if isinstance(values, Mapping) else (
        lambda name: getattr(values, name, None))
    request_id, received_at = get(REQUEST_ID_HEADER), get(RECEIVED_AT_HEADER)
    if not isinstance(request_id, str) or not _ACCEPTABLE.fullmatch(request_id):
        return None
    try:
        when = float(received_at)  # type: ignore[arg-type]  # None: caught below
    except (TypeError, ValueError):
        when = 0.0  # an id without a time: logged, but no event-to-reply figure
    return Trace(request_id, when)
