"""The HTTP API: the same commands as Slack, for any client with a bearer token."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery.result import AsyncResult
from celery.states import READY_STATES
from flask import Blueprint, Response, g, jsonify, request

import routing
from estafeta import grammar
from estafeta.metrics import BROKER_UNAVAILABLE
from estafeta.payloads import Context, ReplyTarget
from gateway.bodies import json_object
from gateway.errors import ApiError
from gateway.openapi import openapi_document
from gateway.publisher import BrokerUnavailable
from gateway.state import gateway
from gateway.verification import authenticate_bearer

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")

PRIORITIES = {
    "interactive": routing.Priority.INTERACTIVE,
    "bulk": routing.Priority.BULK,
}
RETRY_AFTER_SECONDS = "5"


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    g.team = authenticate_bearer(request, gateway().settings.api_tokens)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document of this API."""
    return jsonify(openapi_document())


def _string_field(body: dict[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise ApiError(400, "bad_request", f"`{name}` must be a string.")
    return value


@bp.post("/commands/<service>")
def run_command(service: str) -> tuple[Response, int, dict[str, str]]:
    """Queue a command for `service`; answer 202 with the task id once the broker confirmed."""
    if service not in routing.SERVICES:
        raise ApiError(404, "unknown_service",
                       f"Unknown service {service!r}; use one of {sorted(routing.SERVICES)}.")
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the command as application/json.")
    body = json_object(request.get_data(cache=True))
    if "text" not in body:
        raise ApiError(400, "bad_request", "The body needs a `text` field.")
    text = _string_field(body, "text")
    priority_name = _string_field(body, "priority", "interactive")
    if priority_name not in PRIORITIES:
        raise ApiError(400, "bad_request", f"`priority` must be one of {sorted(PRIORITIES)}.")
    lang = _string_field(body, "lang", "en")
    if lang not in grammar.LANGS:
        raise ApiError(400, "bad_request", f"`lang` must be one of {list(grammar.LANGS)}.")
    try:
        command = grammar.parse(service, text, lang)
    except grammar.UsageError as error:
        raise ApiError(400, "usage", error.reason, usage=error.usage) from error
    # The caller names a channel but Slack does not vouch for it: HTTP callers see public
    # channels only (`Context.inside`), and all of a team's HTTP callers are one user.
    context = Context(team=g.team, channel=_string_field(body, "channel"), user="api",
                      source="api")
    state = gateway()
    # The owner is written before the message exists, so a status request can never find the
    # task without knowing whose it is (results keep no task arguments to tell).
    task_id = str(uuid.uuid4())
    state.task_owners.record(task_id, g.team)
    try:
        accepted = state.dispatcher.command(
            command, context, ReplyTarget(kind="none"), task_id=task_id,
            priority=PRIORITIES[priority_name],
        )
    except BrokerUnavailable as exc:
        state.task_owners.forget(task_id)
        BROKER_UNAVAILABLE.labels("api").inc()
        log.warning("API command not accepted: %s", exc)
        raise ApiError(503, "broker_unavailable", "The broker is unavailable; retry later.",
                       headers={"Retry-After": RETRY_AFTER_SECONDS}) from exc
    # Built by hand: url_for(_external=True) costs as much as the rest of the request.
    status_url = f"{request.host_url}api/v1/tasks/{accepted.task_id}"
    body_out = {
        "task_id": accepted.task_id,
        "service": accepted.service,
        "verb": accepted.verb,
        "status_url": status_url,
    }
    return jsonify(body_out), 202, {"Location": status_url}


def _result_team(result: AsyncResult) -> str | None:
    value = result.result if result.state == "SUCCESS" else None
    team = value.get("team") if isinstance(value, dict) else None
    return team if isinstance(team, str) else None


@bp.get("/tasks/<task_id>")
def task_status(task_id: str) -> Response:
    """The state of a task and, once it finished, its result."""
    try:
        task_id = str(uuid.UUID(task_id))
    except ValueError as exc:
        raise ApiError(404, "unknown_task", "No such task.") from exc
    gateway_state = gateway()
    owner = gateway_state.task_owners.owner(task_id)
    if owner is not None and owner != g.team:
        raise ApiError(404, "unknown_task", "No such task.")
    result = AsyncResult(task_id, app=gateway_state.celery)
    state = result.state
    body: dict[str, Any] = {"task_id": task_id, "state": state}
    # A token only ever sees its own team's tasks, known from the moment they were accepted.
    # An id this gateway never accepted (another replica's, on another DATA_DIR) reads as
    # PENDING, like any unknown id, until it finishes: then its result names its team.
    if owner is None and state not in READY_STATES:
        # Started or being retried, but its team is only known once it finished.
        body["state"] = "PENDING"
    elif owner is None and _result_team(result) != g.team:
        raise ApiError(404, "unknown_task", "No such task.")
    if state == "SUCCESS":
        body["result"] = result.result
    elif state == "FAILURE":
        body["error"] = type(result.result).__name__ if result.result is not None else "error"
    return jsonify(body)
