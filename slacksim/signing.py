"""Requests signed the way Slack signs them, for the simulator, tests and benchmarks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

_event_ids = itertools.count(1)
_message_ts = itertools.count(1)
_RUN = f"{time.time_ns():x}"


class SlackSigner:
    """Signs request bodies with a signing secret (`v0` HMAC-SHA256 over `v0:ts:body`)."""

    def __init__(self, signing_secret: str) -> None:
        self._secret = signing_secret.encode()
        self._verifier = SignatureVerifier(signing_secret)

    def headers(self, body: bytes, content_type: str, timestamp: int | None = None,
                extra: dict[str, str] | None = None) -> dict[str, str]:
        """The headers Slack sends with `body`."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        try:
            signature = self._verifier.generate_signature(timestamp=stamp, body=body)
        except UnicodeDecodeError:
            # slack_sdk only signs UTF-8; tests also sign other bytes, over the raw body.
            message = b"v0:" + stamp.encode() + b":" + body
            signature = "v0=" + hmac.new(self._secret, message, hashlib.sha256).hexdigest()
        assert signature is not None
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            **(extra or {}),
        }

    def slash_command(self, command: str, text: str, *, response_url: str,
                      team: str = "T0001", channel: str = "C0001", user: str = "U0001",
                      channel_name: str = "general", trigger_id: str | None = None
                      ) -> tuple[bytes, dict[str, str]]:
        """A signed slash command: (body, headers)."""
        body = urlencode({
            "token": "deprecated-verification-token",
            "team_id": team,
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "command": command,
            "text": text,
            "response_url": response_url,
            # Unique across runs too: the gateway runs a trigger id once (a replay guard).
            "trigger_id": trigger_id or new_trigger_id(),
        }).encode()
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def interaction(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """A signed interactive payload, form-encoded in the field `payload` as Slack sends
        it: (body, headers)."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any], *, team: str = "T0001", event_id: str | None = None,
              retry: int | None = None) -> tuple[bytes, dict[str, str], str]:
        """A signed `event_callback`: (body, headers, event_id)."""
        # Unique across runs: the gateway remembers accepted event ids for a day.
        event_id = event_id or f"Ev{_RUN}{next(_event_ids):08d}"
        payload = {
            "token": "deprecated-verification-token",
            "team_id": team,
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
        }
        body = json.dumps(payload).encode()
        extra = {}
        if retry is not None:
            extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return body, self.headers(body, "application/json", extra=extra), event_id


def next_ts() -> str:
    """A fresh, increasing Slack message timestamp."""
    return f"{time.time():.0f}.{next(_message_ts):06d}"


def message_event(text: str, *, channel: str = "C0001", user: str = "U0001",
                  channel_type: str = "channel", ts: str | None = None,
                  **extra: Any) -> dict[str, Any]:
    """A `message` event as Slack sends it for a person's message in a channel."""
    return {"type": "message", "channel": channel, "user": user, "text": text,
            "ts": ts or next_ts(), "channel_type": channel_type, **extra}


def mention_event(text: str, *, channel: str = "C0001", user: str = "U0001",
                  ts: str | None = None, thread_ts: str | None = None) -> dict[str, Any]:
    """An `app_mention` event: `text` follows the bot's mention."""
    event = {"type": "app_mention", "channel": channel, "user": user,
             "text": f"<@UBOT> {text}", "ts": ts or next_ts()}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def new_trigger_id() -> str:
    """A fresh trigger id, unique across runs too (the gateway runs a trigger once)."""
    return f"trigger.{_RUN}.{next(_event_ids)}"


def _person(user: str, team: str, name: str) -> dict[str, str]:
    return {"id": user, "username": name.lower(), "name": name.lower(), "team_id": team}


def block_actions(action: dict[str, Any], *, team: str, user: str, user_name: str,
                  container: dict[str, Any], trigger_id: str,
                  channel: dict[str, str] | None = None,
                  message: dict[str, Any] | None = None,
                  view: dict[str, Any] | None = None,
                  response_url: str | None = None) -> dict[str, Any]:
    """The `block_actions` payload Slack sends for one element used (a button, a menu):
    on a message (`channel`, `message`, `response_url`) or in a view (`view`)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "token": "deprecated-verification-token",
        "api_app_id": "A0001",
        "team": {"id": team, "domain": "estafeta-demo"},
        "user": _person(user, team, user_name),
        "container": container,
        "trigger_id": trigger_id,
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        "state": {"values": {}},
    }
    if channel is not None:
        payload["channel"] = channel
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def view_submission(view: dict[str, Any], values: dict[str, Any], *, team: str, user: str,
                    user_name: str, trigger_id: str) -> dict[str, Any]:
    """The `view_submission` payload Slack sends when a modal's submit button is pressed:
    `view` as it was opened, with `values` (block_id → action_id → element state)."""
    return {**_view_payload("view_submission", view, values, team, user, user_name),
            "trigger_id": trigger_id, "response_urls": []}


def view_closed(view: dict[str, Any], *, team: str, user: str, user_name: str
                ) -> dict[str, Any]:
    """The `view_closed` payload Slack sends when a modal with `notify_on_close` is closed."""
    return {**_view_payload("view_closed", view, {}, team, user, user_name),
            "is_cleared": False}


def _view_payload(kind: str, view: dict[str, Any], values: dict[str, Any], team: str,
                  user: str, user_name: str) -> dict[str, Any]:
    """What every modal payload carries: the view as opened, with its state."""
    return {
        "type": kind,
        "token": "deprecated-verification-token",
        "api_app_id": "A0001",
        "team": {"id": team, "domain": "estafeta-demo"},
        "user": _person(user, team, user_name),
        "view": {**view, "team_id": team, "state": {"values": values}},
    }


def home_opened_event(user: str, *, view: dict[str, Any] | None = None) -> dict[str, Any]:
    """An `app_home_opened` event: `user` opened the bot's Home tab (`view`: what the bot
    last published there)."""
    event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:],
                             "tab": "home", "event_ts": f"{time.time():.6f}"}
    if view is not None:
        event["view"] = view
    return event
