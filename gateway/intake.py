"""What the gateway does with a verified Slack request, whichever way it arrived.

The HTTP endpoints (`gateway.slack`) and the Socket Mode process (`gateway.socket`) both parse
their transport, then call these functions: the same classify, dispatch, deduplication and
publisher confirms. Each returns the body Slack gets back (`None`: an empty `200`), or raises
`ApiError` for what must be refused; nothing here knows about Flask or websockets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from estafeta import grammar, mrkdwn
from estafeta.interactions import (
    BLOCK_ACTIONS,
    VIEW_CLOSED,
    VIEW_SUBMISSION,
    BadInteraction,
    read_interaction,
)
from estafeta.metrics import BROKER_UNAVAILABLE, SLACK_DUPLICATES
from estafeta.payloads import Context, ReplyTarget, channel_kind
from estafeta.stores import StoreUnavailable
from estafeta.urls import response_url_allowed
from gateway.dedup import trigger_key
from gateway.errors import ApiError
from gateway.events import Hear, Ignore, OpenHome, RunCommand, Uninstall, classify
from gateway.jobs import event_task_id
from gateway.publisher import BrokerUnavailable
from gateway.state import Gateway

log = logging.getLogger(__name__)

Body = dict[str, Any] | None

_QUEUED = {"en": "Working on it…", "es": "Estoy en ello…"}
_ALREADY = {
    "en": "Already received; it is being worked on.",
    "es": "Ya recibido; estoy en ello.",
}
_NOT_QUEUED = {
    "en": "Sorry, I could not queue that right now. Please try again in a moment.",
    "es": "Lo siento, ahora mismo no he podido encolarlo. Inténtalo de nuevo en un momento.",
}


def ephemeral(text: str) -> dict[str, Any]:
    """The body of an answer only the person who asked sees."""
    return {"response_type": "ephemeral", "text": text}


def _broker_down(source: str, what: str, exc: BrokerUnavailable) -> ApiError:
    BROKER_UNAVAILABLE.labels(source).inc()
    log.warning("%s not accepted: %s", what, exc)
    # Slack retries events (and a person clicks again) after an error: nothing is lost.
    return ApiError(503, "broker_unavailable", "The broker is unavailable; retry later.",
                    headers={"Retry-After": "5"})


def event(state: Gateway, payload: dict[str, Any]) -> Body:
    """Answer `url_verification`; accept an `event_callback` once the broker confirmed it."""
    kind = payload.get("type")
    if kind == "url_verification":
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            raise ApiError(400, "bad_request", "url_verification without a challenge.")
        return {"challenge": challenge}
    if kind != "event_callback":
        return {"ok": True, "ignored": f"payload type {kind!r} is not handled"}
    event_id = payload.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise ApiError(400, "bad_request", "event_callback without an event_id.")
    action = classify(payload)
    if isinstance(action, Ignore):
        return {"ok": True, "ignored": action.reason}
    if event_id in state.accepted_events:
        SLACK_DUPLICATES.labels("event").inc()
        return {"ok": True, "duplicate": True}
    try:
        if isinstance(action, RunCommand):
            task_id = event_task_id(action.context.team, event_id, "command")
            state.dispatcher.command(action.command, action.context, action.reply,
                                     task_id=task_id)
        elif isinstance(action, Hear):
            task_id = event_task_id(action.message.team, event_id, "heard")
            state.dispatcher.heard(action.message, task_id)
        elif isinstance(action, OpenHome):
            services = grammar.home_services()
            if services:
                task_id = event_task_id(action.context.team, event_id, "home")
                state.dispatcher.home(services, action.context, task_id=task_id)
        elif isinstance(action, Uninstall):
            # Nothing to queue: the team's tokens are deleted now. A worker may still hold
            # one in its cache for up to a minute; Slack refuses it, and it is forgotten.
            state.uninstall(action.team, action.enterprise)
    except BrokerUnavailable as exc:
        raise _broker_down("events", f"event {event_id}", exc) from exc
    state.accepted_events.claim(event_id)
    return {"ok": True}


def _check_response_url(url: str, api_url: str) -> None:
    if not response_url_allowed(url, api_url):
        raise ApiError(400, "bad_request", "`response_url` is not a Slack response URL "
                       "(https://hooks.slack.com/...).")


def command(state: Gateway, form: Mapping[str, str]) -> Body:
    """Acknowledge a slash command at once; its service answers through `response_url`."""
    missing = [f for f in ("command", "team_id", "channel_id", "user_id", "response_url")
               if not form.get(f)]
    if missing:
        raise ApiError(400, "bad_request", f"Missing form fields: {', '.join(missing)}.")
    _check_response_url(form["response_url"], state.settings.slack_api_url)
    service = state.slash_commands.get(form["command"])
    if service is None:
        unknown = mrkdwn.escape(form["command"])
        return ephemeral(f"I don't know `{unknown}`.\n\n{grammar.help_text(None)}")
    try:
        # Slack escapes `&`, `<` and `>` in what people type: undone once here, so the services
        # hold plain text and escape it exactly once when they write it back.
        parsed = grammar.parse(service, mrkdwn.unescape(form.get("text", "")))
    except grammar.UsageError as error:
        return ephemeral(error.usage)
    trigger_id = form.get("trigger_id", "")
    context = Context(
        team=form["team_id"],
        channel=form["channel_id"],
        user=form["user_id"],
        channel_type=channel_kind(form["channel_id"], form.get("channel_name", "")),
        source="slash",
        # Opens a modal within 3 s of the command (`/agenda` with no text).
        trigger_id=trigger_id if trigger_key(form["team_id"], trigger_id) else "",
    )
    reply = ReplyTarget(kind="response_url", url=form["response_url"])
    # Slack never retries a slash command: the same trigger twice is a replay of a signed
    # request inside its 5-minute window, and runs once. Claimed before publishing, so that
    # concurrent copies cannot both pass.
    key = trigger_key(context.team, trigger_id)
    try:
        first = key is None or state.accepted_events.claim(key)
    except StoreUnavailable as exc:
        # Slack does not retry a slash command: a 503 would show the person only Slack's
        # own failure. Nothing was published; they are told so in their own language.
        log.warning("slash command not accepted: %s", exc)
        return ephemeral(_NOT_QUEUED[parsed.lang])
    if not first:
        SLACK_DUPLICATES.labels("command").inc()
        log.info("replayed slash command of team %s not published again", context.team)
        return ephemeral(_ALREADY[parsed.lang])
    # A task id derived from the trigger: a replay that reaches another gateway volume still
    # carries the same id, and the service's reply ledger stops it there.
    task_id = event_task_id(context.team, trigger_id, "command") if key is not None else None
    try:
        state.dispatcher.command(parsed, context, reply, task_id=task_id)
    except BrokerUnavailable as exc:
        # Slack does not retry slash commands: tell the person, in their own language.
        BROKER_UNAVAILABLE.labels("commands").inc()
        log.warning("slash command not accepted: %s", exc)
        if key is not None:
            # Nothing ran: a replay may run. (A person typing it again sends a new trigger.)
            with suppress(StoreUnavailable):
                state.accepted_events.discard(key)
        return ephemeral(_NOT_QUEUED[parsed.lang])
    return ephemeral(_QUEUED[parsed.lang])


_NOT_SAVED = {
    "en": "Sorry, that could not be saved right now. Please submit it again in a moment.",
    "es": "Lo siento, ahora mismo no se ha podido guardar. Vuelve a enviarlo en un momento.",
}


def interaction(state: Gateway, payload: dict[str, Any]) -> Body:
    """Route a click, modal submission or shortcut to the service that declared its id.

    A modal's values are checked here, against the service's declared form: what is wrong is
    shown on the field (`response_action: errors`) and nothing is published.
    """
    try:
        item, context, reply = read_interaction(payload)
    except BadInteraction as error:
        raise ApiError(400, "bad_request", str(error)) from error
    if item.kind == VIEW_CLOSED:
        return None
    service = grammar.interaction_service(item.id)
    if service is None:
        raise ApiError(400, "unknown_action",
                       f"No service declares the interaction id {item.id[:80]!r}.")
    if reply.kind == "response_url":
        _check_response_url(reply.url, state.settings.slack_api_url)
    lang = item.metadata().get("lang", "en")
    form = (grammar.declaration(service).forms.get(item.id)
            if item.kind == VIEW_SUBMISSION else None)
    if form is not None:
        errors = form.errors(item.values, lang)
        if errors:
            return {"response_action": "errors", "errors": errors}
    # One click, one submission: Slack gives each click its own trigger, and a modal is
    # submitted once (pressing its button again while the first is being acked gives a new
    # trigger but the same view); a replay of the same signed request is not published again.
    once = item.view_id if item.kind == VIEW_SUBMISSION else item.trigger_id
    key = trigger_key(context.team, once or item.trigger_id or None)
    if key is not None and not state.accepted_events.claim(key):
        SLACK_DUPLICATES.labels("interaction").inc()
        return None if item.kind == VIEW_SUBMISSION else {"ok": True, "duplicate": True}
    task_id = event_task_id(context.team, key or f"{item.id}:{item.message_ts}", "interaction")
    try:
        state.dispatcher.interaction(service, item, context, reply, task_id=task_id)
    except BrokerUnavailable as exc:
        if key is not None:
            with suppress(StoreUnavailable):
                state.accepted_events.discard(key)
        if item.kind == VIEW_SUBMISSION:
            # Shown in the modal, which stays open: the person submits again.
            first = form.inputs[0].name if form is not None and form.inputs else ""
            if first:
                BROKER_UNAVAILABLE.labels("interactions").inc()
                log.warning("view submission not accepted: %s", exc)
                return {"response_action": "errors",
                        "errors": {first: _NOT_SAVED.get(lang, _NOT_SAVED["en"])}}
        raise _broker_down("interactions", f"{item.kind} {item.id}", exc) from exc
    if item.kind == BLOCK_ACTIONS:
        return {"ok": True}
    return None
