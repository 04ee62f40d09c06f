"""Slack's interactive payloads (buttons, modals, shortcuts), read into one small shape.

Pure functions, no I/O: the gateway reads a payload with `read_interaction` before publishing
anything, checks a modal's values against the service's declared `Form` (so that a person sees
what is wrong on the field, at once), and the workers rebuild the same `Interaction` from the
task message. Each service declares the ids it answers in `workers/<svc>/commands.py`; an id
always starts with the service's name and a dot (`search.more`), so no two services clash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from estafeta.payloads import Context, ReplyTarget, channel_kind

BLOCK_ACTIONS = "block_actions"
VIEW_SUBMISSION = "view_submission"
VIEW_CLOSED = "view_closed"
SHORTCUT = "shortcut"  # a global shortcut (the lightning menu)
MESSAGE_ACTION = "message_action"  # a shortcut on a message
KINDS = frozenset({BLOCK_ACTIONS, VIEW_SUBMISSION, VIEW_CLOSED, SHORTCUT, MESSAGE_ACTION})

# Slack's own limits: an action_id or callback_id has at most 255 characters, a button's
# value 2,000, private_metadata 3,000, a plain-text input 3,000.
MAX_ID = 255
MAX_VALUE = 3000
MAX_VALUES = 100
_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")


class BadInteraction(ValueError):
    """The payload is not an interaction Slack sends (a `400`, nothing published)."""


@dataclass(frozen=True)
class Interaction:
    """One click, submission or shortcut: what was used and what it carried."""

    kind: str  # one of KINDS
    id: str  # the action_id of a block action, the callback_id of a view or shortcut
    value: str = ""  # a button's value, a menu's selected option
    # A view submission's inputs: the action_id of each input → its value (a date as
    # YYYY-MM-DD, a time as HH:MM, a menu's option value).
    values: Mapping[str, str] = field(default_factory=dict)
    private_metadata: str = ""  # what the service put in the view it opened
    trigger_id: str = ""  # opens a modal within 3 s of the click
    view_id: str = ""
    message_ts: str = ""  # the message the button was on (block actions, message actions)
    container: str = ""  # message, ephemeral, view (a modal or the Home tab)

    def metadata(self) -> dict[str, str]:
        """`private_metadata` read as the JSON object services write there (empty if not)."""
        try:
            data = json.loads(self.private_metadata) if self.private_metadata else {}
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def as_dict(self) -> dict[str, Any]:
        """The JSON form carried in a task message."""
        return {"kind": self.kind, "id": self.id, "value": self.value,
                "values": dict(self.values), "private_metadata": self.private_metadata,
                "trigger_id": self.trigger_id, "view_id": self.view_id,
                "message_ts": self.message_ts, "container": self.container}

    @classmethod
    def from_dict(cls, data: Any) -> Interaction:
        """Rebuild from the JSON form (`TypeError` when malformed)."""
        if not isinstance(data, dict):
            raise TypeError("Interaction must be an object")
        values = data.get("values") or {}
        if not isinstance(values, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            raise TypeError("Interaction.values must map strings to strings")
        strings = {}
        for name in ("kind", "id", "value", "private_metadata", "trigger_id", "view_id",
                     "message_ts", "container"):
            value = data.get(name, "")
            if not isinstance(value, str):
                raise TypeError(f"Interaction.{name} must be a string")
            strings[name] = value
        if strings["kind"] not in KINDS or not strings["id"]:
            raise TypeError("Interaction needs a known kind and an id")
        return cls(values=values, **strings)


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInteraction(f"`{what}` must be an object.")
    return value


def _string(value: Any, what: str, limit: int = MAX_VALUE) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInteraction(f"`{what}` must be a string.")
    if len(value) > limit:
        raise BadInteraction(f"`{what}` is longer than {limit} characters.")
    return value


def _id(value: Any, what: str) -> str:
    text = _string(value, what, MAX_ID)
    if not text or not _ID.match(text):
        raise BadInteraction(f"`{what}` is missing or not an id.")
    return text


def _chosen(element: dict[str, Any], what: str) -> str:
    """The value of one element: a button's value, a text input's, a picker's choice."""
    option = element.get("selected_option")
    if option is not None:
        return _string(_object(option, f"{what}.selected_option").get("value"), what)
    for key in ("value", "selected_date", "selected_time", "selected_user",
                "selected_channel", "selected_conversation"):
        if element.get(key) is not None:
            return _string(element[key], f"{what}.{key}")
    return ""


def _state_values(view: dict[str, Any]) -> dict[str, str]:
    blocks = _object(_object(view.get("state"), "view.state").get("values"), "view.state.values")
    values: dict[str, str] = {}
    for block_id, elements in blocks.items():
        for action_id, element in _object(elements, f"view.state.values.{block_id}").items():
            values[_id(action_id, "view.state action_id")] = _chosen(
                _object(element, f"view.state.values.{block_id}.{action_id}"), "value")
            if len(values) > MAX_VALUES:
                raise BadInteraction("The view has too many inputs.")
    return values


