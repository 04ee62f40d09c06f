"""Socket Mode: envelopes go through intake, are acknowledged once accepted (with what the HTTP
answer would carry), left unacknowledged when nothing could be accepted, and the client
reconnects by itself."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import routing
from estafeta import cli
from estafeta.settings import Settings
from estafeta.stores import StoreUnavailable
from gateway import build_gateway
from gateway.recording import RecordingPublisher
from gateway.socket import Ack, SocketModeGateway, answer, connect_until_stopped, serve
from gateway.state import Gateway
from slacksim.fake_slack import FakeSlack
from slacksim.fake_socket import FakeSocketMode
from slacksim.signing import mention_event
from tests.conftest import TEAM

APP_TOKEN = "xapp-1-A0001-test-app-token"
_ids = iter(range(1, 1_000_000))


def _event_id() -> str:
    return f"EvSocket{time.time_ns()}{next(_ids)}"


def _event(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM, "api_app_id": "A0001",
            "event_id": event_id or _event_id(), "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}]}


def _command(fake_slack: FakeSlack, text: str = "deploy failed", **extra: str) -> dict[str, Any]:
    return {"token": "deprecated", "team_id": TEAM, "team_domain": "demo", "channel_id": "C0001",
            "channel_name": "general", "user_id": "U0001", "user_name": "ana",
            "command": "/search", "text": text, "api_app_id": "A0001",
            "is_enterprise_install": False, "response_url": fake_slack.response_url(),
            "trigger_id": f"trigger.socket.{time.time_ns()}.{next(_ids)}", **extra}


def _envelope(kind: str, payload: object, **extra: Any) -> dict[str, Any]:
    accepts = kind != "events_api"
    return {"envelope_id": f"env-{next(_ids)}", "type": kind, "payload": payload,
            "accepts_response_payload": accepts, **extra}


@pytest.fixture
def state(settings: Settings, publisher: RecordingPublisher) -> Iterator[Gateway]:
    """Gateway state publishing into the recording publisher, with an app token."""
    yield build_gateway(dataclasses.replace(settings, slack_app_token=APP_TOKEN),
                        publisher=publisher)
    publisher.close()


# -- envelopes, one by one -------------------------------------------------------------------

def test_a_slash_command_is_acked_with_its_ephemeral_answer_once_published(
        state: Gateway, publisher: RecordingPublisher, fake_slack: FakeSlack) -> None:
    envelope = _envelope("slash_commands", _command(fake_slack))
    ack = answer(state, envelope)
    assert ack == Ack(envelope["envelope_id"],
                      {"response_type": "ephemeral", "text": "Working on it…"})
    assert publisher.depth(routing.SEARCH.command_queue.name) == 1


def test_an_event_is_acked_without_payload_and_its_retry_is_published_once(
        state: Gateway, publisher: RecordingPublisher) -> None:
    payload = _event(mention_event("search deploy"))
    first = answer(state, _envelope("events_api", payload, retry_attempt=0, retry_reason=""))
    retry = answer(state, _envelope("events_api", payload, retry_attempt=1,
                                    retry_reason="timeout"))
    assert first is not None and first.payload is None
    assert retry is not None and retry.payload is None
    assert publisher.total_depth() == 1


def test_bad_input_is_acked_without_payload_and_logged_without_private_text(
        state: Gateway, publisher: RecordingPublisher, fake_slack: FakeSlack,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.socket")
    form = _command(fake_slack, text="my private words")
    del form["user_id"]
    outside = _command(fake_slack, text="my private words",
                       response_url="https://evil.example/private-path")
    click = {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U0001"},
             "trigger_id": "1.2.x", "actions": [{"action_id": "weather.private-words"}]}
    for envelope in (_envelope("slash_commands", form), _envelope("slash_commands", outside),
                     _envelope("interactive", click), _envelope("events_api", ["not", "a", "map"]),
                     _envelope("slash_commands", "a string")):
        assert answer(state, envelope) == Ack(envelope["envelope_id"])
    assert publisher.total_depth() == 0
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 5
    assert all("\n" not in line for line in refused)
    assert not any("private" in line or "evil" in line for line in refused)


def test_a_view_submission_with_errors_is_acked_with_them_and_not_published(
        state: Gateway, publisher: RecordingPublisher) -> None:
    submission = {"type": "view_submission", "team": {"id": TEAM}, "user": {"id": "U0001"},
                  "trigger_id": "1.2.v", "view": {
                      "id": "V1", "callback_id": "agenda.add", "private_metadata": "",
                      "state": {"values": {
                          "title": {"title": {"type": "plain_text_input", "value": ""}},
                          "date": {"date": {"type": "datepicker",
                                            "selected_date": "not a date"}}}}}}
    ack = answer(state, _envelope("interactive", submission))
    assert ack is not None and ack.payload is not None
    assert ack.payload["response_action"] == "errors" and ack.payload["errors"]
    assert publisher.total_depth() == 0


def test_nothing_is_acked_while_the_broker_is_down_and_the_redelivery_runs_once(
        state: Gateway, publisher: RecordingPublisher) -> None:
    payload = _event(mention_event("search deploy"))
    publisher.fail()
    assert answer(state, _envelope("events_api", payload)) is None
    publisher.recover()
    for attempt in (1, 2):
        ack = answer(state, _envelope("events_api", payload, retry_attempt=attempt))
        assert ack is not None
    assert publisher.total_depth() == 1


def test_nothing_is_acked_while_the_database_is_down(
        state: Gateway, publisher: RecordingPublisher) -> None:
    class Down:
        def __contains__(self, key: str) -> bool:
            raise StoreUnavailable("the database is unreachable")

        def claim(self, key: str) -> bool:
            raise StoreUnavailable("the database is unreachable")

        def discard(self, key: str) -> None:
            raise StoreUnavailable("the database is unreachable")

    down = dataclasses.replace(state, accepted_events=Down())  # type: ignore[arg-type]
    assert answer(down, _envelope("events_api", _event(mention_event("search x")))) is None
    assert publisher.total_depth() == 0


def test_unknown_envelopes_are_acked_and_ones_without_id_ignored(state: Gateway) -> None:
    assert answer(state, {"envelope_id": "e1", "type": "future_kind", "payload": {}}) == Ack("e1")
    assert answer(state, {"type": "events_api", "payload": {}}) is None


# -- over a websocket ------------------------------------------------------------------------

@pytest.fixture
def socket_server(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    """A fake Socket Mode server that the fake Slack's apps.connections.open points at."""
    with FakeSocketMode() as server:
        fake_slack.socket_url = server.url
        fake_slack.install(APP_TOKEN, TEAM)
        yield server
        fake_slack.socket_url = ""


