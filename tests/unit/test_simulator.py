"""The browser simulator's server: what it signs and sends to the gateway, where each call of
the bot lands in the timeline, what the calls panel may show, and its HTTP edges."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from estafeta.settings import Settings
from slacksim.fake_slack import Call
from slacksim.simulator import Simulator
from slacksim.web import allowed_hosts, sse_frame, static_file
from slacksim.workspace import Subscriber, redact, slack_escape
from tests.integration.hosts import HttpAnswer, http

SECRET = "unit-simulator-secret"


class Gateway:
    """A stand-in gateway: checks each signature, records the request, answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, tuple[int, Any]] = {}
        verifier = SignatureVerifier(SECRET)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                assert verifier.is_valid(raw, self.headers["X-Slack-Request-Timestamp"],
                                         self.headers["X-Slack-Signature"])
                if self.path == "/slack/events":
                    body = json.loads(raw)
                else:
                    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    body = json.loads(form["payload"]) if "payload" in form else form
                gateway.received.append((self.path, body))
                status, answer = gateway.answers.get(self.path, (200, {"ok": True}))
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """One stand-in gateway for the module."""
    gateway = Gateway()
    yield gateway
    gateway.server.shutdown()
    gateway.server.server_close()


@pytest.fixture(scope="module")
def server(gateway: Gateway) -> Iterator[Simulator]:
    """A simulator serving on a free port, talking to the stand-in gateway."""
    settings = Settings.from_env({"SLACK_SIGNING_SECRET": SECRET,
                                  "SLACK_BOT_TOKEN": "xoxb-unit-token"})
    with Simulator(settings, gateway.url) as simulator:
        yield simulator


@pytest.fixture
def sim(server: Simulator, gateway: Gateway) -> Simulator:
    """The module's simulator, with nothing said or called yet."""
    gateway.received.clear()
    gateway.answers.clear()
    server.reset()
    server.gateway_url = gateway.url
    return server


def post(sim: Simulator, path: str, body: Any, headers: dict[str, str] | None = None
         ) -> HttpAnswer:
    """A JSON POST to the simulator."""
    return http("POST", sim.fake.base_url + path, json.dumps(body).encode(),
                {"Content-Type": "application/json", **(headers or {})})


def drain(subscriber: Subscriber) -> list[tuple[str, Any]]:
    """The events queued for `subscriber` so far."""
    found = []
    while not subscriber.queue.empty():
        item = subscriber.queue.get_nowait()
        if item is not None:
            found.append(item)
    return found


def bot_call(sim: Simulator, method: str, params: dict[str, Any],
             answer: dict[str, Any] | None = None, path: str = "") -> None:
    """What the fake hands its listeners for one answered Web API call."""
    sim.workspace.observe(Call(method, params, path or f"/api/{method}", token="xoxb-unit-token",
                               team="T0DEMO", answer=answer or {"ok": True}))


def test_people_text_is_escaped_as_slack_does_and_the_bot_mention_recognised() -> None:
    assert slack_escape("a <b> & @estafeta, <@UBOT>") == "a &lt;b&gt; &amp; <@UBOT>, <@UBOT>"
    assert slack_escape("ana@estafeta.com") == "ana@estafeta.com"


def test_the_calls_panel_never_shows_a_credential_or_file_bytes() -> None:
    shown = redact({"token": "xoxb-1", "channel": "C1", "nested": [{"Authorization": "B x",
                    "client_secret": "s", "refresh_token": "r", "ok": 1}], "content": b"abc"})
    assert shown == {"channel": "C1", "nested": [{"ok": 1}], "content": {"bytes": 3}}


def test_sse_frames_are_one_event_line_and_one_data_line() -> None:
    frame = sse_frame("message", {"text": "two\nlines\r\n", "x": "é"})
    assert frame.endswith(b"\n\n")
    lines = frame.decode().split("\n")
    assert lines[0] == "event: message" and lines[1].startswith("data: ")
    assert lines[2:] == ["", ""]
    assert json.loads(lines[1][len("data: "):]) == {"text": "two\nlines\r\n", "x": "é"}


