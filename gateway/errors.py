"""Every error the gateway returns is JSON with a clear message, never an HTML page or a 500."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from estafeta.stores import StoreUnavailable

log = logging.getLogger(__name__)

# Slack retries a 503 (and HTTP callers are told when): the database is back in seconds.
STORE_RETRY_AFTER = "5"


class ApiError(Exception):
    """An error answered with `status` and a JSON body `{"error": code, "message": ...}`."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None, **extra: object) -> Response:
    """A JSON error response."""
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def register_error_handlers(app: Flask) -> None:
    """Answer `ApiError`, Werkzeug's HTTP errors and anything unexpected as JSON."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.headers,
                              **error.extra)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = error.description or error.name
        if status == 413:
            message = "The request body is larger than the 1 MiB limit."
        # Werkzeug's own headers carry what the client needs next: `Allow` on a 405.
        headers = {name: value for name, value in error.get_headers()
                   if name.lower() != "content-type"}
        return error_response(status, _CODES.get(status, "http_error"), message, headers)

    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(error: StoreUnavailable) -> Response:
        log.warning("answered 503: %s", error)
        return _database_unavailable()

    @app.errorhandler(OperationalError)
    def _results_unavailable(error: OperationalError) -> Response:
        # The result backend (SQLAlchemy) could not be reached; any other database error is
        # a bug, and stays a 500.
        log.warning("answered 503: the result backend is unavailable (%s)",
                    type(error.orig).__name__)
        return _database_unavailable()

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "Something went wrong; nothing was queued.")


def _database_unavailable() -> Response:
    return error_response(503, "database_unavailable",
                          "The database is unavailable; nothing was accepted. Retry later.",
                          {"Retry-After": STORE_RETRY_AFTER})