@pytest.fixture
def connected(state: Gateway, socket_server: FakeSocketMode) -> Iterator[SocketModeGateway]:
    """The Socket Mode gateway, connected to the fake server (short pings: fast tests)."""
    gateway = SocketModeGateway(state, ping_interval=0.5)
    gateway.connect()
    assert gateway.wait_hello()
    yield gateway
    gateway.close()


def test_the_client_opens_its_connection_through_slack_api_url_with_the_app_token(
        connected: SocketModeGateway, fake_slack: FakeSlack) -> None:
    opened = fake_slack.calls_to("apps.connections.open")
    assert [c.token for c in opened] == [APP_TOKEN]


def test_a_slash_command_envelope_is_acked_in_time_with_its_answer(
        connected: SocketModeGateway, socket_server: FakeSocketMode,
        publisher: RecordingPublisher, fake_slack: FakeSlack) -> None:
    envelope_id = socket_server.slash_command(_command(fake_slack))
    ack = socket_server.wait_ack(envelope_id)
    assert ack.seconds < 1.0
    assert ack.payload == {"response_type": "ephemeral", "text": "Working on it…"}
    assert publisher.depth(routing.SEARCH.command_queue.name) == 1


def test_a_redelivered_envelope_is_acked_again_and_published_once(
        connected: SocketModeGateway, socket_server: FakeSocketMode,
        publisher: RecordingPublisher) -> None:
    envelope_id = socket_server.event(_event(mention_event("search deploy")))
    socket_server.wait_ack(envelope_id)
    socket_server.resend(envelope_id)
    second = socket_server.wait_ack(envelope_id, count=2)
    assert second.payload is None
    assert publisher.total_depth() == 1