@pytest.mark.parametrize("name", ["../fake_slack.py", "..", ".hidden", "a/b.js",
                                  "%2e%2e%2fweb.py", "web.py", "index.html/."])
def test_no_static_name_leaves_the_page_directory(name: str) -> None:
    assert static_file(name) is None


def test_the_page_and_its_script_are_served_with_their_types(sim: Simulator) -> None:
    page = http("GET", sim.url)
    assert page.status == 200 and (page.header("Content-Type") or "").startswith("text/html")
    assert "script-src 'self'" in (page.header("Content-Security-Policy") or "")
    script = http("GET", sim.fake.base_url + "/static/app.js")
    assert script.status == 200
    assert (script.header("Content-Type") or "").startswith("text/javascript")
    for path in ("/static/../fake_slack.py", "/static/%2e%2e/web.py", "/static/nope.js",
                 "/sim/nothing", "/static/"):
        answer = http("GET", sim.fake.base_url + path)
        assert answer.status == 404 and answer.json["ok"] is False, path
    # The Web API itself is as it was.
    assert http("GET", sim.fake.api_url + "auth.test").json["error"] == "invalid_auth"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/"), ("GET", "/static/app.js"), ("GET", "/sim/state"), ("GET", "/sim/events"),
    ("GET", "/sim/files/F1"), ("POST", "/sim/say"), ("POST", "/sim/home")])
def test_a_rebinding_page_naming_another_host_is_refused_on_every_path(
        sim: Simulator, gateway: Gateway, method: str, path: str) -> None:
    port = sim.fake.base_url.rsplit(":", 1)[1]
    body = json.dumps({"user": "U0ANA", "channel": "C0GENERAL", "text": "hi"}).encode()
    headers = {"Content-Type": "application/json", "Origin": f"http://evil.test:{port}"}
    for host in (f"evil.test:{port}", "evil.test", f"127.0.0.1.evil.test:{port}"):
        answer = http(method, sim.fake.base_url + path, body if method == "POST" else None,
                      {**headers, "Host": host})
        assert answer.status == 421 and answer.json == {"ok": False, "error": "unknown_host"}
    assert gateway.received == [] and sim.workspace.state()["messages"] == []
    # The page's own names still work, and the Web API answers whatever host is named.
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert http("GET", sim.fake.base_url + "/sim/state", None, {"Host": host}).status == 200
    said = post(sim, "/sim/say", {"user": "U0ANA", "channel": "C0GENERAL", "text": "hi"},
                {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})
    assert said.status == 200 and said.json["ok"] is True
    api = http("POST", sim.fake.api_url + "auth.test", None, {"Host": f"evil.test:{port}"})
    assert api.json["error"] == "invalid_auth"


def test_the_hosts_allowed_are_loopback_names_and_an_explicit_bound_address() -> None:
    assert allowed_hosts(("0.0.0.0", 8089)) == {
        "127.0.0.1:8089", "localhost:8089", "[::1]:8089", "127.0.0.1", "localhost", "[::1]"}
    assert {"10.1.2.3:8089"} < allowed_hosts(("10.1.2.3", 8089))
    assert "10.1.2.3" not in allowed_hosts(("10.1.2.3", 8089))
    assert {"10.1.2.3", "[fe80::1]:80"} < allowed_hosts(("10.1.2.3", 80)) | allowed_hosts(
        ("fe80::1", 80))


def test_a_message_is_shown_at_once_and_sent_as_a_signed_event_and_mention(
        sim: Simulator, gateway: Gateway) -> None:
    subscriber = sim.workspace.subscribe()
    answer = post(sim, "/sim/say", {"user": "U0ANA", "channel": "C0GENERAL",
                                    "text": "hi @estafeta <b>"})
    assert answer.status == 200 and answer.json["ok"] is True
    message = answer.json["message"]
    assert message["text"] == "hi <@UBOT> &lt;b&gt;" and message["user"] == "U0ANA"
    assert drain(subscriber)[0] == ("message", message)
    (_, first), (_, second) = gateway.received
    assert first["type"] == "event_callback" and first["team_id"] == "T0DEMO"
    assert first["event"] == {"type": "message", "channel": "C0GENERAL", "user": "U0ANA",
                              "text": message["text"], "ts": message["ts"], "team": "T0DEMO",
                              "event_ts": message["ts"], "channel_type": "channel"}
    assert second["event"]["type"] == "app_mention" and second["event_id"] != first["event_id"]
    assert second["event"]["ts"] == message["ts"]
    # In a direct conversation: a message event only.
    gateway.received.clear()
    post(sim, "/sim/say", {"user": "U0ANA", "channel": "D0ANA", "text": "@estafeta help"})
    assert [b["event"]["channel_type"] for _, b in gateway.received] == ["im"]


