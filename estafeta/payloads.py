"""The JSON bodies carried by task messages, shared by the gateway (builds) and workers (read)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, TypeVar

T = TypeVar("T")


def _from_dict(cls: type[T], data: Any) -> T:
    """Build dataclass `cls` from a dict, ignoring unknown keys; `TypeError` if malformed."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} must be an object, not {type(data).__name__}")
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in known}
    for key, value in values.items():
        if not isinstance(value, str):
            raise TypeError(f"{cls.__name__}.{key} must be a string")
    return cls(**values)


def channel_kind(channel_id: str, channel_name: str = "") -> str:
    """channel, group or im, from the id Slack gave (and a slash command's channel name)."""
    if channel_name == "directmessage" or channel_id.startswith("D"):
        return "im"
    if channel_name == "privategroup" or channel_id.startswith("G"):
        return "group"
    return "channel" if channel_id else ""


@dataclass(frozen=True)
class Context:
    """Who asked and where: the team is the boundary of every piece of data."""

    team: str
    channel: str = ""
    user: str = ""
    channel_type: str = ""  # channel, group (private), im, mpim; empty for HTTP
    source: str = "api"  # slash, mention, interaction, home, api, schedule
    # Set by the worker, never carried in a message: the id of the task that runs the
    # request (for a mention, derived from Slack's event id). Every side effect a handler
    # has is keyed by it, so a retry or a redelivery finds the first result.
    request_id: str = ""
    # Slack's trigger of a slash command or a click: it opens a modal, within 3 s of it.
    trigger_id: str = ""

    @property
    def inside(self) -> str:
        """The conversation this request comes from, whose private messages it may see.

        Slack vouches for the channel of a slash command or a mention; an HTTP caller only
        names one, so it sees public channels only.
        """
        return self.channel if self.source in {"slash", "mention", "interaction"} else ""

    def as_dict(self) -> dict[str, str]:
        """The JSON form."""
        data = {"team": self.team, "channel": self.channel, "user": self.user,
                "channel_type": self.channel_type, "source": self.source}
        if self.trigger_id:
            data["trigger_id"] = self.trigger_id
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Context:
        """Rebuild from the JSON form (a `request_id` in it is ignored: the worker sets it)."""
        context = replace(_from_dict(cls, data), request_id="")
        if not context.team:
            raise TypeError("Context.team is required")
        return context


@dataclass(frozen=True)
class ReplyTarget:
    """Where the answer goes: a slash command's `response_url`, a thread, a channel (a new
    top-level message: reminders, alerts), one person in a channel (an ephemeral message:
    the answer to a modal) or nowhere (HTTP)."""

    kind: str = "none"  # response_url, thread, channel, ephemeral, none
    url: str = ""
    channel: str = ""
    thread_ts: str = ""
    user: str = ""  # the one person who sees an ephemeral answer

    def as_dict(self) -> dict[str, str]:
        """The JSON form."""
        target = {"kind": self.kind, "url": self.url, "channel": self.channel,
                  "thread_ts": self.thread_ts}
        if self.user:
            target["user"] = self.user
        return target

    @classmethod
    def from_dict(cls, data: Any) -> ReplyTarget:
        """Rebuild from the JSON form."""
        target = _from_dict(cls, data)
        if target.kind not in {"response_url", "thread", "channel", "ephemeral", "none"}:
            raise TypeError(f"unknown reply target {target.kind!r}")
        if target.kind == "ephemeral" and not (target.channel and target.user):
            raise TypeError("an ephemeral reply needs a channel and a user")
        return target


@dataclass(frozen=True)
class HeardMessage:
    """A message the bot heard in a channel, normalised from a Slack `message` event."""

    team: str
    channel: str
    ts: str
    user: str = ""
    text: str = ""
    channel_type: str = ""
    thread_ts: str = ""
    subtype: str = ""  # "", message_changed, message_deleted, thread_broadcast, ...

    @property
    def deleted(self) -> bool:
        """Whether this is the deletion of an earlier message."""
        return self.subtype == "message_deleted"

    def as_dict(self) -> dict[str, str]:
        """The JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> HeardMessage:
        """Rebuild from the JSON form."""
        message = _from_dict(cls, data)
        if not (message.team and message.channel and message.ts):
            raise TypeError("HeardMessage needs team, channel and ts")
        return message
