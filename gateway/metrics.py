"""`GET /metrics`, and each request's count, duration and request id."""

from __future__ import annotations

import time
from contextlib import suppress
from contextvars import Token

from flask import Blueprint, Flask, Response, current_app, g, request

from estafeta import tracing
from estafeta.metrics import CONTENT_TYPE, HTTP_DURATION, HTTP_REQUESTS, child, exposition
from gateway.verification import authenticate_bearer

bp = Blueprint("metrics", __name__)

UNMATCHED = "unmatched"  # the route of a request no rule matched: never the raw path
# Gunicorn passes any token as a method: anything else is counted as "other", so that nobody
# can mint label values (series) by inventing methods.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})



@bp.get("/metrics")
def metrics() -> Response:
    """Every process's counters and histograms, and every queue's depth, in Prometheus' format."""
    token = current_app.config["SETTINGS"].metrics_token
    if token:  # a gateway on the internet shows its figures to its own Prometheus only
        authenticate_bearer(request, {token: "metrics"})
    body = exposition([current_app.extensions["estafeta_queues"]])
    return Response(body, status=200, content_type=CONTENT_TYPE)


def observe_requests(app: Flask) -> None:
    """Count and time every request of `app`, and give it a request id (`X-Request-Id`)."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)


def _begin() -> None:
    g.estafeta_started = time.perf_counter()
    g.estafeta_trace = tracing.start(request.headers.get(tracing.HTTP_HEADER))


def _record(status: int) -> None:
    started = g.pop("estafeta_started", None)
    if started is None:
        return
    rule = request.url_rule
    route = rule.rule if rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "other"
    # Bounded label values: routes are the app's rules, methods a few, statuses a few dozen.
    child(HTTP_REQUESTS, route, method, str(status)).inc()
    child(HTTP_DURATION, route).observe(time.perf_counter() - started)


def _finish(response: Response) -> Response:
    # Runs for the JSON error handlers' answers too: a 4xx or 5xx is counted as answered.
    _record(response.status_code)
    trace = tracing.current()
    if trace is not None:
        response.headers[tracing.HTTP_HEADER] = trace.request_id
    return response


def _end(error: BaseException | None) -> None:
    # A request that never reached `_finish` (an after-request hook failed) was answered 500.
    _record(500)
    token: Token[tracing.Trace | None] | None = g.pop("estafeta_trace", None)
    if token is not None:
        with suppress(ValueError):  # set in another context: nothing of ours to reset
            tracing.CURRENT.reset(token)
