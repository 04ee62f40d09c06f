"""What a Slack Events API callback asks for: pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from estafeta import grammar, mrkdwn
from estafeta.grammar import Command
from estafeta.payloads import Context, HeardMessage, ReplyTarget

# Message subtypes that carry a person's words (or their edit or deletion).
HEARD_SUBTYPES = {"", "thread_broadcast", "file_share", "me_message", "message_changed",
                  "message_deleted"}
# What a person writes to the bot in its direct messages: a command each.
DIRECT_SUBTYPES = {"", "file_share", "me_message"}


@dataclass(frozen=True)
class Ignore:
    """Nothing to do; the reason is returned to Slack for easier debugging."""

    reason: str


@dataclass(frozen=True)
class RunCommand:
    """An app mention (answered in its thread) or a message to the bot in its direct
    messages (answered there): one command for one service."""

    command: Command
    context: Context
    reply: ReplyTarget


@dataclass(frozen=True)
class Hear:
    """A message a person wrote in a channel: published once to the heard stream."""

    message: HeardMessage


@dataclass(frozen=True)
class OpenHome:
    """A person opened the bot's Home tab: every service that has a section builds it."""

    context: Context


@dataclass(frozen=True)
class Uninstall:
    """The app was uninstalled from a team, or its bot token revoked: forget the tokens."""

    team: str
    enterprise: str = ""


Action = Ignore | RunCommand | Hear | OpenHome | Uninstall


def _bot_user_ids(payload: dict[str, Any]) -> set[str]:
    ids = {str(a.get("user_id")) for a in payload.get("authorizations") or []
           if isinstance(a, dict) and a.get("is_bot")}
    return ids - {"None"}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def classify(payload: dict[str, Any]) -> Action:
    """Decide what an `event_callback` payload asks for."""
    event = payload.get("event")
    if not isinstance(event, dict):
        return Ignore("no event")
    team = _text(payload.get("team_id")) or _text(event.get("team"))
    if not team:
        return Ignore("no team")
    kind = event.get("type")
    if kind in {"app_uninstalled", "tokens_revoked"}:
        tokens = event.get("tokens")
        if kind == "tokens_revoked" and not (isinstance(tokens, dict) and tokens.get("bot")):
            return Ignore("only user tokens were revoked")  # the bot's token still works
        return Uninstall(team, _text(payload.get("enterprise_id")))
    if kind == "app_home_opened":
        user = _text(event.get("user"))
        if event.get("tab", "home") != "home" or not user:
            return Ignore("not the Home tab")
        return OpenHome(Context(team=team, channel=_text(event.get("channel")), user=user,
                                channel_type="im", source="home"))
    if kind == "app_mention":
        return _mention(team, event, _bot_user_ids(payload))
    if kind == "message":
        return _message(team, event, _bot_user_ids(payload))
    return Ignore(f"event type {kind!r} is not handled")


def _is_from_a_bot(event: dict[str, Any], bot_users: set[str]) -> bool:
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message" or (
        _text(event.get("user")) in bot_users
    )


def _mention(team: str, event: dict[str, Any], bot_users: set[str]) -> Action:
    if _is_from_a_bot(event, bot_users):
        return Ignore("mention by a bot")
    channel, ts = _text(event.get("channel")), _text(event.get("ts"))
    if not channel or not ts:
        return Ignore("mention without channel or ts")
    # Slack escapes `&`, `<` and `>` in what people type: undone once here (as for slash
    # commands), so the services hold plain text and escape it once when they write it back.
    command = grammar.parse_mention(mrkdwn.unescape(_text(event.get("text"))))
    context = Context(
        team=team,
        channel=channel,
        user=_text(event.get("user")),
        channel_type=_text(event.get("channel_type")),
        source="mention",
    )
    reply = ReplyTarget(kind="thread", channel=channel,
                        thread_ts=_text(event.get("thread_ts")) or ts)
    return RunCommand(command, context, reply)


def _direct(team: str, event: dict[str, Any], bot_users: set[str]) -> Action:
    if _is_from_a_bot(event, bot_users):
        return Ignore("message from a bot")
    channel, ts, user = _text(event.get("channel")), _text(event.get("ts")), _text(
        event.get("user"))
    if not (channel and ts and user):
        return Ignore("direct message without channel, ts or user")
    command = grammar.parse_mention(mrkdwn.unescape(_text(event.get("text"))))
    context = Context(team=team, channel=channel, user=user, channel_type="im",
                      source="mention")
    # A thread only when the person wrote in one; else the answer follows in the DM.
    thread = _text(event.get("thread_ts"))
    reply = (ReplyTarget(kind="thread", channel=channel, thread_ts=thread) if thread
             else ReplyTarget(kind="channel", channel=channel))
    return RunCommand(command, context, reply)


def _message(team: str, event: dict[str, Any], bot_users: set[str]) -> Action:
    subtype = _text(event.get("subtype"))
    if subtype not in HEARD_SUBTYPES:
        return Ignore(f"message subtype {subtype!r} is not heard")
    channel = _text(event.get("channel"))
    channel_type = _text(event.get("channel_type"))
    # The bot's own direct messages: what a person writes there is said to the bot, as a
    # mention is (Slack sends no app_mention in a DM), and is not heard (indexed, scored).
    if channel_type == "im" and subtype in DIRECT_SUBTYPES:
        return _direct(team, event, bot_users)
    if channel_type == "im" and subtype == "message_changed":
        return Ignore("an edit in the bot's direct messages: nothing of them is kept")
    if subtype == "message_deleted":
        ts = _text(event.get("deleted_ts"))
        if not (channel and ts):
            return Ignore("deletion without channel or ts")
        return Hear(HeardMessage(team=team, channel=channel, ts=ts, channel_type=channel_type,
                                 subtype=subtype))
    # An edit carries the new version of the message inside the event.
    body = event.get("message") if subtype == "message_changed" else event
    if not isinstance(body, dict):
        return Ignore("edit without message")
    if _is_from_a_bot(body, bot_users) or _is_from_a_bot(event, bot_users):
        return Ignore("message from a bot")
    ts = _text(body.get("ts"))
    if not (channel and ts and _text(body.get("user"))):
        return Ignore("message without channel, ts or user")
    return Hear(
        HeardMessage(
            team=team,
            channel=channel,
            ts=ts,
            user=_text(body.get("user")),
            text=_text(body.get("text")),
            channel_type=channel_type,
            thread_ts=_text(body.get("thread_ts")),
            subtype=subtype,
        )
    )
