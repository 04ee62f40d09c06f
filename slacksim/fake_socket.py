"""A fake Slack Socket Mode server: the websocket end of `apps.connections.open`.

Point FakeSlack at it (`fake.socket_url = server.url`) and install the app token
(`fake.install("xapp-…", team)`): a Socket Mode client then connects here, gets `hello`, and
receives the envelopes a test sends (`events_api`, `slash_commands`, `interactive`). Every
acknowledgement is recorded with the time it arrived. A test can redeliver an envelope as
Slack does when it was not acknowledged (`resend`), close the connection (`drop`, `sever`) or
ask the client to reconnect (`ask_to_disconnect`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

# What Slack says about each envelope type: slash commands and interactions may be answered
# with a payload in the acknowledgement, events may not.
_ACCEPTS_PAYLOAD = {"events_api": False, "slash_commands": True, "interactive": True}


@dataclass(frozen=True)
class Ack:
    """One acknowledgement the client sent."""

    envelope_id: str
    payload: dict[str, Any] | None
    at: float  # time.monotonic() when it arrived
    delivered_at: float  # time.monotonic() when the envelope it answers was last sent

    @property
    def seconds(self) -> float:
        """How long the client took to acknowledge, since the envelope was sent."""
        return self.at - self.delivered_at


@dataclass
class Envelope:
    """An envelope as sent, and when it was last sent."""

    body: dict[str, Any]
    sent_at: float = 0.0
    deliveries: int = 0


class FakeSocketMode:
    """A websocket server speaking Slack's Socket Mode, in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.acks: list[Ack] = []
        self.envelopes: dict[str, Envelope] = {}
        self.connections = 0  # how many clients connected (and got `hello`) so far
        self.unparsed: list[str] = []  # what the client sent that was not an ack
        self._open: list[ServerConnection] = []  # oldest first; envelopes go to the newest
        self._lock = threading.Condition()
        self._tickets = itertools.count(1)
        self._server: Server = serve(self._handle, host, port)
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The websocket URL `apps.connections.open` answers (a plain `ws://`)."""
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket={next(self._tickets)}"

    def start(self) -> FakeSocketMode:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-socket-mode")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection and stop serving."""
        self._server.shutdown()
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            connection.close(1001, "going away")
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget acknowledgements and envelopes (connections stay)."""
        with self._lock:
            self.acks.clear()
            self.envelopes.clear()
            self.unparsed.clear()

    # -- the connection ----------------------------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            self.connections += 1
            self._open.append(connection)
            connection.send(json.dumps({
                "type": "hello", "num_connections": 1,
                "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0001"},
            }))
            self._lock.notify_all()
        try:
            for message in connection:
                self._received(message if isinstance(message, str) else message.decode())
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._open.remove(connection)
                self._lock.notify_all()

    def _received(self, message: str) -> None:
        now = time.monotonic()
        try:
            body = json.loads(message)
        except ValueError:
            body = None
        with self._lock:
            if not isinstance(body, dict) or not isinstance(body.get("envelope_id"), str):
                self.unparsed.append(message)
                return
            envelope = self.envelopes.get(body["envelope_id"])
            payload = body.get("payload")
            self.acks.append(Ack(body["envelope_id"],
                                 payload if isinstance(payload, dict) else None, now,
                                 envelope.sent_at if envelope is not None else now))
            self._lock.notify_all()

    def wait_connected(self, count: int = 1, timeout: float = 15.0) -> None:
        """Wait until `count` connections in all were made and one is open now."""
        self._wait(lambda: self.connections >= count and bool(self._open), timeout,
                   f"{count} connection(s)")

    @property
    def connected(self) -> bool:
        """Whether a client is connected now."""
        with self._lock:
            return bool(self._open)

    def _newest(self) -> ServerConnection | None:
        with self._lock:
            return self._open[-1] if self._open else None

    def drop(self, code: int = 1001, reason: str = "going away") -> None:
        """Close the newest connection with a close frame, as a restarting server does."""
        connection = self._newest()
        if connection is not None:
            connection.close(code, reason)

    def sever(self) -> None:
        """Cut the newest connection without a close frame (a network failure)."""
        connection = self._newest()
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.socket.shutdown(socket.SHUT_RDWR)
            connection.socket.close()

    def ask_to_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send `disconnect`: Slack's request that the client opens a new connection."""
        self._send_raw({"type": "disconnect", "reason": reason,
                        "debug_info": {"host": "fake-socket-mode"}})

    # -- envelopes ---------------------------------------------------------------------------

    def send(self, kind: str, payload: dict[str, Any], *, envelope_id: str | None = None,
             accepts_response_payload: bool | None = None, timeout: float = 10.0) -> str:
        """Send an envelope of `kind` carrying `payload`; its envelope id."""
        envelope_id = envelope_id or str(uuid.uuid4())
        accepts = (_ACCEPTS_PAYLOAD.get(kind, False) if accepts_response_payload is None
                   else accepts_response_payload)
        body: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                                "accepts_response_payload": accepts}
        if kind == "events_api":
            body.update(retry_attempt=0, retry_reason="")
        with self._lock:
            self.envelopes[envelope_id] = Envelope(body)
        self._deliver(envelope_id, timeout)
        return envelope_id

    def event(self, payload: dict[str, Any], **kw: Any) -> str:
        """Send an `events_api` envelope (`payload`: an `event_callback`)."""
        return self.send("events_api", payload, **kw)

    def slash_command(self, form: dict[str, str], **kw: Any) -> str:
        """Send a `slash_commands` envelope (`form`: the fields Slack would have posted)."""
        return self.send("slash_commands", form, **kw)

    def interactive(self, payload: dict[str, Any], **kw: Any) -> str:
        """Send an `interactive` envelope (`payload`: a block_actions, view_submission, ...)."""
        return self.send("interactive", payload, **kw)

    def resend(self, envelope_id: str, reason: str = "timeout", timeout: float = 10.0) -> None:
        """Deliver an envelope again, as Slack does when it was not acknowledged in time."""
        with self._lock:
            body = self.envelopes[envelope_id].body
            body["retry_attempt"] = int(body.get("retry_attempt", 0)) + 1
            body["retry_reason"] = reason
        self._deliver(envelope_id, timeout)

    def _deliver(self, envelope_id: str, timeout: float) -> None:
        self.wait_connected(timeout=timeout)
        with self._lock:
            envelope = self.envelopes[envelope_id]
            envelope.sent_at = time.monotonic()
            envelope.deliveries += 1
            raw = json.dumps(envelope.body)
        self._send_raw_text(raw, timeout)

    def _send_raw(self, body: dict[str, Any], timeout: float = 10.0) -> None:
        self._send_raw_text(json.dumps(body), timeout)

    def _send_raw_text(self, raw: str, timeout: float) -> None:
        self.wait_connected(timeout=timeout)
        connection = self._newest()
        if connection is None:
            raise TimeoutError("fake Socket Mode: the client went away")
        connection.send(raw)

    def acks_of(self, envelope_id: str) -> list[Ack]:
        """Every acknowledgement of one envelope, in order."""
        with self._lock:
            return [a for a in self.acks if a.envelope_id == envelope_id]

    def wait_ack(self, envelope_id: str, timeout: float = 10.0, count: int = 1) -> Ack:
        """Wait for the `count`-th acknowledgement of `envelope_id` and return it."""
        self._wait(lambda: len([a for a in self.acks if a.envelope_id == envelope_id]) >= count,
                   timeout, f"ack {count} of envelope {envelope_id}")
        return self.acks_of(envelope_id)[count - 1]

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake Socket Mode: no {what} within {timeout}s")
                self._lock.wait(remaining)