def test_a_slash_command_is_signed_with_a_response_url_back_here(
        sim: Simulator, gateway: Gateway) -> None:
    gateway.answers["/slack/commands"] = (200, {"response_type": "ephemeral",
                                                "text": "Working on it…"})
    answer = post(sim, "/sim/say", {"user": "U0LUIS", "channel": "G0LEADS",
                                    "text": "/search a & b"}).json
    assert answer["ok"] is True and answer["message"] is None
    assert answer["ack"] == {"status": 200, "body": {"response_type": "ephemeral",
                                                     "text": "Working on it…"}}
    ((path, form),) = gateway.received
    assert path == "/slack/commands"
    assert form["command"] == "/search" and form["text"] == "a &amp; b"
    assert form["channel_name"] == "privategroup" and form["team_id"] == "T0DEMO"
    assert form["response_url"].startswith(sim.fake.base_url + "/response/")
    (ack,) = sim.workspace.state()["messages"]
    assert ack["ephemeral"] and ack["visible_to"] == "U0LUIS" and ack["user"] == "UBOT"
    # The bot's answer to that response_url: an ephemeral for the same person and channel.
    bot_call(sim, "response_url", {"text": "Found 1"}, path=form["response_url"].split(
        sim.fake.base_url)[1])
    last = sim.workspace.state()["messages"][-1]
    assert (last["text"], last["channel"], last["visible_to"]) == ("Found 1", "G0LEADS",
                                                                   "U0LUIS")


def test_a_button_click_is_a_block_actions_payload_whose_answer_replaces_the_message(
        sim: Simulator, gateway: Gateway) -> None:
    button = {"type": "button", "action_id": "search.more", "value": "page-2",
              "text": {"type": "plain_text", "text": "Next results"}}
    bot_call(sim, "chat.postEphemeral", {"channel": "C0GENERAL", "user": "U0ANA",
                                         "text": "results", "blocks": [
                                             {"type": "actions", "block_id": "search.buttons",
                                              "elements": [button]}]},
             answer={"ok": True, "message_ts": "1.000001"})
    (shown,) = sim.workspace.state()["messages"]
    # Only its person may click an ephemeral.
    assert post(sim, "/sim/action", {"user": "U0LUIS", "message_id": shown["id"],
                                     "action_id": "search.more"}).status == 400
    answer = post(sim, "/sim/action", {"user": "U0ANA", "message_id": shown["id"],
                                       "action_id": "search.more", "value": "forged"}).json
    assert answer["ok"] is True
    ((path, payload),) = gateway.received
    assert path == "/slack/interactions" and payload["type"] == "block_actions"
    assert payload["actions"][0]["value"] == "page-2"  # the button's own, not the page's
    assert payload["actions"][0]["block_id"] == "search.buttons"
    assert payload["container"] == {"type": "message", "message_ts": "1.000001",
                                    "channel_id": "C0GENERAL", "is_ephemeral": True}
    assert payload["user"]["id"] == "U0ANA" and payload["team"]["id"] == "T0DEMO"
    assert payload["trigger_id"] and payload["response_url"].startswith(sim.fake.base_url)
    subscriber = sim.workspace.subscribe()
    bot_call(sim, "response_url", {"text": "page 2", "replace_original": True},
             path="/" + payload["response_url"].split("/", 3)[3])
    events = [e for e in drain(subscriber) if e[0] != "call"]
    assert events == [("message_changed", {**shown, "text": "page 2", "blocks": None})]


