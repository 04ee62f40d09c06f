"""Slack endpoints: Events API, slash commands and interactive payloads. All are verified."""

from __future__ import annotations

import logging
from contextlib import suppress

from flask import Blueprint, Response, jsonify, request

from estafeta import grammar, mrkdwn
from estafeta.payloads import Context, ReplyTarget
from estafeta.stores import StoreUnavailable
from estafeta.urls import response_url_allowed
from gateway.bodies import json_object
from gateway.dedup import trigger_key
from gateway.errors import ApiError
from gateway.events import Hear, Ignore, RunCommand, classify
from gateway.jobs import event_task_id
from gateway.publisher import BrokerUnavailable
from gateway.state import gateway
from gateway.verification import verify_slack_request

log = logging.getLogger(__name__)
bp = Blueprint("slack", __name__, url_prefix="/slack")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_QUEUED = {"en": "Working on it…", "es": "Estoy en ello…"}
_ALREADY = {
    "en": "Already received; it is being worked on.",
    "es": "Ya recibido; estoy en ello.",
}
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
    payload = json_object(request.get_data(cache=True))
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
    state.accepted_events.claim(event_id)
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
    state = gateway()
    _check_response_url(form["response_url"], state.settings.slack_api_url)
    service = state.slash_commands.get(form["command"])
    if service is None:
        unknown = mrkdwn.escape(form["command"])
        return _ephemeral(f"I don't know `{unknown}`.\n\n{grammar.help_text(None)}")
    try:
        # Slack escapes `&`, `<` and `>` in what people type: undone once here, so the services
        # hold plain text and escape it exactly once when they write it back.
        command = grammar.parse(service, mrkdwn.unescape(form.get("text", "")))
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
    # Slack never retries a slash command: the same trigger twice is a replay of a signed
    # request inside its 5-minute window, and runs once. Claimed before publishing, so that
    # concurrent copies cannot both pass.
    trigger_id = form.get("trigger_id", "")
    key = trigger_key(context.team, trigger_id)
    try:
        first = key is None or state.accepted_events.claim(key)
    except StoreUnavailable as exc:
        # Slack does not retry a slash command: a 503 would show the person only Slack's
        # own failure. Nothing was published; they are told so in their own language.
        log.warning("slash command not accepted: %s", exc)
        return _ephemeral(_NOT_QUEUED[command.lang])
    if not first:
        log.info("replayed slash command of team %s not published again", context.team)
        return _ephemeral(_ALREADY[command.lang])
    # A task id derived from the trigger: a replay that reaches another gateway volume still
    # carries the same id, and the service's reply ledger stops it there.
    task_id = event_task_id(context.team, trigger_id, "command") if key is not None else None
    try:
        state.dispatcher.command(command, context, reply, task_id=task_id)
    except BrokerUnavailable as exc:
        # Slack does not retry slash commands: tell the person, in their own language.
        log.warning("slash command not accepted: %s", exc)
        if key is not None:
            # Nothing ran: a replay may run. (A person typing it again sends a new trigger.)
            with suppress(StoreUnavailable):
                state.accepted_events.discard(key)
        return _ephemeral(_NOT_QUEUED[command.lang])
    return _ephemeral(_QUEUED[command.lang])


@bp.post("/interactions")
def interactions() -> Response:
    """Verify and acknowledge an interactive payload, once per team and trigger."""
    _require(FORM)
    raw = request.form.get("payload")
    if raw is None:
        raise ApiError(400, "bad_request", "Missing the `payload` form field.")
    payload = json_object(raw, "The `payload` field")
    if not isinstance(payload.get("type"), str):
        raise ApiError(400, "bad_request", "The `payload` must be an object with a `type`.")
    team = payload.get("team")
    team_id = team.get("id") if isinstance(team, dict) else None
    key = trigger_key(team_id if isinstance(team_id, str) else "", payload.get("trigger_id"))
    if key is not None and not gateway().accepted_events.claim(key):
        return jsonify({"ok": True, "duplicate": True})
    return jsonify({"ok": True})


def _check_response_url(url: str, api_url: str) -> None:
    if not response_url_allowed(url, api_url):
        raise ApiError(400, "bad_request", "`response_url` is not a Slack response URL "
                       "(https://hooks.slack.com/...).")


def _channel_type(channel_id: str, channel_name: str) -> str:
    if channel_name == "directmessage" or channel_id.startswith("D"):
        return "im"
    if channel_name == "privategroup" or channel_id.startswith("G"):
        return "group"
    return "channel"
