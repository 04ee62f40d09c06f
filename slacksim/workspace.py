"""The browser simulator's workspace: people, conversations and a timeline built from what the
bot calls (messages, ephemerals, files, modals, Home tabs), with live subscribers.

Everything here is data: the page renders it, nothing is ever turned into HTML on this side.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import mimetypes
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from estafeta.mrkdwn import escape
from slacksim.fake_slack import BOT_USER_ID, Call, FakeSlack

TEAM = "T0DEMO"
BOT_NAME = "estafeta"
HOME_VIEW_ID = "VHOME"  # what the fake answers `views.publish` with
PEOPLE = (("U0ANA", "Ana"), ("U0LUIS", "Luis"), ("U0MARTA", "Marta"))
CHANNELS = (("C0GENERAL", "general", False), ("C0RANDOM", "random", False),
            ("G0LEADS", "leads", True))
MAX_CALLS = 2000  # the calls panel keeps the newest ones
SUBSCRIBER_BACKLOG = 1000  # events a subscriber may fall behind before it is dropped
# Never shown in the calls panel: credentials, whatever their nesting.
SECRET_KEYS = frozenset({"token", "client_secret", "authorization", "refresh_token"})
_MENTION = re.compile(r"(?<![\w.])@estafeta\b", re.IGNORECASE)
_ESCAPED_BOT_MENTION = f"&lt;@{BOT_USER_ID}&gt;"
INLINE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
                "gif": "image/gif"}
ATTACHMENT_TYPES = {"ics": "text/calendar", "csv": "text/csv", "txt": "text/plain",
                    "json": "application/json", "pdf": "application/pdf"}


class BadRequest(ValueError):
    """What the page asked for cannot be done (a 400 with this text)."""


def dm_of(user: str) -> str:
    """The id of `user`'s direct conversation with the bot (as `conversations.open` answers)."""
    return "D" + user[1:]


def slack_escape(text: str) -> str:
    """`text` as Slack delivers what a person typed: `&`, `<`, `>` as entities, and a typed
    `@estafeta` (or a pasted `<@UBOT>`) as the bot's mention `<@UBOT>`."""
    escaped = escape(text)
    escaped = escaped.replace(_ESCAPED_BOT_MENTION, f"<@{BOT_USER_ID}>")
    return _MENTION.sub(f"<@{BOT_USER_ID}>", escaped)


def mentions_bot(slack_text: str) -> bool:
    """Whether Slack-escaped text mentions the bot."""
    return f"<@{BOT_USER_ID}>" in slack_text


def redact(value: Any) -> Any:
    """`value` without credentials (token, client_secret, Authorization) and with bytes as
    their size only: what the calls panel may show."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()
                if not (isinstance(k, str) and k.lower() in SECRET_KEYS)}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value)}
    return value


def file_type(filename: str) -> tuple[str, bool]:
    """(Content-Type, shown inline) of an uploaded file, by its extension; anything else is
    an `application/octet-stream` download (an SVG or HTML file never renders)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension in INLINE_TYPES:
        return INLINE_TYPES[extension], True
    if extension in ATTACHMENT_TYPES:
        return ATTACHMENT_TYPES[extension], False
    guessed = mimetypes.guess_type(filename)[0] or ""
    return ("application/octet-stream" if not guessed or "html" in guessed or "svg" in guessed
            or "javascript" in guessed else guessed), False


@dataclass(frozen=True)
class Conversation:
    """A channel, private channel or direct conversation with the bot."""

    id: str
    name: str
    private: bool = False
    dm: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The page's JSON form."""
        return {"id": self.id, "name": self.name, "private": self.private, "dm": self.dm}


@dataclass
class Message:
    """One message of the timeline (a person's, or the bot's)."""

    id: str
    channel: str
    ts: str
    user: str
    text: str
    thread_ts: str | None = None
    blocks: list[Any] | None = None
    ephemeral: bool = False
    visible_to: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    reply_count: int = 0
    metadata: Any = None  # what the bot attached (sent back in a click's `message`)

    def as_dict(self) -> dict[str, Any]:
        """The page's JSON form."""
        return {"id": self.id, "channel": self.channel, "ts": self.ts,
                "thread_ts": self.thread_ts, "user": self.user, "text": self.text,
                "blocks": self.blocks, "ephemeral": self.ephemeral,
                "visible_to": self.visible_to, "files": list(self.files),
                "reply_count": self.reply_count}

    def as_slack(self) -> dict[str, Any]:
        """The message as Slack puts it in a `block_actions` payload."""
        message: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.user == BOT_USER_ID:
            message.update(user=BOT_USER_ID, bot_id="BBOT")
        else:
            message["user"] = self.user
        if self.blocks is not None:
            message["blocks"] = self.blocks
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.metadata is not None:
            message["metadata"] = self.metadata
        return message


