"""`make demo`: a scripted conversation with a running gateway, through a simulated Slack."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from estafeta.settings import Settings
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event, message_event

CHANNEL = "C0DEMO"
TEAM = "T0DEMO"

HEARD = [
    ("U0ANA", "The deploy failed again on staging, the database migration timed out"),
    ("U0LUIS", "Great job on the release yesterday, everyone! Customers love it"),
    ("U0ANA", "El despliegue de hoy falló otra vez, qué desastre"),
]
SCRIPT = [
    ("slash", "/search", "deploy"),
    ("slash", "/mood", "analyze I really love how fast this team ships"),
    ("mention", "", "mood"),
    ("mention", "", "busca despliegue"),
    ("slash", "/agenda", "help"),
    ("mention", "", "ayuda"),
]


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _posted_since(slack: FakeSlack, count: int) -> list[dict[str, Any]]:
    return slack.posted()[count:]


def run_demo(settings: Settings, gateway_url: str | None) -> int:
    """Play the script against the gateway and print what the bot answered."""
    gateway_url = (gateway_url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    if not settings.slack_signing_secret:
        print("demo: set SLACK_SIGNING_SECRET to the gateway's signing secret", file=sys.stderr)
        return 2
    api = urlsplit(settings.slack_api_url)
    if api.hostname not in {"127.0.0.1", "localhost"}:
        print(f"demo: SLACK_API_URL must point at this machine (it is {settings.slack_api_url});"
              " `make run` sets it for you", file=sys.stderr)
        return 2
    try:
        urllib.request.urlopen(f"{gateway_url}/healthz", timeout=2).close()
    except OSError:
        print(f"demo: no gateway at {gateway_url}; start everything with `make run` first",
              file=sys.stderr)
        return 2
    signer = SlackSigner(settings.slack_signing_secret)
    with FakeSlack(host=api.hostname or "127.0.0.1", port=api.port or 80,
                   token=settings.slack_bot_token or "xoxb-fake-token", team=TEAM) as slack:
        print(f"Simulated Slack at {slack.api_url}, talking to the gateway at {gateway_url}\n")
        for user, text in HEARD:
            body, headers, _ = signer.event(message_event(text, channel=CHANNEL, user=user),
                                            team=TEAM)
            _post(f"{gateway_url}/slack/events", body, headers)
            print(f"#{CHANNEL} <{user}> {text}")
        time.sleep(1.5)  # heard messages are indexed and scored in the background
        for kind, command, text in SCRIPT:
            print()
            if kind == "slash":
                url = slack.response_url()
                body, headers = signer.slash_command(command, text, response_url=url,
                                                     team=TEAM, channel=CHANNEL)
                status, ack = _post(f"{gateway_url}/slack/commands", body, headers)
                print(f"you › {command} {text}\n  (ack {status}: {ack.strip()})")
                try:
                    answer = slack.wait_for(partial(slack.responses, url), timeout=15)
                    print("bot › " + answer[0].get("text", "").replace("\n", "\n      "))
                except TimeoutError:
                    print("bot › (no answer within 15 s: are the workers running?)")
            else:
                before = len(slack.posted())
                body, headers, _ = signer.event(mention_event(text, channel=CHANNEL),
                                                team=TEAM)
                status, _ = _post(f"{gateway_url}/slack/events", body, headers)
                print(f"you › @estafeta {text}  (ack {status})")
                try:
                    posts = slack.wait_for(partial(_posted_since, slack, before), timeout=15)
                    print("bot › " + posts[0].get("text", "").replace("\n", "\n      "))
                except TimeoutError:
                    print("bot › (no answer within 15 s: are the workers running?)")
    return 0
