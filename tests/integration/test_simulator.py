"""The browser simulator's HTTP API against a real stack (a gunicorn gateway and a worker per
service on their own vhost): what people do on the page reaches the bot signed as Slack would
send it, and what the bot does comes back as the page's messages, files, modals and Home tab.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest

from slacksim.simulator import Simulator
from tests.conftest import BOT_TOKEN
from tests.integration.hosts import Host, HttpAnswer, http

pytestmark = pytest.mark.integration

T = TypeVar("T")
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def sim(simulated: tuple[Simulator, Host]) -> Simulator:
    """A simulator whose fake Slack is the Web API of one host (SQLite stores; started once
    for these tests and the browser's, `tests/conftest.py`)."""
    return simulated[0]


def post(sim: Simulator, path: str, body: dict[str, Any]) -> HttpAnswer:
    """A JSON POST to the simulator, as the page sends it."""
    return http("POST", sim.fake.base_url + path, json.dumps(body).encode(),
                {"Content-Type": "application/json"})


def state(sim: Simulator) -> dict[str, Any]:
    """What the page loads."""
    return http("GET", sim.fake.base_url + "/sim/state").json


def eventually(probe: Callable[[], T], timeout: float = TIMEOUT) -> T:
    """Wait until `probe()` is truthy; return it."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.2)
    return value


def bot_messages(sim: Simulator, *, user: str | None = None, has: str = "",
                 files: bool = False) -> list[dict[str, Any]]:
    """The bot's messages so far (those `user` may see, containing `has`)."""
    return [m for m in state(sim)["messages"] if m["user"] == "UBOT" and has in m["text"]
            and (user is None or m["visible_to"] in {None, user})
            and (not files or m["files"])]


class Events:
    """A reader of `/sim/events` on a plain socket: the frames, parsed, as they come."""

    def __init__(self, sim: Simulator) -> None:
        port = int(sim.fake.base_url.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.sendall(b"GET /sim/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.seen: list[tuple[str, Any]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        while chunk := self._recv():
            buffer += chunk
            *frames, buffer = buffer.split(b"\n\n")
            for frame in frames:
                lines = dict(line.split(": ", 1) for line in frame.decode().split("\n")
                             if line.startswith(("event: ", "data: ")))
                if "event" in lines:
                    self.seen.append((lines["event"], json.loads(lines["data"])))

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:  # hung up
            return b""

    def close(self) -> None:
        """Hang up."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self.sock.close()


def test_a_search_answer_and_a_mood_chart_come_back_live(sim: Simulator) -> None:
    events = Events(sim)
    try:
        word = f"zephyr{uuid.uuid4().hex[:6]}"
        said = post(sim, "/sim/say", {"user": "U0ANA", "channel": "C0GENERAL",
                                      "text": f"Great news: the {word} release shipped!"})
        assert said.json["ok"] is True and said.json["ack"]["status"] == 200
        for text in ("Thanks all, lovely work", "The build broke again, awful"):
            post(sim, "/sim/say", {"user": "U0LUIS", "channel": "C0GENERAL", "text": text})

        def found() -> list[dict[str, Any]]:
            answer = post(sim, "/sim/say", {"user": "U0ANA", "channel": "C0GENERAL",
                                            "text": f"/search {word}"}).json
            assert answer["ok"] is True and answer["message"] is None
            time.sleep(1.0)
            return bot_messages(sim, user="U0ANA", has=word)

        (result, *_) = eventually(found)
        assert result["ephemeral"] and result["visible_to"] == "U0ANA"
        assert result["channel"] == "C0GENERAL"
        assert ("message", result) in events.seen or any(
            name == "message_changed" and data["id"] == result["id"] for name, data in events.seen)
        assert any(name == "call" and data["method"] == "response_url"
                   for name, data in events.seen)

        # The simulator is shared with the browser tests: only this test's chart counts.
        earlier = {m["id"] for m in bot_messages(sim, files=True)}

        def chart() -> list[dict[str, Any]]:
            post(sim, "/sim/say", {"user": "U0ANA", "channel": "C0GENERAL", "text": "/mood"})
            time.sleep(1.0)
            return [m for m in bot_messages(sim, files=True) if m["id"] not in earlier]

        (shared, *_) = eventually(chart)
        assert shared["channel"] == "D0ANA"  # a slash command's chart is private
        (image,) = shared["files"]
        assert image["image"] is True and image["mimetype"] == "image/png"
        fetched = http("GET", sim.fake.base_url + image["url"])
        assert fetched.status == 200 and fetched.header("Content-Type") == "image/png"
        assert fetched.body.startswith(b"\x89PNG")
        # The calls panel: the upload's parts, with no token anywhere.
        methods = [c["method"] for c in state(sim)["calls"]]
        assert {"files.getUploadURLExternal", "upload",
                "files.completeUploadExternal"} <= set(methods)
        assert BOT_TOKEN not in json.dumps(state(sim)["calls"])
    finally:
        events.close()


def test_agenda_modal_opens_submits_and_confirms_and_home_is_published(
        sim: Simulator) -> None:
    events = Events(sim)
    try:
        answer = post(sim, "/sim/say", {"user": "U0MARTA", "channel": "C0RANDOM",
                                        "text": "/agenda"}).json
        assert answer["ok"] is True
        opened = eventually(lambda: [d for n, d in events.seen if n == "modal_open"])[0]
        assert opened["user"] == "U0MARTA" and opened["view"]["callback_id"] == "agenda.add"
        view_id = opened["view_id"]
        assert state(sim)["modals"]["U0MARTA"]["view_id"] == view_id

        tomorrow = (date.today() + timedelta(days=2)).isoformat()
        bad = post(sim, "/sim/submit", {"user": "U0MARTA", "view_id": view_id, "values": {
            "title": {"title": {"type": "plain_text_input", "value": " "}}}}).json
        assert bad["ok"] is False and "title" in bad["errors"]
        values = {
            "title": {"title": {"type": "plain_text_input", "value": "Retro <1> & cake"}},
            "date": {"date": {"type": "datepicker", "selected_date": tomorrow}},
            "time": {"time": {"type": "timepicker", "selected_time": "16:45"}},
            "repeat": {"repeat": {"type": "static_select",
                                  "selected_option": {"value": "none"}}},
        }
        done = post(sim, "/sim/submit", {"user": "U0MARTA", "view_id": view_id,
                                         "values": values}).json
        assert done["ok"] is True, done
        eventually(lambda: ("modal_close", {"user": "U0MARTA", "view_id": view_id})
                   in events.seen)
        (confirmation, *_) = eventually(lambda: bot_messages(sim, user="U0MARTA",
                                                             has="Retro &lt;1&gt; &amp; cake"))
        assert confirmation["channel"] == "C0RANDOM" and confirmation["visible_to"] == "U0MARTA"

        assert post(sim, "/sim/home", {"user": "U0MARTA"}).json["ok"] is True
        home = eventually(lambda: [d for n, d in events.seen if n == "home"])[0]
        assert home["user"] == "U0MARTA" and home["view"]["type"] == "home"
        assert "Retro &lt;1&gt; &amp; cake" in json.dumps(home["view"]["blocks"])
        assert state(sim)["homes"]["U0MARTA"]["id"] == "VHOME"
    finally:
        events.close()


def test_a_direct_message_to_the_bot_is_answered_in_the_dm(sim: Simulator) -> None:
    said = post(sim, "/sim/say", {"user": "U0LUIS", "channel": "D0LUIS", "text": "ayuda"}).json
    assert said["ok"] is True and said["message"]["channel"] == "D0LUIS"
    (answer, *_) = eventually(lambda: [m for m in bot_messages(sim, user="U0LUIS")
                                       if m["channel"] == "D0LUIS" and "entiende" in m["text"]])
    assert answer["thread_ts"] is None and answer["ephemeral"] is False