@dataclass(frozen=True)
class Answering:
    """Where the posts to one `response_url` land: for `user` in `channel`, replacing
    `message_id` when they say `replace_original`."""

    user: str
    channel: str
    message_id: str | None = None


@dataclass
class Modal:
    """A modal open for one person."""

    user: str
    view_id: str
    view: dict[str, Any]


class Subscriber:
    """One live client: its own queue; dropped (never waited for) when it falls behind."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(SUBSCRIBER_BACKLOG)
        self.closed = False

    def offer(self, name: str, data: Any) -> bool:
        """Queue one event; False (and closed) when the subscriber is too far behind."""
        if self.closed:
            return False
        try:
            self.queue.put_nowait((name, data))
        except queue.Full:
            self.close()
            return False
        return True

    def close(self) -> None:
        """Stop this subscriber (its reader sees None next)."""
        self.closed = True
        # Wakes a reader waiting on an empty queue; a full one is being dropped anyway.
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)

    def events(self, timeout: float) -> Iterator[tuple[str, Any] | None]:
        """Events as they come; None after `timeout` seconds of quiet (time for a
        keep-alive); ends when closed."""
        while not self.closed:
            try:
                item = self.queue.get(timeout=timeout)
            except queue.Empty:
                yield None
                continue
            if item is None:
                return
            yield item


class Workspace:
    """The simulated workspace, registered with `fake` and fed every call it records."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.people = dict(PEOPLE)
        self.conversations: dict[str, Conversation] = {
            cid: Conversation(cid, name, private) for cid, name, private in CHANNELS}
        for user, _ in PEOPLE:
            self.conversations[dm_of(user)] = Conversation(dm_of(user), BOT_NAME, True, True)
        self.messages: list[Message] = []
        self.calls: list[dict[str, Any]] = []
        self.modals: dict[str, Modal] = {}  # by view id
        self.homes: dict[str, dict[str, Any]] = {}  # by user
        self._answering: dict[str, Answering] = {}  # by response_url path
        self._triggers: dict[str, str] = {}  # trigger id → the person whose action made it
        # Where each Web API call the bot makes lands on the page's timeline.
        self._landings: dict[str, Callable[[dict[str, Any], dict[str, Any], str], None]] = {
            "chat.postMessage": self._posted,
            "chat.postEphemeral": self._posted_ephemeral,
            "chat.update": self._updated,
            "response_url": self._responded,
            "files.completeUploadExternal": self._shared_files,
            "views.open": self._opened,
            "views.update": self._view_updated,
            "views.publish": self._published,
        }
        self._subscribers: list[Subscriber] = []
        self._lock = threading.RLock()
        self._message_ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._last_ts = 0.0
        self._register()

    def _register(self) -> None:
        fake = self.fake
        with fake._lock:
            for user, name in PEOPLE:
                fake.users[user] = {"name": name.lower(), "real_name": name,
                                    "profile": {"real_name": name, "display_name": name}}
            for cid, name, private in CHANNELS:
                fake.channel_names[cid] = name
                if private:
                    fake.private_channels.add(cid)
                fake.creators[cid] = PEOPLE[0][0]
            for cid in self.conversations:
                fake.bot_channels.add(cid)
                fake.history.setdefault(cid, [])

    # -- subscribers -------------------------------------------------------------------------

    def subscribe(self) -> Subscriber:
        """A new live client."""
        subscriber = Subscriber()
        with self._lock:
            self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a client (gone, or stopped)."""
        subscriber.close()
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def close_all(self) -> None:
        """End every live client (the simulator stops)."""
        with self._lock:
            subscribers, self._subscribers = self._subscribers, []
        for subscriber in subscribers:
            subscriber.close()

    def publish(self, name: str, data: Any) -> None:
        """Send one event to every client; one that fell behind is dropped."""
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s.offer(name, data)]

    def notice(self, text: str, level: str = "error") -> None:
        """Tell the page something went wrong (or right) outside the timeline."""
        self.publish("notice", {"text": text, "level": level})

    # -- state -------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the page shows, for a (re)load."""
        with self._lock:
            return {
                "team": TEAM,
                "bot": {"id": BOT_USER_ID, "name": BOT_NAME},
                "people": [{"id": u, "name": n} for u, n in self.people.items()],
                "channels": [c.as_dict() for c in self.conversations.values()],
                "messages": [m.as_dict() for m in self.messages],
                "calls": list(self.calls),
                "modals": {m.user: {"view_id": m.view_id, "view": m.view}
                           for m in self.modals.values()},
                "homes": dict(self.homes),
            }

    def check_speaker(self, user: Any, channel: Any) -> Conversation:
        """The conversation `user` may write in, or `BadRequest`."""
        if not isinstance(user, str) or user not in self.people:
            raise BadRequest("`user` must be one of the workspace's people.")
        if not isinstance(channel, str) or channel not in self.conversations:
            raise BadRequest("`channel` must be one of the workspace's conversations.")
        conversation = self.conversations[channel]
        if conversation.dm and channel != dm_of(user):
            raise BadRequest("That is another person's conversation with the bot.")
        return conversation

    def name_of(self, user: str) -> str:
        """A person's name."""
        return self.people.get(user, user)

    def new_ts(self) -> str:
        """A fresh message timestamp, later than every one given before."""
        with self._lock:
            now = max(time.time(), self._last_ts + 0.000001)
            self._last_ts = now
            return f"{now:.6f}"

    def message(self, message_id: Any) -> Message | None:
        """The message with this id."""
        with self._lock:
            return next((m for m in self.messages if m.id == message_id), None)

    def top_level(self, channel: str, ts: Any) -> Message | None:
        """The top-level (non-ephemeral) message `ts` of `channel`."""
        with self._lock:
            return next((m for m in self.messages if m.channel == channel and m.ts == ts
                         and not m.thread_ts and not m.ephemeral), None)

    def add(self, message: Message) -> Message:
        """Add a message to the timeline (event `message`)."""
        with self._lock:
            message.id = f"m{next(self._message_ids)}"
            if message.thread_ts and not message.ephemeral:
                parent = self.top_level(message.channel, message.thread_ts)
                if parent is not None:
                    parent.reply_count += 1
            self.messages.append(message)
            self.publish("message", message.as_dict())
        return message

    def said(self, user: str, channel: str, text: str, thread_ts: str | None) -> Message:
        """A person's message, as Slack stores it; also in the channel's history."""
        message = self.add(Message("", channel, self.new_ts(), user, slack_escape(text),
                                   thread_ts=thread_ts))
        entry = {"type": "message", "user": user, "text": message.text, "ts": message.ts}
        if thread_ts:
            entry["thread_ts"] = thread_ts
        with self.fake._lock:
            self.fake.history.setdefault(channel, []).insert(0, entry)
        return message

    def ephemeral(self, channel: str, user: str, text: str, blocks: Any = None,
                  ts: str | None = None) -> Message:
        """A bot message only `user` sees."""
        return self.add(Message("", channel, ts or self.new_ts(), BOT_USER_ID, str(text or ""),
                                blocks=_blocks(blocks), ephemeral=True, visible_to=user))

    def answering(self, url: str, target: Answering) -> None:
        """Remember where the posts to the `response_url` `url` land."""
        with self._lock:
            self._answering[urlsplit(url).path] = target

    def trigger(self, trigger_id: str, user: str) -> None:
        """Remember whose action made `trigger_id` (a modal it opens is theirs)."""
        with self._lock:
            self._triggers[trigger_id] = user

    def modal_of(self, user: str, view_id: Any) -> Modal | None:
        """`user`'s open modal `view_id`."""
        with self._lock:
            modal = self.modals.get(view_id) if isinstance(view_id, str) else None
            return modal if modal is not None and modal.user == user else None

    def close_modal(self, modal: Modal) -> None:
        """The modal is gone (event `modal_close`)."""
        with self._lock:
            if self.modals.pop(modal.view_id, None) is not None:
                self.publish("modal_close", {"user": modal.user, "view_id": modal.view_id})

    def update_modal(self, modal: Modal, view: dict[str, Any]) -> None:
        """The modal shows `view` now (event `modal_update`)."""
        with self._lock:
            modal.view = {**view, "id": modal.view_id}
            self.publish("modal_update", {"user": modal.user, "view_id": modal.view_id,
                                          "view": modal.view})

    # -- what the bot calls ------------------------------------------------------------------

    def observe(self, call: Call) -> None:
        """Take in one call the fake recorded: the calls panel, then where it lands."""
        answer = call.answer if call.answer is not None else {"ok": True}
        ok = "!" not in call.method and bool(answer.get("ok"))
        record = {"id": f"c{next(self._call_ids)}", "method": call.method, "team": call.team,
                  "params": redact(call.params), "at": call.at, "ok": ok}
        with self._lock:
            self.calls.append(record)
            del self.calls[:-MAX_CALLS]
            self.publish("call", record)
            if not ok:
                return
            landing = self._landings.get(call.method)
            if landing is not None:
                landing(call.params, answer, call.path)

    def _posted(self, params: dict[str, Any], _answer: dict[str, Any], _path: str) -> None:
        self.add(Message("", _conversation(params.get("channel")), str(params.get("ts") or
                         self.new_ts()), BOT_USER_ID, str(params.get("text") or ""),
                         thread_ts=_text_or_none(params.get("thread_ts")),
                         blocks=_blocks(params.get("blocks")), metadata=params.get("metadata")))

    def _posted_ephemeral(self, params: dict[str, Any], answer: dict[str, Any],
                          _path: str) -> None:
        self.ephemeral(_conversation(params.get("channel")), str(params.get("user")),
                       str(params.get("text") or ""), params.get("blocks"),
                       ts=_text_or_none(answer.get("message_ts")))

    def _updated(self, params: dict[str, Any], _answer: dict[str, Any], _path: str) -> None:
        channel, ts = _conversation(params.get("channel")), params.get("ts")
        target = next((m for m in self.messages if m.channel == channel and m.ts == ts), None)
        if target is not None:
            self._replace(target, params)

    def _replace(self, target: Message, body: dict[str, Any]) -> None:
        target.text = str(body.get("text") or "")
        target.blocks = _blocks(body.get("blocks"))
        self.publish("message_changed", target.as_dict())

    def _responded(self, body: dict[str, Any], _answer: dict[str, Any], path: str) -> None:
        target = self._answering.get(path)
        if target is None:
            self.notice("A response_url nobody was given was posted to.", "warning")
            return
        original = self.message(target.message_id) if target.message_id else None
        if original is not None and _flag(body.get("delete_original")):
            self.messages.remove(original)
            self.publish("message_deleted", {"id": original.id, "channel": original.channel})
            return
        if original is not None and _flag(body.get("replace_original")):
            self._replace(original, body)
            return
        if body.get("response_type") == "in_channel":
            self.add(Message("", target.channel, self.new_ts(), BOT_USER_ID,
                             str(body.get("text") or ""), blocks=_blocks(body.get("blocks"))))
            return
        self.ephemeral(target.channel, target.user, str(body.get("text") or ""),
                       body.get("blocks"))

    def _shared_files(self, params: dict[str, Any], _answer: dict[str, Any],
                      _path: str) -> None:
        channel = params.get("channel_id")
        if not channel:
            return  # uploaded, shared nowhere
        files = []
        for item in params.get("files") or []:
            entry = self.fake.files.get(str(item.get("id")))
            if entry is None:
                continue
            mimetype, inline = file_type(str(entry["filename"]))
            files.append({"id": entry["id"], "name": entry["filename"],
                          "title": item.get("title") or entry["filename"],
                          "url": f"/sim/files/{entry['id']}", "mimetype": mimetype,
                          "image": inline})
        self.add(Message("", _conversation(channel), self.new_ts(), BOT_USER_ID,
                         str(params.get("initial_comment") or ""),
                         thread_ts=_text_or_none(params.get("thread_ts")), files=files))

    def _opened(self, params: dict[str, Any], answer: dict[str, Any], _path: str) -> None:
        view_id = str((answer.get("view") or {}).get("id") or "")
        user = self._triggers.get(str(params.get("trigger_id") or ""))
        if user is None or not view_id:
            self.notice("The bot opened a modal with a trigger_id nobody was given.", "warning")
            return
        # One modal at a time per person, as Slack shows it (views.push is not simulated).
        for modal in [m for m in self.modals.values() if m.user == user]:
            self.close_modal(modal)
        view = {**_view(params.get("view")), "id": view_id}
        self.modals[view_id] = Modal(user, view_id, view)
        self.publish("modal_open", {"user": user, "view_id": view_id, "view": view})

    def _view_updated(self, params: dict[str, Any], _answer: dict[str, Any],
                      _path: str) -> None:
        modal = self.modals.get(str(params.get("view_id") or ""))
        if modal is not None:
            self.update_modal(modal, _view(params.get("view")))

    def _published(self, params: dict[str, Any], _answer: dict[str, Any], _path: str) -> None:
        user = str(params.get("user_id"))
        view = {**_view(params.get("view")), "id": HOME_VIEW_ID}
        self.homes[user] = view
        self.publish("home", {"user": user, "view": view})


def _conversation(channel: Any) -> str:
    # Posting to a person's id lands in their direct conversation with the bot.
    channel = str(channel or "")
    return dm_of(channel) if channel.startswith(("U", "W")) else channel


def _text_or_none(value: Any) -> str | None:
    return str(value) if value else None


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _blocks(value: Any) -> list[Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, list) else None


def _view(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, dict) else {}
