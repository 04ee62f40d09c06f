"""Slack endpoints: Events API, slash commands and interactive payloads. All are verified."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request

import grammar
from gateway.errors import ApiError
from gateway.events import Hear, Ignore, RunCommand, classify
from gateway.jobs import event_task_id
from gateway.publisher import BrokerUnavailable
from gateway.state import gateway
from gateway.verification import verify_slack_request
from payloads import Context, ReplyTarget

log = logging.getLogger(__name__)
bp = Blueprint("slack", __name__, url_prefix="/slack")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_QUEUED = {"en": "Working on it…", "es": "Estoy en ello…"}
_NOT_QUEUED = {
    "en": "Sorry, I could not queue that right now. Please try again in a moment.",
    "es": "Lo siento, ahora mismo no he podido encolarlo. Inténtalo de nuevo en un momento.",
}


@bp.before_request
def _verify() -> None:
    verify_slack_request(request, gateway().settings.slack_signing_secret)


def _require(content_type: str) -> None:
    if request.mimetype != content_type:
        raise ApiError(415, "unsupported_media_type", f"Expected {content_type}.")


def _ephemeral(text: str) -> Response:
    return jsonify({"response_type": "ephemeral", "text": text})


@bp.post("/events")
def events() -> Response | tuple[Response, int]:
    """Answer `url_verification`; accept `event_callback`s after the broker confirmed them."""
    _require(JSON)
    payload = _json_object()
    kind = payload.get("type")
    if kind == "url_verification":
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            raise ApiError(400, "bad_request", "url_verification without a challenge.")
        return jsonify({"challenge": challenge})
    if kind != "event_callback":
        return jsonify({"ok": True, "ignored": f"payload type {kind!r} is not handled"})
    event_id = payload.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise ApiError(400, "bad_request", "event_callback without an event_id.")
    action = classify(payload)
    if isinstance(action, Ignore):
        return jsonify({"ok": True, "ignored": action.reason})
    state = gateway()
    if event_id in state.accepted_events:
        return jsonify({"ok": True, "duplicate": True})
    try:
        if isinstance(action, RunCommand):
            task_id = event_task_id(action.context.team, event_id, "command")
            state.dispatcher.command(action.command, action.context, action.reply,
                                     task_id=task_id)
        elif isinstance(action, Hear):
            task_id = event_task_id(action.message.team, event_id, "heard")
            state.dispatcher.heard(action.message, task_id)
    except BrokerUnavailable as exc:
        log.warning("event %s not accepted: %s", event_id, exc)
        # Slack retries events answered with an error: nothing is lost.
        raise ApiError(503, "broker_unavailable", "The broker is unavailable; retry later.",
                       headers={"Retry-After": "5"}) from exc
    state.accepted_events.add(event_id)
    return jsonify({"ok": True})


@bp.post("/commands")
def commands() -> Response:
    """Acknowledge a slash command at once; its service answers through `response_url`."""
    _require(FORM)
    form = request.form
    missing = [f for f in ("command", "team_id", "channel_id", "user_id", "response_url")
               if not form.get(f)]
    if missing:
        raise ApiError(400, "bad_request", f"Missing form fields: {', '.join(missing)}.")
    _check_response_url(form["response_url"])
    service = gateway().settings.slash_commands.get(form["command"])
    if service is None:
        return _ephemeral(f"I don't know `{form['command']}`.\n\n{grammar.help_text(None)}")
    try:
        command = grammar.parse(service, form.get("text", ""))
    except grammar.UsageError as error:
        return _ephemeral(error.usage)
    context = Context(
        team=form["team_id"],
        channel=form["channel_id"],
        user=form["user_id"],
        channel_type=_channel_type(form["channel_id"], form.get("channel_name", "")),
        source="slash",
    )
    reply = ReplyTarget(kind="response_url", url=form["response_url"])
    try:
        gateway().dispatcher.command(command, context, reply)
    except BrokerUnavailable as exc:
        # Slack does not retry slash commands: tell the person, in their own language.
        log.warning("slash command not accepted: %s", exc)
        return _ephemeral(_NOT_QUEUED[command.lang])
    return _ephemeral(_QUEUED[command.lang])


@bp.post("/interactions")
def interactions() -> Response:
    """Verify and acknowledge an interactive payload."""
    _require(FORM)
    raw = request.form.get("payload")
    if raw is None:
        raise ApiError(400, "bad_request", "Missing the `payload` form field.")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_request", "The `payload` field is not valid JSON.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise ApiError(400, "bad_request", "The `payload` must be an object with a `type`.")
    return jsonify({"ok": True})


def _json_object() -> dict[str, Any]:
    try:
        payload = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_request", "The body is not valid JSON.") from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object.")
    return payload


def _check_response_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ApiError(400, "bad_request", "`response_url` is not an http(s) URL.")


def _channel_type(channel_id: str, channel_name: str) -> str:
    if channel_name == "directmessage" or channel_id.startswith("D"):
        return "im"
    if channel_name == "privategroup" or channel_id.startswith("G"):
        return "group"
    return "channel"