def read_interaction(payload: dict[str, Any]) -> tuple[Interaction, Context, ReplyTarget]:
    """What an interactive payload asks for, who asked, and where an answer may go.

    Raises `BadInteraction` for anything Slack would not send.
    """
    kind = payload.get("type")
    if kind not in KINDS:
        raise BadInteraction(f"Interactions of type {str(kind)[:40]!r} are not handled.")
    team = _string(_object(payload.get("team"), "team").get("id"), "team.id", MAX_ID)
    user = _object(payload.get("user"), "user")
    user_id = _string(user.get("id"), "user.id", MAX_ID)
    team = team or _string(user.get("team_id"), "user.team_id", MAX_ID)
    if not team or not user_id:
        raise BadInteraction("The payload names no team or no user.")
    channel = _string(_object(payload.get("channel"), "channel").get("id"), "channel.id",
                      MAX_ID)
    container = _object(payload.get("container"), "container")
    channel = channel or _string(container.get("channel_id"), "container.channel_id", MAX_ID)
    trigger_id = _string(payload.get("trigger_id"), "trigger_id", MAX_ID)
    response_url = _string(payload.get("response_url"), "response_url")
    view = _object(payload.get("view"), "view")
    message = _object(payload.get("message"), "message")
    common: dict[str, Any] = {
        "kind": kind, "trigger_id": trigger_id,
        "view_id": _string(view.get("id"), "view.id", MAX_ID),
        "private_metadata": _string(view.get("private_metadata"), "view.private_metadata"),
        "message_ts": _string(message.get("ts") or container.get("message_ts"), "message.ts",
                              MAX_ID),
        "container": _string(container.get("type"), "container.type", MAX_ID),
    }
    if kind == BLOCK_ACTIONS:
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            raise BadInteraction("`actions` must be a non-empty list.")
        action = _object(actions[0], "actions[0]")  # Slack sends the one element used
        item = Interaction(id=_id(action.get("action_id"), "action_id"),
                           value=_chosen(action, "actions[0]"), **common)
    elif kind in {VIEW_SUBMISSION, VIEW_CLOSED}:
        if not view:
            raise BadInteraction("A view payload needs its `view`.")
        item = Interaction(id=_id(view.get("callback_id"), "view.callback_id"),
                           values=_state_values(view) if kind == VIEW_SUBMISSION else {},
                           **common)
    else:  # a global or message shortcut
        item = Interaction(id=_id(payload.get("callback_id"), "callback_id"), **common)
    metadata = item.metadata()
    # A view is not in a channel: the one it was opened from is what the service wrote in it.
    channel = channel or metadata.get("channel", "")
    context = Context(team=team, channel=channel, user=user_id,
                      channel_type=channel_kind(channel), source="interaction",
                      trigger_id=trigger_id)
    if response_url:
        reply = ReplyTarget(kind="response_url", url=response_url)
    elif channel and kind != VIEW_CLOSED:
        reply = ReplyTarget(kind="ephemeral", channel=channel, user=user_id)
    else:
        reply = ReplyTarget()
    return item, context, reply


# -- Forms: a modal's inputs, checked at the gateway --------------------------------------------

TEXT, DATE, TIME, CHOICE = "text", "date", "time", "choice"
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

_ERRORS = {
    "required": {"en": "Please fill this in.", "es": "Rellena este campo."},
    "too_long": {"en": "At most {limit} characters, please.",
                 "es": "Como mucho {limit} caracteres, por favor."},
    "date": {"en": "Pick a date (YYYY-MM-DD).", "es": "Elige una fecha (AAAA-MM-DD)."},
    "past": {"en": "That date has already passed.", "es": "Esa fecha ya ha pasado."},
    "time": {"en": "Pick a time (HH:MM).", "es": "Elige una hora (HH:MM)."},
    "choice": {"en": "Pick one of the options.", "es": "Elige una de las opciones."},
}


@dataclass(frozen=True)
class Input:
    """One input of a form; its `name` is both its block_id and its action_id."""

    name: str
    kind: str = TEXT  # text, date, time, choice
    required: bool = True
    max_length: int = 200
    choices: tuple[str, ...] = ()  # the option values a `choice` input may take

    def problem(self, value: str, today: date) -> str | None:
        """Which of `_ERRORS` `value` has (None when it is fine)."""
        if not value.strip():
            return "required" if self.required else None
        if len(value) > self.max_length:
            return "too_long"
        if self.kind == DATE:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                return "date"
            # The person's timezone is not known here: a day of slack either side.
            return "past" if day < today - timedelta(days=1) else None
        if self.kind == TIME:
            return None if _TIME.match(value) else "time"
        if self.kind == CHOICE:
            return None if value in self.choices else "choice"
        return None


@dataclass(frozen=True)
class Form:
    """The inputs of a modal a service opens, checked before its submission is published."""

    inputs: tuple[Input, ...]

    def errors(self, values: Mapping[str, str], lang: str = "en",
               today: date | None = None) -> dict[str, str]:
        """block_id → what is wrong, in `lang` (empty when every input is fine)."""
        today = today or date.today()
        found: dict[str, str] = {}
        for item in self.inputs:
            problem = item.problem(values.get(item.name, ""), today)
            if problem is not None:
                text = _ERRORS[problem].get(lang, _ERRORS[problem]["en"])
                found[item.name] = text.format(limit=item.max_length)
        return found
