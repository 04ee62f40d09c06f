"""The browser simulator's HTTP side: the page's files, its JSON API and its live events,
served from the fake Slack's own server (every path that is not the Web API's).
"""

from __future__ import annotations

import json
import logging
import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slacksim.workspace import BadRequest, file_type

if TYPE_CHECKING:
    from slacksim.simulator import Simulator

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_BODY = 1024 * 1024  # bytes of a POST body
KEEPALIVE = 15.0  # seconds of quiet before an SSE comment keeps the connection open
RETRY_MS = 2000  # how soon a browser reconnects to /sim/events
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".js": "text/javascript; charset=utf-8",
                ".mjs": "text/javascript; charset=utf-8", ".png": "image/png",
                ".svg": "image/svg+xml", ".ico": "image/x-icon",
                ".json": "application/json"}
# The page runs only its own scripts and talks only to this server.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
               "base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_ADDRESSES = {"", "0.0.0.0", "::"}  # bound to every address: only loopback names
_STATIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$")
_FILE_ID = re.compile(r"^F[A-Za-z0-9]{1,40}$")
_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]")


def sse_frame(name: str, data: Any) -> bytes:
    """One server-sent event: `event: <name>`, then its JSON on one `data:` line."""
    # json.dumps escapes every newline inside strings: the data is always one line.
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def static_file(name: str) -> tuple[Path, str] | None:
    """(path, Content-Type) of one of the page's files, or None (also for any name that
    would leave the directory)."""
    if not _STATIC_NAME.match(name) or ".." in name:
        return None
    content_type = STATIC_TYPES.get(Path(name).suffix.lower())
    path = STATIC_DIR / name
    if content_type is None or not path.is_file() or path.resolve().parent != STATIC_DIR:
        return None
    return path, content_type


def disposition(filename: str, inline: bool) -> str:
    """The Content-Disposition of an uploaded file (a name safe to put in a header)."""
    if inline:
        return "inline"
    safe = _SAFE_FILENAME.sub("_", filename).strip() or "file"
    return f'attachment; filename="{safe[:100]}"'


def allowed_hosts(server_address: Any) -> set[str]:
    """The Host headers that name this server: a loopback name or the address it is bound
    to (when that is a particular one), with its port."""
    host, port = str(server_address[0]), int(server_address[1])
    names = set(LOOPBACK_NAMES)
    if host not in WILDCARD_ADDRESSES:
        names.add(f"[{host}]" if ":" in host else host)
    allowed = {f"{name}:{port}" for name in names}
    if port == 80:
        allowed |= names  # a browser leaves the default port out
    # A loopback name without its port cannot come from a rebinding page (its Host names
    # its own domain); raw clients often send it so.
    return allowed | set(LOOPBACK_NAMES)


def host_allowed(hosts: list[str], server_address: Any) -> bool:
    """Whether a request's Host headers (exactly one) name this server."""
    return len(hosts) == 1 and hosts[0].strip().lower() in allowed_hosts(server_address)