def test_a_modal_opened_with_a_trigger_is_that_persons_and_its_submission_closes_it(
        sim: Simulator, gateway: Gateway) -> None:
    sim.workspace.trigger("trigger.x", "U0MARTA")
    view = {"type": "modal", "callback_id": "agenda.add", "private_metadata": "{}",
            "title": {"type": "plain_text", "text": "Add"}, "blocks": []}
    subscriber = sim.workspace.subscribe()
    bot_call(sim, "views.open", {"trigger_id": "trigger.x", "view": view},
             answer={"ok": True, "view": {"id": "V1", **view}})
    opened = [e for e in drain(subscriber) if e[0] == "modal_open"]
    assert opened == [("modal_open", {"user": "U0MARTA", "view_id": "V1",
                                      "view": {**view, "id": "V1"}})]
    assert sim.workspace.state()["modals"]["U0MARTA"]["view_id"] == "V1"
    values = {"title": {"title": {"type": "plain_text_input", "value": "x"}}}
    gateway.answers["/slack/interactions"] = (200, {"response_action": "errors",
                                                    "errors": {"title": "Too short"}})
    assert post(sim, "/sim/submit", {"user": "U0ANA", "view_id": "V1",
                                     "values": values}).status == 400  # not hers
    answer = post(sim, "/sim/submit", {"user": "U0MARTA", "view_id": "V1", "values": values})
    assert answer.json["ok"] is False and answer.json["errors"] == {"title": "Too short"}
    assert "U0MARTA" in sim.workspace.state()["modals"]
    gateway.answers["/slack/interactions"] = (200, None)
    assert post(sim, "/sim/submit", {"user": "U0MARTA", "view_id": "V1",
                                     "values": values}).json["ok"] is True
    payload = gateway.received[-1][1]
    assert payload["type"] == "view_submission" and payload["view"]["id"] == "V1"
    assert payload["view"]["callback_id"] == "agenda.add"
    assert payload["view"]["state"] == {"values": values}
    assert ("modal_close", {"user": "U0MARTA", "view_id": "V1"}) in drain(subscriber)
    assert sim.workspace.state()["modals"] == {}


def test_files_home_and_every_call_land_where_slack_shows_them(sim: Simulator) -> None:
    sim.fake.files["F1"] = {"id": "F1", "filename": "mood.png", "length": 3,
                            "content": b"PNG", "completed": True}
    sim.fake.files["F2"] = {"id": "F2", "filename": 'a"b.ics', "length": 2,
                            "content": b"IC", "completed": True}
    bot_call(sim, "files.completeUploadExternal", {
        "files": [{"id": "F1", "title": "Mood"}, {"id": "F2"}], "channel_id": "C0RANDOM",
        "initial_comment": "Here", "thread_ts": "5.5"})
    bot_call(sim, "views.publish", {"user_id": "U0ANA", "view": {"type": "home",
                                                                  "blocks": []}})
    bot_call(sim, "chat.postMessage!not_in_channel", {"channel": "C9", "text": "no",
                                                      "token": "xoxb-unit-token"})
    state = sim.workspace.state()
    (shared,) = state["messages"]
    assert shared["text"] == "Here" and shared["thread_ts"] == "5.5"
    assert [(f["url"], f["mimetype"], f["image"]) for f in shared["files"]] == [
        ("/sim/files/F1", "image/png", True), ("/sim/files/F2", "text/calendar", False)]
    assert state["homes"] == {"U0ANA": {"type": "home", "blocks": [], "id": "VHOME"}}
    assert [(c["method"], c["ok"]) for c in state["calls"]] == [
        ("files.completeUploadExternal", True), ("views.publish", True),
        ("chat.postMessage!not_in_channel", False)]
    assert "token" not in state["calls"][-1]["params"]
    image = http("GET", sim.fake.base_url + "/sim/files/F1")
    assert image.body == b"PNG" and image.header("Content-Type") == "image/png"
    assert image.header("Content-Disposition") == "inline"
    assert image.header("X-Content-Type-Options") == "nosniff"
    calendar = http("GET", sim.fake.base_url + "/sim/files/F2")
    assert calendar.header("Content-Type") == "text/calendar"
    assert calendar.header("Content-Disposition") == 'attachment; filename="a_b.ics"'
    assert http("GET", sim.fake.base_url + "/sim/files/F404").status == 404


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"{", {"Content-Type": "application/json"}, 400),
    (b"[]", {"Content-Type": "application/json"}, 400),
    (b'{"user": "U0ANA"}', {"Content-Type": "text/plain"}, 400),
    (b'{"user": "U0NOBODY", "channel": "C0GENERAL", "text": "x"}',
     {"Content-Type": "application/json"}, 400),
    (b'{"user": "U0ANA", "channel": "D0LUIS", "text": "x"}',
     {"Content-Type": "application/json"}, 400),
    (b'{"user": "U0ANA", "channel": "C0GENERAL", "text": ""}',
     {"Content-Type": "application/json"}, 400),
    (b'{"user": "U0ANA", "channel": "C0GENERAL", "text": "x", "thread_ts": "1.1"}',
     {"Content-Type": "application/json"}, 400),
    (b'{"user": "U0ANA", "channel": "C0GENERAL", "text": "/nope"}',
     {"Content-Type": "application/json"}, 400),
    (b'{"user": "U0ANA", "channel": "C0GENERAL", "text": "x"}',
     {"Content-Type": "application/json", "Origin": "http://evil.example"}, 403),
])
def test_bad_input_is_a_json_4xx_and_nothing_is_sent(sim: Simulator, gateway: Gateway,
                                                     body: bytes, headers: dict[str, str],
                                                     status: int) -> None:
    answer = http("POST", sim.fake.base_url + "/sim/say", body, headers)
    assert answer.status == status and answer.json["ok"] is False
    assert gateway.received == [] and sim.workspace.state()["messages"] == []


