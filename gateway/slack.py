"""Slack's HTTP endpoints: Events API, slash commands and interactive payloads, all verified.

A thin adapter: verify, parse the transport, hand the payload to `gateway.intake` (which the
Socket Mode process shares), answer with what it returns.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gateway import intake
from gateway.bodies import json_object
from gateway.errors import ApiError
from gateway.state import gateway
from gateway.verification import verify_slack_request

bp = Blueprint("slack", __name__, url_prefix="/slack")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@bp.before_request
def _verify() -> None:
    verify_slack_request(request, gateway().settings.slack_signing_secret)


def _require(content_type: str) -> None:
    if request.mimetype != content_type:
        raise ApiError(415, "unsupported_media_type", f"Expected {content_type}.")


def _answer(body: intake.Body) -> Response:
    # An empty 200 is what Slack expects to close a modal after a submission.
    return jsonify(body) if body is not None else Response(status=200)


@bp.post("/events")
def events() -> Response:
    """Answer `url_verification`; accept `event_callback`s after the broker confirmed them."""
    _require(JSON)
    return _answer(intake.event(gateway(), json_object(request.get_data(cache=True))))


@bp.post("/commands")
def commands() -> Response:
    """Acknowledge a slash command at once; its service answers through `response_url`."""
    _require(FORM)
    return _answer(intake.command(gateway(), request.form))


@bp.post("/interactions")
def interactions() -> Response:
    """Acknowledge a click, submission or shortcut and route it to its declared service."""
    _require(FORM)
    raw = request.form.get("payload")
    if raw is None:
        raise ApiError(400, "bad_request", "Missing the `payload` form field.")
    return _answer(intake.interaction(gateway(), json_object(raw, "The `payload` field")))
