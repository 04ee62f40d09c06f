"""Socket Mode: envelope → acknowledgement, against the HTTP gateway's answer to the same command.

Measured: a `/search` slash command envelope sent by the fake Socket Mode server until the
real `estafeta socket` process's acknowledgement arrives (the fake's own clock on both ends):
websocket frame, the client's threads, intake (grammar, Celery message, durable publish,
publisher confirm from the real broker), the acknowledgement frame with the ephemeral answer.

Baselines, same run, same broker vhost, same pace:
- `http_gateway`: the same slash command, signed, POSTed to `/slack/commands` of the real
  gateway (gunicorn) until its `200`: the same intake and confirm over the other transport.
  The ratio `socket_vs_http` says what choosing Socket Mode costs (or saves) on the ack path,
  which is what has to stay well inside Slack's 3 seconds.
- `echo`: the same builtin Socket Mode client acknowledging at once, without intake: the
  transport's floor. `socket_vs_echo` is what intake and the publisher confirm add to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kombu import Connection

import routing
from bench.stats import percentiles
from slacksim.fake_slack import FakeSlack
from slacksim.fake_socket import FakeSocketMode
from slacksim.signing import SlackSigner

ROOT = Path(__file__).resolve().parents[1]
APP_TOKEN = "xapp-1-ABENCH-bench-app-token"
BOT_TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"
TEAM = "T0001"


def _form(slack: FakeSlack, i: int) -> dict[str, str]:
    return {"token": "deprecated", "team_id": TEAM, "channel_id": "C0BENCH",
            "channel_name": "general", "user_id": "U0001", "command": "/search",
            "text": f"deploy failed {i}", "response_url": slack.response_url(),
            "trigger_id": f"trigger.bench.{uuid.uuid4().hex}"}


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def _paced_envelopes(server: FakeSocketMode, slack: FakeSlack, count: int,
                     rate: float) -> list[float]:
    """Send `count` slash command envelopes at `rate` per second (open loop); ack ms each."""
    sent = []
    for i in range(count):
        sent.append(server.slash_command(_form(slack, i)))
        time.sleep(1.0 / rate)
    acks = [server.wait_ack(envelope_id, timeout=30) for envelope_id in sent]
    return [ack.seconds * 1000 for ack in acks]


def _socket_mode(slack: FakeSlack, server: FakeSocketMode, args: list[str], env: dict[str, str],
                 log: Path, count: int, rate: float) -> list[float]:
    before = server.connections
    with _process(args, env, log) as process:
        deadline = time.monotonic() + 60
        while server.connections <= before:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[-1]} did not connect:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        server.wait_connected()
        _paced_envelopes(server, slack, 20, rate)  # warm-up: imports, store, broker link
        samples = _paced_envelopes(server, slack, count, rate)
        server.reset()
    return samples


def _http_gateway(slack: FakeSlack, env: dict[str, str], port: int, log: Path, count: int,
                  rate: float) -> list[float]:
    from bench.__main__ import _gunicorn

    signer = SlackSigner(SECRET)
    with _gunicorn("gateway:create_app()", env, port, log) as url:

        def one(i: int) -> float:
            body, headers = signer.slash_command("/search", f"deploy failed {i}",
                                                 response_url=slack.response_url(),
                                                 channel="C0BENCH")
            request = urllib.request.Request(f"{url}/slack/commands", data=body,
                                             headers=headers, method="POST")
            started = time.monotonic()
            urllib.request.urlopen(request, timeout=10).close()
            return (time.monotonic() - started) * 1000

        def paced(n: int) -> list[float]:
            with ThreadPoolExecutor(max_workers=32) as pool:
                futures = []
                for i in range(n):
                    futures.append(pool.submit(one, i))
                    time.sleep(1.0 / rate)
                return [f.result() for f in futures]

        paced(20)
        return paced(count)


def _purge(broker_url: str) -> None:
    with Connection(broker_url) as connection:
        for queue in routing.all_queues():
            queue(connection.default_channel).purge()


def run(broker_url: str, workdir: Path, count: int = 400, rate: float = 40.0) -> dict[str, Any]:
    """Envelope → ack of `estafeta socket`, the HTTP gateway's ack and a bare echo client."""
    with FakeSlack(token=BOT_TOKEN, team=TEAM) as slack, FakeSocketMode() as server:
        slack.socket_url = server.url
        slack.install(APP_TOKEN, TEAM)
        env = {"BROKER_URL": broker_url, "DATA_DIR": str(workdir / "socket-bench"),
               "SLACK_API_URL": slack.api_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": APP_TOKEN,
               "LOG_LEVEL": "WARNING"}
        estafeta = str(Path(sys.executable).with_name("estafeta"))
        socket_ms = _socket_mode(slack, server, [estafeta, "socket"], env,
                                 workdir / "socket-bench.log", count, rate)
        _purge(broker_url)
        http_ms = _http_gateway(slack, env, 18695, workdir / "socket-bench-http.log", count,
                                rate)
        _purge(broker_url)
        echo_ms = _socket_mode(slack, server,
                               [sys.executable, "-m", "bench.socket_bench", "echo"], env,
                               workdir / "socket-bench-echo.log", count, rate)
    socket_p, http_p, echo_p = (percentiles(s) for s in (socket_ms, http_ms, echo_ms))
    return {
        "envelopes": count,
        "rate_per_second": rate,
        "socket_ack_ms": socket_p,
        "http_gateway_ack_ms": http_p,
        "echo_ack_ms": echo_p,
        "socket_vs_http_p50": round(socket_p["p50"] / http_p["p50"], 2),
        "socket_vs_http_p99": round(socket_p["p99"] / http_p["p99"], 2),
        "socket_vs_echo_p50": round(socket_p["p50"] / echo_p["p50"], 2),
        "socket_vs_echo_p99": round(socket_p["p99"] / echo_p["p99"], 2),
        "within_3s": max(socket_ms) < 3000,
    }


def echo() -> int:
    """The baseline: the builtin client acknowledging every envelope at once, until SIGTERM."""
    import signal

    from slack_sdk.socket_mode.builtin import SocketModeClient
    from slack_sdk.socket_mode.response import SocketModeResponse
    from slack_sdk.web import WebClient

    client = SocketModeClient(app_token=os.environ["SLACK_APP_TOKEN"],
                              web_client=WebClient(base_url=os.environ["SLACK_API_URL"]),
                              ping_interval=2.0)

    def ack(client: Any, message: dict[str, Any], raw: str | None) -> None:
        if message.get("envelope_id"):
            client.send_socket_mode_response(SocketModeResponse(
                envelope_id=message["envelope_id"], payload={"text": "ok"}))

    client.message_listeners.append(ack)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client.connect()
    stop.wait()
    client.close()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["echo"]:
        sys.exit(echo())
    sys.exit("usage: python -m bench socket (this module runs the echo baseline: `echo`)")
