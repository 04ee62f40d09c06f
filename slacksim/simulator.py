"""The browser Slack simulator: a workspace people use from a page, talking to a running
gateway exactly as Slack would (signed events, slash commands and interactions), and the fake
Slack Web API the bot answers through — one server, `estafeta simulator`.
"""

from __future__ import annotations

import errno
import json
import signal
import sys
import threading
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from estafeta import grammar
from estafeta.mrkdwn import escape
from estafeta.settings import Settings, is_loopback_url
from slacksim import signing
from slacksim.fake_slack import DEFAULT_TOKEN, FakeSlack
from slacksim.signing import SlackSigner
from slacksim.web import Site
from slacksim.workspace import (
    HOME_VIEW_ID,
    TEAM,
    Answering,
    BadRequest,
    Modal,
    Workspace,
    mentions_bot,
)

GATEWAY_TIMEOUT = 10.0  # seconds; Slack itself gives up after 3, but a laptop may be slow
MAX_TEXT = 40_000  # Slack's limit on a message's text
# Requests to the gateway never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _ack(status: int, body: Any, error: str | None = None) -> dict[str, Any]:
    ack: dict[str, Any] = {"status": status, "body": body}
    if error:
        ack["error"] = error
    return ack


def _elements(blocks: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every interactive element of Block Kit `blocks`."""
    found = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        found += [(block, e) for e in candidates if isinstance(e, dict) and e.get("action_id")]
    return found


class Simulator:
    """A simulated workspace on a `FakeSlack` at `host:port`, talking to `gateway_url`."""

    def __init__(self, settings: Settings, gateway_url: str | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.settings = settings
        self.gateway_url = (gateway_url or f"http://127.0.0.1:{settings.port}").rstrip("/")
        self.fake = FakeSlack(host, port, token=settings.slack_bot_token or DEFAULT_TOKEN,
                              team=TEAM)
        # View ids unique across runs: the gateway runs a view's submission once.
        self.fake.view_prefix = f"V{uuid.uuid4().hex[:10].upper()}"
        self.workspace = Workspace(self.fake)
        self.signer = SlackSigner(settings.slack_signing_secret)
        self.stopping = threading.Event()
        self.fake.listeners.append(self.workspace.observe)
        self.fake.site = Site(self)

    @property
    def url(self) -> str:
        """The page's address."""
        return self.fake.base_url + "/"

    def start(self) -> Simulator:
        """Serve in a background thread."""
        self.fake.start()
        return self

    def stop(self) -> None:
        """End every live page and stop serving."""
        self.stopping.set()
        self.workspace.close_all()
        self.fake.stop()

    def reset(self) -> None:
        """Forget every message, call, modal and Home tab (live pages are disconnected)."""
        self.workspace.close_all()
        self.fake.listeners.remove(self.workspace.observe)
        self.fake.reset()
        self.workspace = Workspace(self.fake)
        self.fake.listeners.append(self.workspace.observe)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- to the gateway ----------------------------------------------------------------------

    def _post(self, path: str, body: bytes, headers: dict[str, str], what: str
              ) -> dict[str, Any]:
        """POST to the gateway: the ack as `{"status", "body"}`; refusals and a gateway that
        is down become a notice (and a 4xx/5xx status), never an exception."""
        request = urllib.request.Request(self.gateway_url + path, data=body, headers=headers,
                                         method="POST")
        try:
            with _OPENER.open(request, timeout=GATEWAY_TIMEOUT) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError as error:
            reason = getattr(error, "reason", error)
            self.workspace.notice(f"No gateway at {self.gateway_url} ({reason}): is "
                                  "`make run` running?")
            return _ack(503, None, "gateway_unreachable")
        try:
            answer: Any = json.loads(raw) if raw.strip() else None
        except ValueError:
            answer = raw.decode(errors="replace")[:2000]
        if status >= 400:
            code = answer.get("error") if isinstance(answer, dict) else None
            detail = answer.get("message") if isinstance(answer, dict) else None
            self.workspace.notice(f"The gateway answered {status} to {what}"
                                  + (f": {code}" if code else "")
                                  + (f" ({detail})" if detail else ""))
        return _ack(status, answer)

    def _event(self, event: dict[str, Any], what: str) -> dict[str, Any]:
        body, headers, _ = self.signer.event(event, team=TEAM)
        return self._post("/slack/events", body, headers, what)

    def _interaction(self, payload: dict[str, Any], what: str) -> dict[str, Any]:
        body, headers = self.signer.interaction(payload)
        return self._post("/slack/interactions", body, headers, what)

    # -- what people do ----------------------------------------------------------------------

    def say(self, user: Any, channel: Any, text: Any, thread_ts: Any = None) -> dict[str, Any]:
        """A person types `text` in `channel` (a slash command, or a message)."""
        conversation = self.workspace.check_speaker(user, channel)
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("`text` must be a non-empty string.")
        if len(text) > MAX_TEXT:
            raise BadRequest(f"`text` is longer than {MAX_TEXT} characters.")
        if thread_ts is not None and (not isinstance(thread_ts, str) or self.workspace.top_level(
                conversation.id, thread_ts) is None):
            raise BadRequest("`thread_ts` must be the ts of a message of this conversation.")
        if text.lstrip().startswith("/"):
            return self._slash(user, conversation.id, text.strip())
        message = self.workspace.said(user, conversation.id, text, thread_ts)
        kind = "im" if conversation.dm else "group" if conversation.private else "channel"
        event: dict[str, Any] = {"type": "message", "channel": conversation.id, "user": user,
                                 "text": message.text, "ts": message.ts, "team": TEAM,
                                 "event_ts": message.ts, "channel_type": kind}
        if thread_ts:
            event["thread_ts"] = thread_ts
        ack = self._event(event, "a message event")
        if not conversation.dm and mentions_bot(message.text) and ack["status"] < 400:
            mention = {k: v for k, v in event.items() if k != "channel_type"}
            ack = self._event({**mention, "type": "app_mention"}, "an app_mention event")
        return {"ok": ack["status"] < 400, "message": message.as_dict(), "ack": ack}

    def _slash(self, user: str, channel: str, text: str) -> dict[str, Any]:
        command, _, rest = text.partition(" ")
        if command not in grammar.slash_commands():
            raise BadRequest(f"{command[:40]} is not a command of this app.")
        url = self.fake.response_url()
        self.workspace.answering(url, Answering(user, channel))
        trigger_id = signing.new_trigger_id()
        self.workspace.trigger(trigger_id, user)
        conversation = self.workspace.conversations[channel]
        channel_name = ("directmessage" if conversation.dm else
                        "privategroup" if conversation.private else conversation.name)
        body, headers = self.signer.slash_command(
            command, escape(rest.strip()), response_url=url, team=TEAM, channel=channel,
            user=user, channel_name=channel_name, trigger_id=trigger_id)
        ack = self._post("/slack/commands", body, headers, command)
        answer = ack["body"]
        if ack["status"] < 400 and isinstance(answer, dict) and (answer.get("text")
                                                                 or answer.get("blocks")):
            self.workspace.ephemeral(channel, user, str(answer.get("text") or ""),
                                     answer.get("blocks"))
        return {"ok": ack["status"] < 400, "message": None, "ack": ack}

    def action(self, user: Any, action_id: Any, block_id: Any = None, value: Any = None,
               message_id: Any = None, view_id: Any = None) -> dict[str, Any]:
        """A person uses a Block Kit element (a button, a menu) of a message or a view."""
        if not isinstance(user, str) or user not in self.workspace.people:
            raise BadRequest("`user` must be one of the workspace's people.")
        if not isinstance(action_id, str) or not action_id:
            raise BadRequest("`action_id` must be a string.")
        if value is not None and not isinstance(value, str):
            raise BadRequest("`value` must be a string.")
        trigger_id = signing.new_trigger_id()
        common: dict[str, Any] = {"team": TEAM, "user": user, "trigger_id": trigger_id,
                                  "user_name": self.workspace.name_of(user)}
        if message_id is not None:
            message = self.workspace.message(message_id)
            if message is None or (message.ephemeral and message.visible_to != user):
                raise BadRequest("`message_id` is not a message this person sees.")
            element = self._element(message.blocks, action_id, block_id, value)
            url = self.fake.response_url()
            self.workspace.answering(url, Answering(user, message.channel, message.id))
            conversation = self.workspace.conversations.get(message.channel)
            container = {"type": "message", "message_ts": message.ts,
                         "channel_id": message.channel, "is_ephemeral": message.ephemeral}
            payload = signing.block_actions(
                element, container=container, response_url=url,
                channel={"id": message.channel,
                         "name": conversation.name if conversation else message.channel},
                message=None if message.ephemeral else message.as_slack(), **common)
        elif view_id is not None:
            view = self._view_of(user, view_id)
            element = self._element(view.get("blocks"), action_id, block_id, value)
            payload = signing.block_actions(
                element, container={"type": "view", "view_id": view["id"]},
                view={**view, "state": {"values": {}}}, **common)
        else:
            raise BadRequest("Give `message_id` or `view_id`.")
        self.workspace.trigger(trigger_id, user)
        ack = self._interaction(payload, f"a click on {action_id[:60]}")
        return {"ok": ack["status"] < 400, "ack": ack}

    def _view_of(self, user: str, view_id: Any) -> dict[str, Any]:
        if view_id == HOME_VIEW_ID and user in self.workspace.homes:
            return self.workspace.homes[user]
        modal = self.workspace.modal_of(user, view_id)
        if modal is None:
            raise BadRequest("`view_id` is not a view open for this person.")
        return modal.view

    @staticmethod
    def _element(blocks: Any, action_id: str, block_id: Any, value: Any) -> dict[str, Any]:
        """The action Slack reports for the element `action_id`: a button with its own
        value, a menu with the option chosen."""
        for block, element in _elements(blocks):
            if element.get("action_id") != action_id:
                continue
            if block_id and block.get("block_id") and block.get("block_id") != block_id:
                continue
            action: dict[str, Any] = {"action_id": action_id, "type": element.get("type"),
                                      "block_id": block.get("block_id") or "sim.block"}
            if element.get("type") == "button":
                action["text"] = element.get("text")
                if element.get("value") is not None:
                    action["value"] = element["value"]
            elif element.get("type") == "datepicker":
                action["selected_date"] = value
            elif element.get("type") == "timepicker":
                action["selected_time"] = value
            elif "select" in str(element.get("type")):
                action["selected_option"] = next(
                    (o for o in element.get("options") or [] if o.get("value") == value),
                    {"value": value})
            else:
                action["value"] = value
            return action
        raise BadRequest("No element with that `action_id` there.")

    def submit(self, user: Any, view_id: Any, values: Any) -> dict[str, Any]:
        """A person presses a modal's submit button with `values` filled in."""
        modal = self._modal(user, view_id)
        if not isinstance(values, dict) or not all(
                isinstance(block, dict) and all(isinstance(v, dict) for v in block.values())
                for block in values.values()):
            raise BadRequest("`values` must map block_id → action_id → element state.")
        view = {k: v for k, v in modal.view.items() if k != "state"}
        view.setdefault("hash", f"{modal.view_id}.hash")
        payload = signing.view_submission(view, values, team=TEAM, user=modal.user,
                                          user_name=self.workspace.name_of(modal.user),
                                          trigger_id=signing.new_trigger_id())
        ack = self._interaction(payload, "a modal submission")
        answer = ack["body"]
        if ack["status"] >= 400:
            return {"ok": False, "ack": ack}
        if isinstance(answer, dict) and answer.get("response_action") == "errors":
            return {"ok": False, "errors": answer.get("errors") or {}, "ack": ack}
        if isinstance(answer, dict) and answer.get("response_action") == "update":
            self.workspace.update_modal(modal, dict(answer.get("view") or {}))
            return {"ok": True, "ack": ack}
        self.workspace.close_modal(modal)
        return {"ok": True, "ack": ack}

    def close(self, user: Any, view_id: Any) -> dict[str, Any]:
        """A person closes a modal (its close button, Escape)."""
        modal = self._modal(user, view_id)
        ack = None
        if modal.view.get("notify_on_close"):
            payload = signing.view_closed(modal.view, team=TEAM, user=modal.user,
                                          user_name=self.workspace.name_of(modal.user))
            ack = self._interaction(payload, "a modal closed")
        self.workspace.close_modal(modal)
        return {"ok": True, "ack": ack}

    def _modal(self, user: Any, view_id: Any) -> Modal:
        if not isinstance(user, str) or user not in self.workspace.people:
            raise BadRequest("`user` must be one of the workspace's people.")
        modal = self.workspace.modal_of(user, view_id)
        if modal is None:
            raise BadRequest("`view_id` is not a modal open for this person.")
        return modal

    def home(self, user: Any) -> dict[str, Any]:
        """A person opens the bot's Home tab."""
        if not isinstance(user, str) or user not in self.workspace.people:
            raise BadRequest("`user` must be one of the workspace's people.")
        event = signing.home_opened_event(user, view=self.workspace.homes.get(user))
        ack = self._event(event, "app_home_opened")
        return {"ok": ack["status"] < 400, "ack": ack}

    def file(self, file_id: str) -> tuple[str, bytes] | None:
        """(name, bytes) of a file the bot uploaded and shared."""
        with self.fake._lock:
            entry = self.fake.files.get(file_id)
            if entry is None or not entry.get("completed") or entry.get("content") is None:
                return None
            return str(entry["filename"]), bytes(entry["content"])


def _bind(settings: Settings, gateway_url: str, host: str, port: int) -> Simulator | str:
    try:
        return Simulator(settings, gateway_url, host, port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return (f"simulator: {host}:{port} is taken: `make demo` or another simulator may "
                    "be running (stop it first)")
        return f"simulator: cannot listen on {host}:{port}: {error.strerror or error}"


def run_simulator(settings: Settings, gateway_url: str | None,
                  ) -> int:
    """`estafeta simulator`: serve the page on SLACK_API_URL's address until SIGINT/SIGTERM."""
    gateway_url = (gateway_url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    if not settings.slack_signing_secret:
        print("simulator: set SLACK_SIGNING_SECRET to the gateway's signing secret",
              file=sys.stderr)
        return 2
    api = urlsplit(settings.slack_api_url)
    if not is_loopback_url(settings.slack_api_url) or not api.hostname:
        print(f"simulator: SLACK_API_URL must point at this machine (it is "
              f"{settings.slack_api_url}); `make run` sets it for you", file=sys.stderr)
        return 2
    try:
        _OPENER.open(f"{gateway_url}/healthz", timeout=2).close()
    except OSError:
        print(f"simulator: no gateway at {gateway_url}; start everything with `make run` first",
              file=sys.stderr)
        return 2
    bound = _bind(settings, gateway_url, api.hostname, api.port or 80)
    if isinstance(bound, str):
        print(bound, file=sys.stderr)
        return 2
    done = threading.Event()

    def finish(*_: object) -> None:
        done.set()

    previous = {sig: signal.signal(sig, finish) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with bound as simulator:
            print(f"Estafeta's Slack simulator: {simulator.url}", flush=True)
            print(f"  talking to the gateway at {gateway_url}; Ctrl-C stops it", flush=True)
            _until(done)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _until(done: threading.Event) -> None:
    while not done.wait(0.5):  # short waits: the signal handler runs between them
        pass