def test_a_body_over_one_mebibyte_is_refused_unread(sim: Simulator) -> None:
    with socket.create_connection(("127.0.0.1", int(sim.fake.base_url.rsplit(":", 1)[1]))) as s:
        s.sendall(b"POST /sim/say HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 2000000\r\n\r\n{")
        reply = ""
        while "body_too_large" not in reply and (chunk := s.recv(4096)):
            reply += chunk.decode()
    assert reply.startswith("HTTP/1.1 413") and "body_too_large" in reply


def test_a_gateway_that_refuses_or_is_down_is_a_notice_never_a_500(
        sim: Simulator, gateway: Gateway) -> None:
    subscriber = sim.workspace.subscribe()
    gateway.answers["/slack/events"] = (401, {"ok": False, "error": "invalid_signature"})
    answer = post(sim, "/sim/say", {"user": "U0ANA", "channel": "C0GENERAL", "text": "hi"})
    assert answer.status == 200 and answer.json["ok"] is False
    assert answer.json["ack"]["status"] == 401
    sim.gateway_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    answer = post(sim, "/sim/home", {"user": "U0ANA"})
    assert answer.status == 200 and answer.json == {
        "ok": False, "ack": {"status": 503, "body": None, "error": "gateway_unreachable"}}
    notices = [data for name, data in drain(subscriber) if name == "notice"]
    assert "401" in notices[0]["text"] and "invalid_signature" in notices[0]["text"]
    assert "No gateway" in notices[1]["text"]


def test_the_event_stream_is_framed_and_a_subscriber_that_falls_behind_is_dropped(
        sim: Simulator) -> None:
    port = int(sim.fake.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /sim/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = b""
        while b"connected\n\n" not in head:
            head += s.recv(4096)
        assert b"text/event-stream" in head and b"retry: 2000" in head
        sim.workspace.notice("hello", "info")
        data = b""
        while not data.endswith(b"\n\n"):
            data += s.recv(4096)
        assert data == b'event: notice\ndata: {"text":"hello","level":"info"}\n\n'
    stuck = sim.workspace.subscribe()
    for n in range(stuck.queue.maxsize + 1):
        sim.workspace.notice(str(n))
    assert stuck.closed and stuck not in sim.workspace._subscribers
