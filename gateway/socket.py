"""Socket Mode: Slack's requests arrive over a websocket this process opens, so the gateway
needs no public URL.

The app-level token (`SLACK_APP_TOKEN`, xapp-…) authenticates the socket: there is no request
signature to verify. Each envelope is handed to the same `gateway.intake` functions the HTTP
endpoints use, and acknowledged only once they returned, that is once the broker confirmed the
publish; the acknowledgement carries what the HTTP answer would have been (a slash command's
ephemeral text, a modal's `response_action: errors`). An envelope that could not be accepted
(broker or database down) is left unacknowledged: Slack delivers it again, and intake's
accepted-events store makes sure a redelivered envelope is published once.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientNotConnectedError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import WebClient
from sqlalchemy.exc import OperationalError

from estafeta import grammar, tracing
from estafeta.metrics_http import MetricsServer
from estafeta.migrate import DatabaseNotReady, require_database
from estafeta.settings import Settings, refuse_published_secrets
from estafeta.slack_api import REFUSED_TOKEN_ERRORS
from estafeta.stores import StoreUnavailable
from gateway import build_gateway, configure_logging, databases, intake
from gateway.errors import ApiError
from gateway.state import Gateway

log = logging.getLogger(__name__)

APP_TOKEN_PREFIX = "xapp-"
# Seconds between the client's pings. A connection closed by the server is replaced within one
# interval, one cut without a close frame within about four (the client's staleness check).
PING_INTERVAL = 2.0
# Envelopes handled at once (the client's thread pool); each waits for one publisher confirm.
CONCURRENCY = 10
# Answers of apps.connections.open that no retry will change: a refused token, or one that is
# not an app-level token with connections:write.
_REFUSED_APP_TOKEN = REFUSED_TOKEN_ERRORS | {"not_allowed_token_type", "missing_scope"}


def app_token_problem(settings: Settings) -> str | None:
    """One line saying why Socket Mode cannot start with these settings, or None."""
    token = settings.slack_app_token
    if not token:
        return ("estafeta: SLACK_APP_TOKEN is not set; Socket Mode needs an app-level token "
                "(xapp-…) with connections:write (Slack app settings → Basic Information → "
                "App-Level Tokens).")
    if not token.startswith(APP_TOKEN_PREFIX):
        return ("estafeta: SLACK_APP_TOKEN does not start with xapp-; Socket Mode needs an "
                "app-level token (not the xoxb- bot token) with connections:write.")
    return None


@dataclass(frozen=True)
class Ack:
    """The acknowledgement of one envelope: its id, and the payload Slack gets (if any)."""

    envelope_id: str
    payload: dict[str, Any] | None = None


def _form(payload: object) -> dict[str, str]:
    """A slash command's payload as the form Slack would have posted: strings only."""
    if not isinstance(payload, Mapping):
        raise ApiError(400, "bad_request", "A slash command payload must be an object.")
    form: dict[str, str] = {}
    for name, value in payload.items():
        if isinstance(value, bool):
            form[str(name)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            form[str(name)] = str(value)
    return form


def _object(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_request", "The envelope's payload must be an object.")
    return payload


def answer(state: Gateway, envelope: Mapping[str, Any]) -> Ack | None:
    """Hand one envelope to intake; its acknowledgement, or None: Slack delivers it again."""
    # A request id of our own: the envelope id names Slack's delivery, not our request.
    token = tracing.start()
    try:
        return _answer(state, envelope)
    finally:
        tracing.CURRENT.reset(token)


def _answer(state: Gateway, envelope: Mapping[str, Any]) -> Ack | None:
    envelope_id = envelope.get("envelope_id")
    kind = envelope.get("type")
    if not isinstance(envelope_id, str) or not envelope_id:
        log.info("a %r message without an envelope id was ignored", kind)
        return None
    retry = envelope.get("retry_attempt")
    if isinstance(retry, int) and retry > 0:
        log.info("envelope %s is Slack's retry %d (%s)", envelope_id, retry,
                 envelope.get("retry_reason") or "no reason given")
    payload = envelope.get("payload")
    try:
        if kind == "events_api":
            body = intake.event(state, _object(payload))
        elif kind == "slash_commands":
            body = intake.command(state, _form(payload))
        elif kind == "interactive":
            body = intake.interaction(state, _object(payload))
        else:
            log.info("envelope %s of type %r acknowledged, not handled", envelope_id, kind)
            return Ack(envelope_id)
    except ApiError as error:
        if error.status >= 500:
            # Nothing was accepted: left unacknowledged, Slack delivers the envelope again.
            log.warning("%s envelope %s not acknowledged: %s (%d); Slack will deliver it "
                        "again", kind, envelope_id, error.code, error.status)
            return None
        # Bad input stays bad: acknowledged, so that Slack does not send it again. The code
        # only: the message may quote what people wrote.
        log.info("%s envelope %s refused: %s (%d)", kind, envelope_id, error.code, error.status)
        return Ack(envelope_id)
    except (StoreUnavailable, OperationalError) as exc:
        log.warning("%s envelope %s not acknowledged: the database is unavailable (%s); "
                    "Slack will deliver it again", kind, envelope_id, type(exc).__name__)
        return None
    except Exception:
        log.exception("%s envelope %s not acknowledged: unexpected error", kind, envelope_id)
        return None
    if body is None or envelope.get("accepts_response_payload") is False:
        return Ack(envelope_id)
    return Ack(envelope_id, body)


class SocketModeGateway:
    """The Socket Mode connection: receives envelopes, hands them to intake, acknowledges."""

    def __init__(self, state: Gateway, *, ping_interval: float = PING_INTERVAL,
                 concurrency: int = CONCURRENCY) -> None:
        self.state = state
        self.hellos = 0
        self._hello = threading.Condition()
        settings = state.settings
        # SLACK_API_URL: apps.connections.open goes where every other Web API call goes.
        web_client = WebClient(base_url=settings.slack_api_base, timeout=10)
        self.client = SocketModeClient(
            app_token=settings.slack_app_token, web_client=web_client,
            auto_reconnect_enabled=True, ping_interval=ping_interval, concurrency=concurrency,
            logger=logging.getLogger("slack_sdk.socket_mode"),
        )
        # The raw message, not the client's SocketModeRequest: that one drops
        # `accepts_response_payload` and the retry fields from what it hands on.
        self.client.message_listeners.append(self._on_message)

    def _on_message(self, client: Any, message: dict[str, Any], raw: str | None) -> None:
        if message.get("type") == "hello":
            with self._hello:
                self.hellos += 1
                self._hello.notify_all()
            log.info("connected to Slack over Socket Mode (connection %d)", self.hellos)
            return
        ack = answer(self.state, message)
        if ack is None:
            return
        try:
            self.client.send_socket_mode_response(
                SocketModeResponse(envelope_id=ack.envelope_id, payload=ack.payload))
        except (SlackClientNotConnectedError, OSError, AttributeError):
            # The connection went away meanwhile (AttributeError: the client had no session
            # at all): Slack delivers the envelope again on the next one, and intake finds it
            # already accepted.
            log.warning("envelope %s accepted but its acknowledgement was not sent: the "
                        "connection closed", ack.envelope_id)

    def connect(self) -> None:
        """Ask Slack for a websocket URL (apps.connections.open) and connect to it."""
        self.client.connect()

    def wait_hello(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until `count` connections said hello; whether they did in time."""
        with self._hello:
            return self._hello.wait_for(lambda: self.hellos >= count, timeout)

    def close(self) -> None:
        """Close the connection and stop every thread of the client."""
        # The client's reader holds its lock in a read that gives up only after 3 s, and
        # closing waits for that lock: shutting the socket down first ends the read now.
        session = getattr(self.client, "current_session", None)
        raw = getattr(session, "sock", None)
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)
        self.client.close()


def warm_up(state: Gateway) -> None:
    """Open the stores and check the broker before the first envelope (then as fast as any)."""
    try:
        _ = "socket-mode-warm-up" in state.accepted_events  # opens (and migrates) the store
    except (StoreUnavailable, OperationalError) as exc:
        log.warning("the database is unavailable (%s): envelopes stay unacknowledged until "
                    "it is back", type(exc).__name__)
    if not state.publisher.ping():
        log.warning("the broker is unreachable: envelopes stay unacknowledged until it is back")


def connect_until_stopped(gateway: SocketModeGateway, stop: threading.Event,
                          sleep: Callable[[float], bool] | None = None) -> str | None:
    """Connect, retrying while Slack cannot be reached; one line if the token is refused."""
    wait = sleep or stop.wait
    delay = 1.0
    while not stop.is_set():
        try:
            gateway.connect()
            return None
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            if error in _REFUSED_APP_TOKEN:
                return (f"estafeta: Slack refused SLACK_APP_TOKEN ({error}); create an "
                        "app-level token with connections:write and turn Socket Mode on.")
            log.warning("apps.connections.open failed (%s); retrying in %.0fs", error, delay)
        except OSError as exc:
            log.warning("cannot reach Slack (%s); retrying in %.0fs", type(exc).__name__, delay)
        wait(delay)
        delay = min(delay * 2, 30.0)
    return None


def serve(settings: Settings, *, state: Gateway | None = None,
          stop: threading.Event | None = None, ping_interval: float = PING_INTERVAL) -> int:
    """Run the Socket Mode process until SIGTERM/SIGINT (or `stop`); the exit code."""
    problem = app_token_problem(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        refuse_published_secrets(settings, needs_signing_secret=False)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    # Every service's command declaration, checked now, as the HTTP gateway does.
    grammar.declarations()
    configure_logging("socket", settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if state is None:
        try:  # as the HTTP gateway does: one line, not a traceback per envelope
            require_database(settings, databases(settings))
        except DatabaseNotReady as exc:
            print(exc, file=sys.stderr)
            return 1
        state = build_gateway(settings)
    stopping = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
    gateway = SocketModeGateway(state, ping_interval=ping_interval)
    # The intake's counters (duplicates, broker refusals, confirm times) of this process.
    metrics_server = (MetricsServer(settings.metrics_port).start() if settings.metrics_port
                      else None)
    try:
        warm_up(state)
        refused = connect_until_stopped(gateway, stopping)
        if refused:
            print(refused, file=sys.stderr)
            return 1
        stopping.wait()
        log.info("stopping: closing the Socket Mode connection")
    finally:
        started = time.monotonic()
        gateway.close()
        state.publisher.close()
        if metrics_server is not None:
            metrics_server.stop()
        log.info("stopped in %.1fs", time.monotonic() - started)
    return 0
