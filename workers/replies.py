"""Answers to Slack through `slack_sdk`, posted once even when a task runs twice."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from estafeta import metrics, tracing
from estafeta.payloads import ReplyTarget
from estafeta.slack_api import NETWORK_ERRORS as _NETWORK_ERRORS
from estafeta.slack_api import REFUSED_TOKEN_ERRORS, api_base
from estafeta.urls import redacted_url, response_url_allowed

log = logging.getLogger(__name__)

REPLY_EVENT_TYPE = "estafeta_reply"
# A claim older than this belongs to an attempt that died (a task's hard time limit is 90 s).
CLAIM_STALE_AFTER = 120.0
SLACK_TIMEOUT = 10  # seconds; well inside the task's soft time limit
# How far back a redelivered top-level post looks for itself: longer than any claim lives.
POSTED_LOOKBACK = 3600.0
# (retry number, redelivered) of the task running now, set by workers/service.py: a reply a
# handler posts itself (an alert, a DM) claims its key with it, so the task's retry may post
# what an earlier attempt could not.
CURRENT_ATTEMPT: ContextVar[tuple[int, bool]] = ContextVar("current_attempt",
                                                           default=(0, False))
# The team the running task works for, set by workers/service.py from the task's own context:
# every Web API call uses that team's token, and no other.
CURRENT_TEAM: ContextVar[str] = ContextVar("current_team", default="")
# Where the running task's request came from (a Context's `source`: slash, mention, api, ...,
# `schedule` for work nobody asked for), set by workers/task_signals.py: a label of the
# event-to-reply time.
CURRENT_SOURCE: ContextVar[str] = ContextVar("current_source", default="schedule")
# Slack's error words are short snake_case; `http_429` when only the status says.
_ERROR_WORD = re.compile(r"[a-z0-9_]{1,40}")
# What Slack answers to an ephemeral message where the bot cannot post one.
EPHEMERAL_REFUSALS = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel",
                                "is_archived"})


@dataclass(frozen=True)
class Upload:
    """A file that goes with a reply (a chart, an .ics export), shared in `channel`."""

    channel: str
    filename: str
    content: bytes
    title: str
    comment: str = ""
    thread_ts: str = ""


@dataclass
class Reply:
    """What a handler answers: text for people, data for HTTP clients, maybe a file.

    `blocks` (Block Kit, as dicts) is what Slack shows; `text` stays the fallback that
    notifications, screen readers and HTTP clients get.
    """

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    in_channel: bool = False  # slash commands: visible to the whole channel, not only the caller
    upload: Upload | None = None
    blocks: list[dict[str, Any]] | None = None
    # A response_url answer that takes the place of the message whose button was clicked.
    replace_original: bool = False


class NotInstalled(Exception):
    """No token for the team the work belongs to: nothing is sent (never with another's)."""

    def __init__(self, team: str) -> None:
        super().__init__(f"team {team or '(none)'} has no installation of the app")
        self.team = team


class TokenSource(Protocol):
    """Where a team's bot token comes from: one token, or the installations of many teams."""

    def token_for(self, team: str) -> str | None:
        """The bot token of `team` (None: the app is not installed there)."""

    def refused(self, team: str, token: str) -> None:
        """Slack refused `token` (revoked, expired): forget it."""


@dataclass(frozen=True)
class StaticToken:
    """Single-workspace mode: `SLACK_BOT_TOKEN` answers for the one workspace it belongs to."""

    token: str

    def token_for(self, team: str) -> str | None:
        """The one token, whatever the team (empty: none)."""
        return self.token or None

    def refused(self, team: str, token: str) -> None:
        """Nothing to forget: the operator sets a new token and restarts."""


@contextmanager
def acting_for(team: str) -> Iterator[None]:
    """Make every Web API call inside the block use `team`'s token."""
    reset = CURRENT_TEAM.set(team)
    try:
        yield
    finally:
        CURRENT_TEAM.reset(reset)


class TransientError(Exception):
    """Slack could not take the reply now; retry later (after `retry_after` seconds if given)."""

    def __init__(self, message: str, retry_after: float | None = None,
                 rate_limited: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited  # Slack answered 429 (`retry_after` is its own)


class RefusedResponseUrl(Exception):
    """A `response_url` that is not Slack's: never posted to; the message dead-letters."""


class ReplyLedger(Protocol):
    """What a service remembers of its replies (posted once) and of redelivered tasks."""

    def state(self, key: str) -> str | None:
        """`posting`, `posted` or None for a reply key."""

    def claim(self, key: str, attempt: int = 0, stale_after: float = CLAIM_STALE_AFTER) -> bool:
        """Take the right to post `key`: True for the first taker, for a later retry of the
        same task (the earlier attempt is over), or over a stale claim (its worker died);
        False while a concurrent copy of the task holds a fresh claim."""

    def release(self, key: str) -> None:
        """Forget a claim whose post certainly did not happen."""

    def mark_posted(self, key: str) -> None:
        """Record that the reply is in Slack."""

    def count_redelivery(self, task_id: str) -> int:
        """Count one more redelivery of `task_id` and return how many there have been."""

    def prune(self, older_than: float) -> int:
        """Delete records older than `older_than` seconds; return how many went."""


@dataclass(frozen=True, kw_only=True)
class ServiceStores:
    """The stores every worker service has; a service's own stores extend these."""

    ledger: ReplyLedger


def _slack_api_error(exc: SlackApiError) -> Exception:
    """A transient error for 429 and 5xx; the original error otherwise (it will dead-letter)."""
    status = exc.response.status_code
    if status == 429:
        retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
        return TransientError("Slack rate limit", retry_after=retry_after, rate_limited=True)
    if status >= 500:
        return TransientError(f"Slack answered {status}")
    return exc


class SlackReplier:
    """Posts replies through the Slack Web API and `response_url`s, once per reply key."""

    def __init__(self, api_url: str, bot_token: str, ledger: ReplyLedger,
                 tokens: TokenSource | None = None, service: str = "") -> None:
        self.service = service  # the `service` label of its metrics
        self.api_url = api_url
        self.base_url = api_base(api_url)
        self.tokens: TokenSource = tokens or StaticToken(bot_token)
        self.ledger = ledger
        self._clients: dict[str, WebClient] = {}  # by token
        self._token_teams: dict[str, str] = {}  # token → its workspace, from `auth.test`

    @property
    def client(self) -> WebClient:
        """The Web API client of the team the running task works for (`CURRENT_TEAM`)."""
        team = CURRENT_TEAM.get()
        token = self.tokens.token_for(team)
        if not token:
            raise NotInstalled(team)
        client = self._clients.get(token)
        if client is None:
            if len(self._clients) > 1000:  # tokens rotate: old clients are not kept forever
                self._clients.clear()
            client = self._clients[token] = WebClient(
                token=token,
                base_url=self.base_url,
                timeout=SLACK_TIMEOUT,
                retry_handlers=[],  # retries are Celery's job: a worker never sleeps on Slack
            )
        return client

    def deliver(self, target: ReplyTarget, key: str, reply: Reply, attempt: int | None = None,
                takeover: bool | None = None) -> bool:
        """Post `reply` to `target` unless already posted under `key`; True if posted now.

        `attempt`: the task's retry number. `takeover`: this is a redelivery, so any earlier
        attempt is dead and its claim void. Both default to those of the running task.
        """
        current_attempt, current_takeover = CURRENT_ATTEMPT.get()
        attempt = current_attempt if attempt is None else attempt
        takeover = current_takeover if takeover is None else takeover
        if target.kind == "none":
            return False
        self.check_target(target)
        posted = self._deliver_text(target, key, reply, attempt, takeover)
        upload = reply.upload
        if upload is not None:
            if target.kind == "thread" and upload.channel == target.channel:
                upload = replace(upload, thread_ts=upload.thread_ts or target.thread_ts)
            self._upload_once(f"{key}:file", upload, attempt, takeover)
        return posted

    def _deliver_text(self, target: ReplyTarget, key: str, reply: Reply, attempt: int,
                      takeover: bool) -> bool:
        posted = self._post_text(target, key, reply, attempt, takeover)
        metrics.REPLIES.labels(self.service, "posted" if posted else "deduplicated").inc()
        trace = tracing.current()
        if posted and trace is not None and trace.received_at > 0:
            metrics.EVENT_TO_REPLY.labels(self.service, CURRENT_SOURCE.get()).observe(
                max(0.0, time.time() - trace.received_at))
        return posted

    def _post_text(self, target: ReplyTarget, key: str, reply: Reply, attempt: int,
                   takeover: bool) -> bool:
        """Post the text unless it is already posted; False: it was (deduplicated)."""
        state = self.ledger.state(key)
        if state == "posted":
            log.info("reply %s already posted; not posting again", key)
            return False
        if state == "posting" and target.kind in {"thread", "channel"} and self._already_posted(
                target, key):
            # An earlier attempt died between Slack's answer and our record of it.
            self.ledger.mark_posted(key)
            return False
        if target.kind == "response_url":
            return self._once(key, attempt, takeover,
                              lambda: self._post_to_response_url(target, reply))
        if target.kind == "ephemeral":  # leaves no trace to look for: the claim decides
            return self._once(key, attempt, takeover,
                              lambda: self._post_ephemeral(target, reply))
        return self._once(key, attempt, takeover,
                          lambda: self._post_with_key(target, key, reply))

    def _once(self, key: str, attempt: int, takeover: bool, send: Callable[[], None]) -> bool:
        """Claim `key`, `send`, record it posted; False if a concurrent copy already did."""
        if not self.ledger.claim(key, attempt, stale_after=0 if takeover else CLAIM_STALE_AFTER):
            if self.ledger.state(key) == "posted":
                return False
            # Another copy of this task is posting right now: look again later.
            raise TransientError("another attempt is posting this reply", retry_after=5)
        try:
            send()
        except TransientError as exc:
            if exc.retry_after is not None:  # a 429 means Slack did not take it
                self.ledger.release(key)
            raise
        self.ledger.mark_posted(key)
        return True

    def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        """Call a Web API method (`conversations_history`, ...) with the current team's token;
        transient failures (429, 5xx, network) become `TransientError`, others stay
        `SlackApiError`; a team without a token raises `NotInstalled`."""
        client = self.client
        try:
            response = getattr(client, method)(**arguments)
        except SlackApiError as exc:
            error = exc.response.get("error")
            self._count_error(method, exc.response.status_code, error)
            # `account_inactive` also answers a post to a deactivated person: only from
            # `auth.test` does it say that the bot's own token is dead.
            if client.token and (error in REFUSED_TOKEN_ERRORS - {"account_inactive"}
                                 or (error == "account_inactive" and method == "auth_test")):
                self.tokens.refused(CURRENT_TEAM.get(), client.token)
            raise _slack_api_error(exc) from exc
        except _NETWORK_ERRORS as exc:
            self._count_error(method, 0, "network")
            raise TransientError(f"Slack unreachable: {exc}") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _count_error(self, method: str, status: int, error: Any) -> None:
        """Count one error answer of Slack (`error`: Slack's own word, else the status)."""
        name = method.replace("_", ".")  # chat_postMessage → Slack's chat.postMessage
        word = error if isinstance(error, str) and error else f"http_{status}"
        if not _ERROR_WORD.fullmatch(word):  # whatever answers at SLACK_API_URL mints no series
            word = "other"
        if method == "chat_postEphemeral" and word in EPHEMERAL_REFUSALS:
            return  # expected where the bot is not in the channel: the answer goes to a DM
        metrics.SLACK_API_ERRORS.labels(self.service, name, word).inc()
        if status == 429:
            metrics.SLACK_RATE_LIMITED.labels(self.service, name).inc()

    def post_message(self, channel: str, text: str, **extra: Any) -> dict[str, Any]:
        """`chat.postMessage`, with errors as in `call`."""
        return self.call("chat_postMessage", channel=channel, text=text, **extra)

    def _upload_once(self, key: str, upload: Upload, attempt: int, takeover: bool) -> None:
        # A file has no metadata to look for after a crash: in the rare case of a worker
        # killed between Slack's answer and the record of it, the file is shared twice.
        if self.ledger.state(key) == "posted":
            return
        self._once(key, attempt, takeover, lambda: self._upload(upload))

    def _upload(self, upload: Upload) -> None:
        self.call("files_upload_v2", channel=upload.channel, filename=upload.filename,
                  content=upload.content, title=upload.title,
                  initial_comment=upload.comment or None, thread_ts=upload.thread_ts or None)

    def bot_team(self) -> str:
        """The team the current token belongs to (`auth.test`), asked once per token: a
        token's workspace never changes."""
        token = self.client.token or ""
        if token not in self._token_teams:
            self._token_teams[token] = str(self.call("auth_test").get("team_id") or "")
        return self._token_teams[token]

    def open_direct(self, user: str) -> str:
        """The id of the bot's direct conversation with `user` (`conversations.open`)."""
        channel = self.call("conversations_open", users=user).get("channel") or {}
        return str(channel.get("id") or user)

    def _post_with_key(self, target: ReplyTarget, key: str, reply: Reply) -> None:
        self.post_message(
            target.channel,
            reply.text,
            thread_ts=target.thread_ts or None,
            metadata={"event_type": REPLY_EVENT_TYPE, "event_payload": {"reply_key": key}},
            **({"blocks": reply.blocks} if reply.blocks else {}),
        )

    def _post_ephemeral(self, target: ReplyTarget, reply: Reply) -> None:
        blocks = {"blocks": reply.blocks} if reply.blocks else {}
        try:
            self.call("chat_postEphemeral", channel=target.channel, user=target.user,
                      text=reply.text, **blocks)
        except SlackApiError as exc:
            # A modal opened from a conversation the bot is not in: Slack refuses an ephemeral
            # there, so the answer goes to the person's direct messages instead.
            if exc.response.get("error") not in EPHEMERAL_REFUSALS:
                raise
            self.post_message(self.open_direct(target.user), reply.text, **blocks)

    def _already_posted(self, target: ReplyTarget, key: str) -> bool:
        if target.kind == "thread":
            response = self.call("conversations_replies", channel=target.channel,
                                 ts=target.thread_ts, include_all_metadata=True, limit=200)
        else:  # a top-level post: it can only be among the channel's most recent messages
            response = self.call("conversations_history", channel=target.channel,
                                 oldest=f"{time.time() - POSTED_LOOKBACK:.6f}",
                                 include_all_metadata=True, limit=200)
        for message in response.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("reply_key") == key:
                return True
        return False

    def check_target(self, target: ReplyTarget) -> None:
        """Raise `RefusedResponseUrl` unless a `response_url` target is Slack's."""
        # Checked again here, not only at the gateway: a message may come from anywhere that
        # can publish to the broker (a replayed dead letter, another client).
        if target.kind != "response_url":
            return
        url = target.url
        if not response_url_allowed(url, self.api_url):
            log.error("refusing to post to a response_url that is not Slack's: %s",
                      redacted_url(url))
            raise RefusedResponseUrl(f"response_url is not Slack's: {redacted_url(url)}")

    def _post_to_response_url(self, target: ReplyTarget, reply: Reply) -> None:
        webhook = WebhookClient(target.url, timeout=SLACK_TIMEOUT, retry_handlers=[])
        try:
            response = webhook.send(
                text=reply.text,
                blocks=reply.blocks or None,
                replace_original=reply.replace_original or None,
                response_type="in_channel" if reply.in_channel else "ephemeral",
            )
        except _NETWORK_ERRORS as exc:
            self._count_error("response_url", 0, "network")
            raise TransientError(f"response_url unreachable: {exc}") from exc
        if response.status_code >= 400:
            self._count_error("response_url", response.status_code, None)
        if response.status_code == 429:
            retry_after = float(response.headers.get("Retry-After", "1") or 1)
            raise TransientError("Slack rate limit", retry_after=retry_after, rate_limited=True)
        if response.status_code >= 500:
            raise TransientError(f"response_url answered {response.status_code}")
        if response.status_code >= 400:
            raise RuntimeError(f"response_url refused the reply: {response.status_code}")


def conversation_kind(info: dict[str, Any]) -> str:
    """channel, group, im or mpim, from a `conversations.info` answer."""
    channel = info.get("channel") or {}
    if not isinstance(channel, dict):
        channel = {}
    if channel.get("is_im"):
        return "im"
    if channel.get("is_mpim"):
        return "mpim"
    return "group" if channel.get("is_private") else "channel"
