"""The real `estafeta socket` process against a fake Socket Mode server and the real workers:
envelopes acknowledged in time with their answers, replies where Slack expects them,
redeliveries run once, and a connection the server closes replaced by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from slacksim.fake_slack import FakeSlack
from slacksim.fake_socket import FakeSocketMode
from slacksim.signing import mention_event
from tests.conftest import TEAM
from tests.integration.broker import ROOT
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

APP_TOKEN = "xapp-1-A0001-integration-app-token"
ESTAFETA = Path(sys.executable).with_name("estafeta")
_ids = iter(range(1, 1_000_000))
CONNECTED = "connected to Slack over Socket Mode"  # logged on each `hello`


class SocketProcess:
    """`estafeta socket` in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(ESTAFETA), "socket"], cwd=ROOT,
            env={**os.environ, **env, "SLACK_APP_TOKEN": APP_TOKEN},
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        """What the process logged so far."""
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, count: int = 1, timeout: float = 30) -> None:
        """Wait until `text` was logged `count` times."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.process.poll() is not None:
                raise RuntimeError(f"estafeta socket exited:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {text!r} logged:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def terminate(self, timeout: float = 15) -> int:
        """SIGTERM; the exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            raise
        finally:
            self._log.close()


@pytest.fixture(scope="module")
def socket_server(fake_slack_server: FakeSlack) -> Iterator[FakeSocketMode]:
    """The fake Socket Mode server, where the fake Slack's apps.connections.open points."""
    with FakeSocketMode() as server:
        fake_slack_server.socket_url = server.url
        fake_slack_server.install(APP_TOKEN, TEAM)
        yield server
        fake_slack_server.socket_url = ""


@pytest.fixture(scope="module")
def socket_process(stack: Stack, socket_server: FakeSocketMode) -> Iterator[SocketProcess]:
    """One `estafeta socket`, connected to the fake server, publishing to the stack."""
    process = SocketProcess(stack.env, stack.log_dir / "socket.log")
    try:
        socket_server.wait_connected(timeout=30)
        process.wait_log(CONNECTED)
        yield process
    finally:
        process.terminate()


@pytest.fixture
def socket_mode(socket_process: SocketProcess, socket_server: FakeSocketMode,
                fake_slack: FakeSlack) -> FakeSocketMode:
    """The connected server, no acknowledgement recorded; the app token accepted again
    (`fake_slack` forgot it), for the reconnections."""
    fake_slack.install(APP_TOKEN, TEAM)
    socket_server.reset()
    socket_server.wait_connected()
    return socket_server


def _form(fake_slack: FakeSlack, command: str, text: str) -> dict[str, Any]:
    return {"token": "deprecated", "team_id": TEAM, "team_domain": "demo", "channel_id": "C0SOCK",
            "channel_name": "general", "user_id": "U0001", "user_name": "ana",
            "command": command, "text": text, "api_app_id": "A0001",
            "is_enterprise_install": "false", "response_url": fake_slack.response_url(),
            "trigger_id": f"trigger.socket.{time.time_ns()}.{next(_ids)}"}


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM, "api_app_id": "A0001",
            "event_id": f"EvSock{time.time_ns()}{next(_ids)}",
            "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}]}


def _slash(server: FakeSocketMode, fake_slack: FakeSlack, command: str, text: str) -> str:
    form = _form(fake_slack, command, text)
    envelope_id = server.slash_command(form)
    ack = server.wait_ack(envelope_id, timeout=5)
    assert ack.seconds < 3.0, ack
    assert ack.payload == {"response_type": "ephemeral", "text": "Working on it…"}
    answers = fake_slack.wait_for(lambda: fake_slack.responses(form["response_url"]),
                                  timeout=20)
    assert len(answers) == 1
    return str(answers[0]["text"])


def test_a_slash_command_is_acked_in_time_and_answered_at_its_response_url(
        socket_mode: FakeSocketMode, fake_slack: FakeSlack) -> None:
    assert "/search help" in _slash(socket_mode, fake_slack, "/search", "help")
    assert "/mood analyze" in _slash(socket_mode, fake_slack, "/mood", "help")


def test_a_mention_is_acked_and_answered_in_its_thread(
        socket_mode: FakeSocketMode, fake_slack: FakeSlack) -> None:
    event = mention_event("ayuda", channel="C0SOCKM")
    envelope_id = socket_mode.event(_event(event))
    ack = socket_mode.wait_ack(envelope_id, timeout=5)
    assert ack.seconds < 3.0 and ack.payload is None
    posts = fake_slack.wait_for(lambda: fake_slack.posted("C0SOCKM"), timeout=20)
    assert len(posts) == 1
    assert posts[0]["thread_ts"] == event["ts"]
    assert "Estafeta* entiende" in posts[0]["text"]


def test_a_redelivered_envelope_is_answered_once(
        socket_mode: FakeSocketMode, fake_slack: FakeSlack) -> None:
    event = mention_event("help", channel="C0SOCKR")
    envelope_id = socket_mode.event(_event(event))
    socket_mode.wait_ack(envelope_id, timeout=5)
    socket_mode.resend(envelope_id, reason="timeout")
    socket_mode.resend(envelope_id, reason="timeout")
    socket_mode.wait_ack(envelope_id, count=3, timeout=5)
    fake_slack.wait_for(lambda: fake_slack.posted("C0SOCKR"), timeout=20)
    time.sleep(1.5)  # a second reply would be posted by now
    assert len(fake_slack.posted("C0SOCKR")) == 1


@pytest.mark.parametrize("how", ["drop", "ask_to_disconnect"])
def test_the_process_reconnects_by_itself_and_keeps_working(
        how: str, socket_mode: FakeSocketMode, socket_process: SocketProcess,
        fake_slack: FakeSlack) -> None:
    before = socket_mode.connections
    hellos = socket_process.log().count(CONNECTED)
    getattr(socket_mode, how)()
    socket_mode.wait_connected(count=before + 1, timeout=15)
    socket_process.wait_log(CONNECTED, count=hellos + 1, timeout=10)
    assert fake_slack.calls_to("apps.connections.open")  # a fresh URL for the new connection
    assert "/search help" in _slash(socket_mode, fake_slack, "/search", "help")


def test_sigterm_stops_the_process_cleanly(stack: Stack, socket_server: FakeSocketMode,
                                           fake_slack: FakeSlack, tmp_path: Path) -> None:
    fake_slack.install(APP_TOKEN, TEAM)
    before = socket_server.connections
    process = SocketProcess(stack.env, tmp_path / "socket.log")
    try:
        socket_server.wait_connected(count=before + 1, timeout=30)
        process.wait_log(CONNECTED)
    finally:
        started = time.monotonic()
        code = process.terminate()
    assert code == 0
    assert time.monotonic() - started < 10
    assert "Traceback" not in process.log()