class Site:
    """Serves the page and its API for `simulator` (called by the fake's request handler)."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.posts = {
            "/sim/say": lambda b: simulator.say(b.get("user"), b.get("channel"), b.get("text"),
                                                b.get("thread_ts")),
            "/sim/action": lambda b: simulator.action(
                b.get("user"), b.get("action_id"), b.get("block_id"), b.get("value"),
                message_id=b.get("message_id"), view_id=b.get("view_id")),
            "/sim/submit": lambda b: simulator.submit(b.get("user"), b.get("view_id"),
                                                      b.get("values")),
            "/sim/close": lambda b: simulator.close(b.get("user"), b.get("view_id")),
            "/sim/home": lambda b: simulator.home(b.get("user")),
        }

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        try:
            if not host_allowed(handler.headers.get_all("Host") or [],
                                handler.server.server_address):
                # DNS rebinding: a page of another name resolved to this address reads and
                # acts as if it were ours; only a name of this server may be asked.
                self._discard_body(handler)
                self._json(handler, 421, {"ok": False, "error": "unknown_host"})
            elif handler.command == "POST":
                self._post(handler, path)
            elif handler.command == "GET":
                self._get(handler, path)
            else:
                self._json(handler, 405, {"ok": False, "error": "method_not_allowed"})
        except BadRequest as error:
            self._json(handler, 400, {"ok": False, "error": str(error)})
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the browser went away
        except Exception:
            log.exception("simulator: %s %s failed", handler.command, path)
            self._json(handler, 500, {"ok": False, "error": "internal_error"})

    # -- GET -----------------------------------------------------------------------------------

    def _get(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        if path in {"/", "/index.html"}:
            self._static(handler, "index.html")
        elif path.startswith("/static/"):
            self._static(handler, path[len("/static/"):])
        elif path == "/sim/state":
            self._json(handler, 200, self.simulator.workspace.state())
        elif path == "/sim/events":
            self._events(handler)
        elif path.startswith("/sim/files/"):
            self._file(handler, path[len("/sim/files/"):])
        elif path in self.posts:
            self._json(handler, 405, {"ok": False, "error": "method_not_allowed"},
                       {"Allow": "POST"})
        else:
            self._json(handler, 404, {"ok": False, "error": "not_found"})

    def _static(self, handler: BaseHTTPRequestHandler, name: str) -> None:
        found = static_file(name)
        if found is None:
            self._json(handler, 404, {"ok": False, "error": "not_found"})
            return
        path, content_type = found
        headers = {"Cache-Control": "no-cache"}
        if content_type.startswith("text/html"):
            headers["Content-Security-Policy"] = PAGE_POLICY
        self._send(handler, 200, path.read_bytes(), content_type, headers)

    def _file(self, handler: BaseHTTPRequestHandler, file_id: str) -> None:
        found = self.simulator.file(file_id) if _FILE_ID.match(file_id) else None
        if found is None:
            self._json(handler, 404, {"ok": False, "error": "file_not_found"})
            return
        name, content = found
        content_type, inline = file_type(name)
        self._send(handler, 200, content, content_type, {
            "Content-Disposition": disposition(name, inline),
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600"})

    def _events(self, handler: BaseHTTPRequestHandler) -> None:
        workspace = self.simulator.workspace
        subscriber = workspace.subscribe()
        handler.close_connection = True  # the stream ends only when one side goes
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
            handler.send_header("Cache-Control", "no-cache")
            handler.send_header("X-Accel-Buffering", "no")
            handler.send_header("X-Content-Type-Options", "nosniff")
            handler.end_headers()
            handler.wfile.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
            handler.wfile.flush()
            for item in subscriber.events(KEEPALIVE):
                if self.simulator.stopping.is_set():
                    break
                handler.wfile.write(b": keep-alive\n\n" if item is None
                                    else sse_frame(*item))
                handler.wfile.flush()
        except OSError:
            pass  # the browser went away: nobody else waits for it
        finally:
            workspace.unsubscribe(subscriber)

    # -- POST ----------------------------------------------------------------------------------

    def _post(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        route = self.posts.get(path)
        if route is None:
            self._json(handler, 404, {"ok": False, "error": "not_found"})
            return
        origin = handler.headers.get("Origin")
        if origin and origin != f"http://{handler.headers.get('Host', '')}":
            # Another site's page must not make this one sign requests for it.
            self._json(handler, 403, {"ok": False, "error": "cross_origin"})
            return
        body = self._body(handler)
        if body is None:
            return
        self._json(handler, 200, route(body))

    def _body(self, handler: BaseHTTPRequestHandler) -> dict[str, Any] | None:
        """The JSON object POSTed; None when an answer (400/413) was already sent."""
        try:
            length = int(handler.headers.get("Content-Length") or "")
        except ValueError:
            handler.close_connection = True
            raise BadRequest("A JSON body with a Content-Length is needed.") from None
        if length > MAX_BODY or length < 0:
            handler.close_connection = True  # the rest of the body is never read
            self._json(handler, 413, {"ok": False, "error": "body_too_large"})
            return None
        raw = handler.rfile.read(length)
        content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type.lower() != "application/json":
            raise BadRequest("Content-Type must be application/json.")
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest("The body is not JSON.") from None
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        return body

    @staticmethod
    def _discard_body(handler: BaseHTTPRequestHandler) -> None:
        """Read and drop a refused request's body (a socket closed unread may reset before
        the answer is read); one too large or unsized ends the connection instead."""
        handler.close_connection = True
        try:
            length = int(handler.headers.get("Content-Length") or "0")
        except ValueError:
            return
        if 0 <= length <= MAX_BODY:
            handler.rfile.read(length)

    # -- answers -------------------------------------------------------------------------------

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, body: Any,
              headers: dict[str, str] | None = None) -> None:
        Site._send(handler, status, json.dumps(body).encode(), "application/json; charset=utf-8",
                   {"Cache-Control": "no-store", **(headers or {})})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, raw: bytes, content_type: str,
              headers: dict[str, str]) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(raw)))
        handler.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(raw)