def test_an_envelope_refused_by_the_broker_is_not_acked_until_it_can_be_published(
        connected: SocketModeGateway, socket_server: FakeSocketMode,
        publisher: RecordingPublisher) -> None:
    publisher.fail()
    envelope_id = socket_server.event(_event(mention_event("search deploy")))
    with pytest.raises(TimeoutError):
        socket_server.wait_ack(envelope_id, timeout=1.0)
    publisher.recover()
    socket_server.resend(envelope_id)
    socket_server.wait_ack(envelope_id)
    assert publisher.total_depth() == 1


@pytest.mark.parametrize("how", ["drop", "sever", "ask_to_disconnect"])
def test_the_client_reconnects_by_itself_and_keeps_working(
        how: str, connected: SocketModeGateway, socket_server: FakeSocketMode,
        publisher: RecordingPublisher, fake_slack: FakeSlack) -> None:
    getattr(socket_server, how)()
    socket_server.wait_connected(count=2, timeout=10)
    assert connected.wait_hello(count=2)
    assert len(fake_slack.calls_to("apps.connections.open")) >= 2  # a fresh URL each time
    envelope_id = socket_server.slash_command(_command(fake_slack))
    assert socket_server.wait_ack(envelope_id).payload is not None
    assert publisher.total_depth() == 1


def test_a_refused_app_token_is_one_clear_line(state: Gateway, socket_server: FakeSocketMode,
                                               fake_slack: FakeSlack) -> None:
    fake_slack.revoke(APP_TOKEN)
    gateway = SocketModeGateway(state)
    try:
        line = connect_until_stopped(gateway, threading.Event())
    finally:
        gateway.close()
    assert line is not None and "invalid_auth" in line and "\n" not in line
    assert APP_TOKEN not in line


def test_serve_logs_connected_and_stops_cleanly(
        state: Gateway, socket_server: FakeSocketMode,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.socket")
    stop = threading.Event()
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(
        serve(state.settings, state=state, stop=stop, ping_interval=0.5)))
    runner.start()
    socket_server.wait_connected()
    deadline = time.monotonic() + 5
    while not any("connected" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "no `connected` line"
        time.sleep(0.05)
    stop.set()
    runner.join(timeout=10)
    assert codes == [0]
    assert state.publisher.ping() is False  # closed on the way out


# -- the `estafeta socket` command -----------------------------------------------------------

@pytest.mark.parametrize("token", [None, "", "xoxb-a-bot-token"])
def test_estafeta_socket_refuses_to_start_without_an_app_token(
        token: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the project's
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    if token is not None:
        monkeypatch.setenv("SLACK_APP_TOKEN", token)
    assert cli.main(["socket"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("estafeta: SLACK_APP_TOKEN")
    assert "xapp-" in err
    if token:
        assert token not in err  # the value is never echoed


@pytest.mark.parametrize("ending", ["", "/", "//"])
def test_the_client_connects_whatever_slack_api_url_ends_with(
        ending: str, state: Gateway, socket_server: FakeSocketMode,
        fake_slack: FakeSlack) -> None:
    api_url = fake_slack.api_url.rstrip("/") + ending
    settings = dataclasses.replace(state.settings, slack_api_url=api_url)
    assert settings.slack_api_base == fake_slack.api_url.rstrip("/") + "/"
    gateway = SocketModeGateway(dataclasses.replace(state, settings=settings),
                                ping_interval=0.5)
    try:
        gateway.connect()
        assert gateway.wait_hello()
    finally:
        gateway.close()
    assert [c.token for c in fake_slack.calls_to("apps.connections.open")] == [APP_TOKEN]


def test_an_expired_app_token_is_one_clear_line_not_retried(
        state: Gateway, socket_server: FakeSocketMode, fake_slack: FakeSlack) -> None:
    fake_slack.expire(APP_TOKEN)
    gateway = SocketModeGateway(state)
    stop = threading.Event()
    waits: list[float] = []

    def sleep(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) >= 2:  # a retried refusal would go on for ever
            stop.set()
        return stop.is_set()

    try:
        line = connect_until_stopped(gateway, stop, sleep=sleep)
    finally:
        gateway.close()
    assert line is not None and "token_expired" in line and "\n" not in line
    assert waits == []
