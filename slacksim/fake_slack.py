"""A fake Slack Web API served over real HTTP: it records every call and can misbehave on cue.

Point `SLACK_API_URL` at `FakeSlack.api_url` and use `FakeSlack.response_url()` as the
`response_url` of simulated slash commands. The tests, `make demo` and the benchmarks share it.

OAuth v2: `grant(code, team, token, ...)` scripts what `oauth.v2.access` gives for a code (the
token is accepted from then on); `grant_type=refresh_token` rotates a token (each refresh token
is good once; the old access token stays valid for `rotation_grace` seconds, or until it
expires). `/oauth/v2/authorize` sends the browser back to `redirect_uri` with the oldest code
not yet handed out. The app's credentials are `client_id` / `client_secret`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

T = TypeVar("T")

log = logging.getLogger(__name__)

BOT_USER_ID = "UBOT"
DEFAULT_TOKEN = "xoxb-fake-token"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"
APP_ID = "AFAKEAPP"
# What a rotating token lives for when a grant does not say (Slack's 12 hours).
ROTATED_EXPIRES_IN = 43_200


@dataclass
class Call:
    """One request the fake received."""

    method: str  # Web API method, or "response_url"
    params: dict[str, Any]
    path: str
    at: float = field(default_factory=time.time)
    token: str = ""  # the bearer token it came with ("" for response_urls)
    team: str = ""  # the workspace that token belongs to ("" when the token is unknown)
    answer: dict[str, Any] | None = None  # what the fake answered (when it answered JSON)


@dataclass
class _Grant:
    """What `oauth.v2.access` answers for one code (or one refresh token)."""

    team: str
    token: str
    refresh_token: str | None
    expires_in: int | None
    enterprise: str | None
    user: str
    scope: str
    team_name: str
    handed_out: bool = False  # the authorize page gave its code to a browser


@dataclass
class _Trouble:
    status: int
    retry_after: int | None
    stall: float
    times: int


class FakeSlack:
    """An HTTP server that behaves like the parts of Slack the bot uses."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str = DEFAULT_TOKEN,
                 team: str = "T0001", client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET) -> None:
        self.token = token
        self.team = team
        self.client_id = client_id
        self.client_secret = client_secret
        # OAuth: codes not exchanged yet, refresh tokens not used yet, and when tokens expire.
        self._grants: dict[str, _Grant] = {}
        self._refreshes: dict[str, _Grant] = {}
        self.expiries: dict[str, float] = {}
        # Seconds an access token stays valid once it was rotated (None: until it expires).
        self.rotation_grace: float | None = None
        self.rotated_expires_in = ROTATED_EXPIRES_IN  # what a refreshed token lives for
        self._rotations = itertools.count(1)
        # Every token the fake accepts, and the workspace each belongs to: the default bot
        # token, then what `install` adds (a second workspace, an xapp- app token, ...).
        self.tokens: dict[str, str] = {token: team}
        # What `apps.connections.open` answers: the websocket URL of a fake Socket Mode server.
        self.socket_url = ""
        # Views opened (views.open/update, by view id) and Home tabs published (by user).
        self.views: dict[str, dict[str, Any]] = {}
        self.homes: dict[str, dict[str, Any]] = {}
        self._view_ids = itertools.count(1)
        self.view_prefix = "V"  # view ids are the prefix and a counter
        self.calls: list[Call] = []
        # Channel histories served by conversations.history, newest first, as Slack does.
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.private_channels: set[str] = set()
        # users.info answers: per-user overrides (tz, is_admin, ...) of a Madrid-based member.
        self.users: dict[str, dict[str, Any]] = {}
        # conversations.info `creator` of a channel (the one who may manage it).
        self.creators: dict[str, str] = {}
        # conversations.list: channel id -> name (users.list lists the ids in `users`).
        self.channel_names: dict[str, str] = {}
        # conversations.info `is_member` / `is_archived`: where the bot is, what is archived.
        self.bot_channels: set[str] = set()
        self.archived: set[str] = set()
        # chat.postMessage into these conversations answers {"ok": false, "error": <value>}.
        self.refusals: dict[str, str] = {}
        # Files uploaded with files.getUploadURLExternal + upload + completeUploadExternal.
        self.files: dict[str, dict[str, Any]] = {}
        self._file_ids = itertools.count(1)
        self.domain = "estafeta-demo"
        self._troubles: dict[str, list[_Trouble]] = {}
        # Called with every call recorded (a Web API call once it is answered), outside the
        # lock: an observer such as the browser simulator.
        self.listeners: list[Callable[[Call], None]] = []
        # Serves every other path (not /api/, /response/, /upload/, /oauth/): None → 404.
        self.site: Callable[[BaseHTTPRequestHandler], None] | None = None
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self._responses = itertools.count(1)
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://host:port` of the fake."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The value for `SLACK_API_URL`."""
        return f"{self.base_url}/api/"

    def response_url(self) -> str:
        """A fresh `response_url` for one simulated slash command."""
        return f"{self.base_url}/response/{next(self._responses)}"

    def start(self) -> FakeSlack:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-slack")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- scripting ---------------------------------------------------------------------------

    def install(self, token: str, team: str) -> None:
        """Accept `token` from now on, as a token of workspace `team`."""
        with self._lock:
            self.tokens[token] = team

    def revoke(self, token: str) -> None:
        """Answer `token_revoked` to `token` from now on."""
        with self._lock:
            self.tokens.pop(token, None)

    def grant(self, code: str, team: str, token: str, refresh_token: str | None = None,
              expires_in: int | None = None, *, enterprise: str | None = None,
              user: str = "UINSTALLER", scope: str = "commands,chat:write",
              team_name: str = "") -> None:
        """Let `oauth.v2.access` exchange `code` (once) for `token`, a bot token of `team`
        (with `refresh_token` and `expires_in`: a rotating one)."""
        with self._lock:
            self._grants[code] = _Grant(team, token, refresh_token, expires_in, enterprise,
                                        user, scope, team_name or f"Team {team}")

    def expire(self, token: str, at: float | None = None) -> None:
        """Answer `token_expired` to `token` from `at` on (now by default)."""
        with self._lock:
            self.expiries[token] = time.time() if at is None else at

    def fail(self, method: str, status: int, *, retry_after: int | None = None,
             times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` (429 adds Retry-After)."""
        with self._lock:
            self._troubles.setdefault(method, []).append(
                _Trouble(status, retry_after, 0.0, times))

    def stall(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Record the next `times` calls of `method`, then wait `seconds` before answering."""
        with self._lock:
            self._troubles.setdefault(method, []).append(_Trouble(200, None, seconds, times))

    def reset(self) -> None:
        """Forget every call, every scripted trouble and every channel history."""
        with self._lock:
            self.calls.clear()
            self._troubles.clear()
            self.history.clear()
            self.private_channels.clear()
            self.users.clear()
            self.creators.clear()
            self.channel_names.clear()
            self.bot_channels.clear()
            self.archived.clear()
            self.refusals.clear()
            self.files.clear()
            self.views.clear()
            self.homes.clear()
            self.tokens = {self.token: self.team}
            self._grants.clear()
            self._refreshes.clear()
            self.expiries.clear()
            self.rotation_grace = None
            self.rotated_expires_in = ROTATED_EXPIRES_IN

    # -- inspection --------------------------------------------------------------------------

    def calls_to(self, method: str, team: str | None = None) -> list[Call]:
        """Every recorded call of `method` (optionally only those made with `team`'s tokens)."""
        with self._lock:
            return [c for c in self.calls if c.method == method
                    and (team is None or c.team == team)]

    def calls_of(self, team: str) -> list[Call]:
        """Every Web API call made with a token of workspace `team`."""
        with self._lock:
            return [c for c in self.calls if c.team == team]

    def posted(self, channel: str | None = None, team: str | None = None
               ) -> list[dict[str, Any]]:
        """Messages posted with `chat.postMessage` (optionally in one channel, or with one
        workspace's token)."""
        return [c.params for c in self.calls_to("chat.postMessage", team)
                if channel is None or c.params.get("channel") == channel]

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages posted with `chat.postEphemeral` (optionally in one channel)."""
        return [c.params for c in self.calls_to("chat.postEphemeral")
                if channel is None or c.params.get("channel") == channel]

    def uploaded(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files whose upload was completed (optionally shared in one channel)."""
        with self._lock:
            return [f for f in self.files.values() if f.get("completed")
                    and (channel is None or f.get("channel") == channel)]

    def responses(self, url: str | None = None) -> list[dict[str, Any]]:
        """Bodies sent to `response_url`s (optionally to one of them)."""
        return [c.params for c in self.calls_to("response_url")
                if url is None or self.base_url + c.path == url]

    def wait_for(self, probe: Callable[[], T], timeout: float = 10.0) -> T:
        """Wait until `probe()` returns something truthy and return it."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = probe()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake Slack: condition not met within {timeout}s")
                self._lock.wait(min(remaining, 0.2))

    # -- serving -----------------------------------------------------------------------------

    def _take_trouble(self, method: str) -> _Trouble | None:
        with self._lock:
            queue = self._troubles.get(method)
            if not queue:
                return None
            trouble = queue[0]
            trouble.times -= 1
            if trouble.times <= 0:
                queue.pop(0)
            return trouble

    def _record(self, call: Call, notify: bool = True) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
        if notify:
            self._notify(call)

    def _notify(self, call: Call) -> None:
        for listener in list(self.listeners):
            try:
                listener(call)
            except Exception:  # an observer's bug must not change what the bot is answered
                log.exception("fake Slack: a call listener failed on %s", call.method)

    def _thread_messages(self, channel: str, ts: str) -> list[dict[str, Any]]:
        messages = []
        for params in self.posted(channel):
            if params.get("ts") == ts or params.get("thread_ts") == ts:
                messages.append({
                    "type": "message", "user": BOT_USER_ID, "text": params.get("text", ""),
                    "ts": params["ts"], "thread_ts": params.get("thread_ts"),
                    "metadata": params.get("metadata"),
                })
        return messages

    def _views(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or not view.get("type"):
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            if method == "views.publish":
                if view["type"] != "home" or not params.get("user_id"):
                    return {"ok": False, "error": "invalid_arguments"}
                self.homes[str(params["user_id"])] = view
                return {"ok": True, "view": {"id": "VHOME", **view}}
            if method == "views.open":
                if not params.get("trigger_id"):
                    return {"ok": False, "error": "invalid_arguments"}
                view_id = f"{self.view_prefix}{next(self._view_ids):08d}"
            else:  # views.update
                view_id = str(params.get("view_id") or "")
                if view_id not in self.views:
                    return {"ok": False, "error": "not_found"}
            self.views[view_id] = view
            return {"ok": True, "view": {"id": view_id, **view}}

    # -- OAuth -------------------------------------------------------------------------------

    def _client_problem(self, params: dict[str, Any], authorization: str) -> str | None:
        """Slack's error for the app's credentials, as HTTP basic auth (slack_sdk) or as the
        form's client_id / client_secret; None when they are right."""
        client_id = str(params.get("client_id") or "")
        client_secret = str(params.get("client_secret") or "")
        if authorization.startswith("Basic "):
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(authorization[len("Basic "):]).decode()
                client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            return "invalid_client_id"
        if client_secret != self.client_secret:
            return "bad_client_secret"
        return None

    def _oauth_access(self, params: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            if params.get("grant_type") == "refresh_token":
                old = self._refreshes.pop(str(params.get("refresh_token") or ""), None)
                if old is None:
                    return {"ok": False, "error": "invalid_refresh_token"}
                number = next(self._rotations)
                grant = _Grant(old.team, f"xoxe.xoxb-{old.team}-rotated-{number}",
                               f"xoxe-1-{old.team}-refresh-{number}",
                               self.rotated_expires_in, old.enterprise, old.user,
                               old.scope, old.team_name)
                if self.rotation_grace is not None:
                    for token, team in self.tokens.items():
                        if team == old.team:
                            self.expiries[token] = min(self.expiries.get(token, float("inf")),
                                                       now + self.rotation_grace)
            else:
                exchanged = self._grants.pop(str(params.get("code") or ""), None)
                if exchanged is None:
                    return {"ok": False, "error": "invalid_code"}
                grant = exchanged
            self.tokens[grant.token] = grant.team
            if grant.expires_in is not None:
                self.expiries[grant.token] = now + grant.expires_in
            if grant.refresh_token:
                self._refreshes[grant.refresh_token] = grant
        answer: dict[str, Any] = {
            "ok": True, "app_id": APP_ID, "access_token": grant.token, "token_type": "bot",
            "scope": grant.scope, "bot_user_id": BOT_USER_ID,
            "team": {"id": grant.team, "name": grant.team_name},
            "enterprise": {"id": grant.enterprise} if grant.enterprise else None,
            "is_enterprise_install": False,
            "authed_user": {"id": grant.user},
        }
        if grant.refresh_token:
            answer.update(refresh_token=grant.refresh_token, expires_in=grant.expires_in)
        return answer

    def _authorize(self, params: dict[str, Any]) -> tuple[int, dict[str, str]]:
        """The install page: approve at once with the oldest code not handed out yet."""
        redirect_uri = str(params.get("redirect_uri") or "")
        if params.get("client_id") != self.client_id or not redirect_uri:
            return 400, {}
        with self._lock:
            code = next((c for c, g in self._grants.items() if not g.handed_out), None)
            if code is not None:
                self._grants[code].handed_out = True
        answer = ({"code": code, "state": params.get("state", "")} if code is not None
                  else {"error": "access_denied", "state": params.get("state", "")})
        separator = "&" if "?" in redirect_uri else "?"
        return 302, {"Location": redirect_uri + separator + urlencode(answer)}

    def _answer(self, method: str, params: dict[str, Any], team: str = "") -> dict[str, Any]:
        if method == "response_url":
            return {"ok": True}
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER_ID, "team_id": team or self.team,
                    "bot_id": "BBOT"}
        if method in {"views.open", "views.update", "views.publish"}:
            return self._views(method, params)
        if method == "chat.postEphemeral":
            if not params.get("channel") or not params.get("user"):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}
        if method == "apps.connections.open":
            if not self.socket_url:
                return {"ok": False, "error": "not_allowed_token_type"}
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postMessage":
            if not params.get("channel") or not (params.get("text") or params.get("blocks")):
                return {"ok": False, "error": "no_text"}
            return {"ok": True, "channel": params["channel"], "ts": params["ts"],
                    "message": {"text": params.get("text", ""), "ts": params["ts"]}}
        if method == "conversations.replies":
            channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
            return {"ok": True, "messages": self._thread_messages(channel, ts),
                    "has_more": False}
        if method == "conversations.history":
            if params.get("oldest"):
                return self._bot_posts_since(params)
            return self._history_page(params)
        if method == "conversations.info":
            channel = str(params.get("channel", ""))
            private = channel in self.private_channels or channel.startswith("G")
            return {"ok": True, "channel": {"id": channel, "is_private": private,
                                            "is_im": channel.startswith("D"), "is_mpim": False,
                                            "creator": self.creators.get(channel, ""),
                                            "is_channel": channel.startswith("C") and not private,
                                            "is_group": private and not channel.startswith("D"),
                                            "is_member": channel in self.bot_channels,
                                            "is_archived": channel in self.archived}}
        if method == "conversations.list":
            channels = [{"id": c, "name": n, "is_private": c in self.private_channels}
                        for c, n in sorted(self.channel_names.items())]
            return self._list_page("channels", channels, params)
        if method == "users.list":
            members = [{"id": u, "name": u.lower(), **self.users[u]} for u in sorted(self.users)]
            return self._list_page("members", members, params)
        if method == "conversations.open":
            users = str(params.get("users", ""))
            if not users or "," in users:
                return {"ok": False, "error": "not_implemented"}
            return {"ok": True, "channel": {"id": "D" + users.lstrip("UW")}}
        if method == "files.getUploadURLExternal":
            return self._new_upload(params)
        if method == "files.completeUploadExternal":
            return self._complete_uploads(params)
        if method == "team.info":
            return {"ok": True, "team": {"id": self.team, "domain": self.domain}}
        if method == "users.info":
            user = str(params.get("user", ""))
            profile = {"id": user, "name": user.lower(), "tz": "Europe/Madrid",
                       "tz_offset": 3600, "is_admin": False, "is_owner": False}
            if str(params.get("include_locale", "")).lower() in {"true", "1"}:
                profile["locale"] = "en-US"  # what Slack says unless the user chose another
            return {"ok": True, "user": {**profile, **self.users.get(user, {})}}
        return {"ok": False, "error": "unknown_method"}

    def _bot_posts_since(self, params: dict[str, Any]) -> dict[str, Any]:
        # What Slack answers for a window of recent history: here, the bot's own posts.
        channel, oldest = str(params.get("channel", "")), float(params["oldest"])
        messages = [
            {"type": "message", "user": BOT_USER_ID, "bot_id": "BBOT", "ts": p["ts"],
             "text": p.get("text", ""), "metadata": p.get("metadata")}
            for p in reversed(self.posted(channel)) if float(p["ts"]) >= oldest
        ]
        return {"ok": True, "messages": messages, "has_more": False}

    def _new_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not int(params.get("length") or 0):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._file_ids):08d}"
        with self._lock:
            self.files[file_id] = {"id": file_id, "filename": params["filename"],
                                   "length": int(params["length"]), "content": None,
                                   "completed": False}
        return {"ok": True, "file_id": file_id,
                "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _receive_upload(self, file_id: str, content: bytes) -> bool:
        with self._lock:
            entry = self.files.get(file_id)
            if entry is None or entry["length"] != len(content):
                return False
            entry["content"] = content
            return True

    def _complete_uploads(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        completed = []
        with self._lock:
            for item in files:
                entry = self.files.get(str(item.get("id")))
                if entry is None or entry["content"] is None:
                    return {"ok": False, "error": "file_not_found"}
                entry.update(completed=True, title=item.get("title"),
                             channel=params.get("channel_id"),
                             thread_ts=params.get("thread_ts"),
                             initial_comment=params.get("initial_comment"))
                completed.append({"id": entry["id"], "name": entry["filename"],
                                  "title": entry["title"]})
            self._lock.notify_all()
        return {"ok": True, "files": completed}

    @staticmethod
    def _list_page(key: str, items: list[dict[str, Any]], params: dict[str, Any]
                   ) -> dict[str, Any]:
        # Cursor pagination as Slack's list methods do it (the cursor is an offset here).
        start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 100)
        more = start + limit < len(items)
        return {"ok": True, key: items[start:start + limit],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _history_page(self, params: dict[str, Any]) -> dict[str, Any]:
        messages = self.history.get(str(params.get("channel", "")))
        if messages is None:
            return {"ok": False, "error": "channel_not_found"}
        page = self._list_page("messages", messages, params)
        page["has_more"] = bool(page["response_metadata"]["next_cursor"])
        return page

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean

            def _params(self) -> dict[str, Any]:
                parts = urlsplit(self.path)
                params: dict[str, Any] = dict(parse_qsl(parts.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw:
                    if (self.headers.get("Content-Type") or "").startswith("application/json"):
                        body = json.loads(raw)
                        if isinstance(body, dict):
                            params.update(body)
                    else:
                        params.update(parse_qsl(raw.decode()))
                for key in ("metadata", "files", "view", "blocks"):
                    if isinstance(params.get(key), str):
                        params[key] = json.loads(params[key])
                return params

            def _handle(self) -> None:
                path = urlsplit(self.path).path
                if path.startswith("/upload/"):
                    length = int(self.headers.get("Content-Length") or 0)
                    content = self.rfile.read(length) if length else b""
                    ok = fake._receive_upload(path[len("/upload/"):], content)
                    fake._record(Call("upload", {"bytes": len(content)}, path))
                    self._send(200 if ok else 404, {"ok": ok})
                    return
                if path == "/oauth/v2/authorize":
                    params = self._params()
                    fake._record(Call("oauth.v2.authorize", params, path))
                    status, headers = fake._authorize(params)
                    self._send(status, {"ok": status == 302}, headers)
                    return
                if path.startswith("/api/"):
                    method = path[len("/api/"):]
                elif path.startswith("/response/"):
                    method = "response_url"
                elif fake.site is not None and not path.startswith(("/upload/", "/oauth/")):
                    fake.site(self)
                    return
                else:
                    self._send(404, {"ok": False, "error": "not_found"})
                    return
                params = self._params()
                given = self.headers.get("Authorization") or ""
                if method == "oauth.v2.access":  # the app's credentials, not a token
                    problem = fake._client_problem(params, given)
                    params.pop("client_secret", None)  # never kept, even by a fake
                    trouble = fake._take_trouble(method)
                    if trouble is not None and trouble.status != 200:
                        fake._record(Call(f"{method}!{trouble.status}", params, path))
                        self._send(trouble.status, {"ok": False, "error": "internal_error"})
                        return
                    fake._record(Call(method if problem is None else f"{method}!{problem}",
                                      params, path))
                    if trouble is not None and trouble.stall:
                        time.sleep(trouble.stall)
                    self._send(200, {"ok": False, "error": problem} if problem
                               else fake._oauth_access(params))
                    return
                token = given[len("Bearer "):] if given.startswith("Bearer ") else ""
                with fake._lock:
                    team = fake.tokens.get(token, "") if token else ""
                    expired = team and fake.expiries.get(token, float("inf")) <= time.time()
                if expired:
                    fake._record(Call(f"{method}!token_expired", params, path, token=token,
                                      team=team))
                    self._send(200, {"ok": False, "error": "token_expired"})
                    return
                authorized = bool(team)
                trouble = fake._take_trouble(method)
                if trouble is not None and trouble.status != 200:
                    headers = {}
                    if trouble.retry_after is not None:
                        headers["Retry-After"] = str(trouble.retry_after)
                    error = "ratelimited" if trouble.status == 429 else "internal_error"
                    fake._record(Call(f"{method}!{trouble.status}", params, path, token=token,
                                      team=team))
                    self._send(trouble.status, {"ok": False, "error": error}, headers)
                    return
                if not authorized and method != "response_url":
                    fake._record(Call(f"{method}!invalid_auth", params, path, token=token))
                    self._send(200, {"ok": False, "error": "invalid_auth"})
                    return
                refusal = (fake.refusals.get(str(params.get("channel", "")))
                           if method in {"chat.postMessage", "chat.postEphemeral"} else None)
                if refusal:
                    fake._record(Call(f"{method}!{refusal}", params, path, token=token,
                                      team=team))
                    self._send(200, {"ok": False, "error": refusal})
                    return
                if method == "chat.postMessage":
                    params["ts"] = f"{int(time.time())}.{next(fake._ts):06d}"
                call = Call(method, params, path, token=token, team=team)
                fake._record(call, notify=False)
                if trouble is not None and trouble.stall:
                    time.sleep(trouble.stall)
                call.answer = fake._answer(method, params, team)
                fake._notify(call)
                self._send(200, call.answer)

            do_GET = _handle
            do_POST = _handle

            def _send(self, status: int, body: dict[str, Any],
                      headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                # The client may have gone away (a killed worker, say): Slack would not care.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(raw)

        return Handler
