"""A fourth service, built from this test alone, answers through the gateway end to end.

What adding a service takes: its `Service` line in routing.py, its package (`commands.py`
declaring what it understands, handlers, `celery.py` building the worker) and one process
entry. The throwaway `echo` service below is all three, written under `tmp_path`; nothing in
the gateway or the grammar knows it beforehand.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import routing
import workers
from estafeta.settings import Settings
from gateway import create_app
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event
from tests.conftest import API_TOKEN
from tests.integration.broker import CeleryProcess, Vhost
from tests.integration.conftest import worker_env

# The service package, as it would be written in the repository's workers/echo/.
PACKAGE = {
    "__init__.py": '"""The echo service. Run: `celery -A workers.echo worker`."""\n',
    "commands.py": '''
"""What the echo service understands (a declaration: no effects)."""

from estafeta.grammar import ServiceCommands, Verb, Words

COMMANDS = ServiceCommands(
    service="echo",
    names=Words(en=("echo",), es=("eco",)),
    slash_command="/echo",
    verbs=(Verb("shout", Words(en=("shout",), es=("grita",))),),
    free_text_verb="say",
    help={"en": "*echo* – `/echo <text>` says it back; `/echo shout <text>` louder.",
          "es": "*eco* – `/echo <texto>` lo repite; `/echo grita <texto>` más fuerte."},
    overview={"en": "`echo <text>` – says it back", "es": "`eco <texto>` – lo repite"},
)
''',
    "handlers.py": '''
"""The echo service's handlers: pure functions of the command."""

from estafeta.grammar import Command
from estafeta.mrkdwn import escape
from estafeta.payloads import Context
from workers.replies import Reply
from workers.service import ServiceHandlers


def say(command: Command, context: Context) -> Reply:
    return Reply(f"echo: {escape(command.args)}", {"said": command.args})


def shout(command: Command, context: Context) -> Reply:
    return Reply(f"ECHO: {escape(command.args.upper())}", {"said": command.args.upper()})


def build_handlers() -> ServiceHandlers:
    return ServiceHandlers(commands={"say": say, "shout": shout})
''',
    "celery.py": '''
"""The Celery app of the echo service: `celery -A workers.echo worker` finds it here."""

from routing import SERVICES
from workers.app import create_worker_app
from workers.echo.handlers import build_handlers
from workers.service import register_service

ECHO = SERVICES["echo"]  # in the repository: `from routing import ECHO`
app = create_worker_app(ECHO)
register_service(app, ECHO, build_handlers())
''',
}

# The `Service` line a real service adds to routing.py.
ECHO = routing.Service("echo", default_priority=routing.Priority.INTERACTIVE, hears=False)

# Starts the worker process. A real service needs none of this: its package is in workers/
# and its line in routing.py; this one joins them from outside the repository.
BOOT = '''
import pathlib

import routing
import workers

workers.__path__.append(str(pathlib.Path(__file__).parent / "workers"))
routing.SERVICES["echo"] = routing.Service(
    "echo", default_priority=routing.Priority.INTERACTIVE, hears=False)

from workers.echo.celery import app  # noqa: E402
'''


@dataclass
class EchoStack:
    """The gateway and one worker of the throwaway service, on their own vhost."""

    client: FlaskClient
    worker: CeleryProcess


def _write_service(root: Path) -> Path:
    package = root / "workers" / "echo"
    package.mkdir(parents=True)
    for name, text in PACKAGE.items():
        (package / name).write_text(text.lstrip())
    (root / "echo_boot.py").write_text(BOOT.lstrip())
    return root


@pytest.fixture
def echo(rabbitmq: None, tmp_path: Path, fake_slack: FakeSlack,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[EchoStack]:
    """The echo service's worker and a gateway that knows it, both from the declarations."""
    root = _write_service(tmp_path / "src")
    # In this process (the gateway's) the same two steps as in BOOT: the line in routing.py
    # and the package in workers/.
    monkeypatch.setitem(routing.SERVICES, ECHO.name, ECHO)
    monkeypatch.setattr(workers, "__path__", [*workers.__path__, str(root / "workers")])
    vhost = Vhost("new-service")
    data_dir = tmp_path / "data"
    # No SLASH_COMMANDS: `/echo` comes from the service's own declaration.
    env = {**worker_env(vhost, data_dir, fake_slack), "PYTHONPATH": str(root)}
    worker = CeleryProcess(["-A", "echo_boot", "worker", "--loglevel=INFO", "--concurrency=1",
                            "--hostname=echo@%h", "--without-gossip", "--without-mingle",
                            "--without-heartbeat"], env, tmp_path / "echo-worker.log")
    app = create_app({"SETTINGS": Settings.from_env(env), "TESTING": True})
    try:
        fake_slack.wait_for(lambda: worker.process.poll() is not None
                            or vhost.consumers(ECHO.command_queue.name) > 0, timeout=30)
        assert vhost.consumers(ECHO.command_queue.name) == 1, worker.log()[-3000:]
        yield EchoStack(app.test_client(), worker)
    finally:
        app.extensions["estafeta"].publisher.close()
        worker.stop()
        vhost.delete()
        for name in [m for m in sys.modules if m == "workers.echo"
                     or m.startswith("workers.echo.")]:
            del sys.modules[name]


def _json(response: TestResponse) -> dict[str, Any]:
    body = response.get_json()
    assert isinstance(body, dict), response.data
    return body


def test_a_new_service_answers_a_mention_and_a_slash_command(
    echo: EchoStack, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    event = mention_event("eco grita hola <!here>", channel="C0ECHO")
    body, headers, _ = signer.event(event)
    assert echo.client.post("/slack/events", data=body, headers=headers).status_code == 200
    (post,) = fake_slack.wait_for(lambda: fake_slack.posted("C0ECHO"), timeout=20)
    assert post["text"] == "ECHO: HOLA &lt;!HERE&gt;" and post["thread_ts"] == event["ts"]

    url = fake_slack.response_url()
    body, headers = signer.slash_command("/echo", "hello there", response_url=url)
    response = echo.client.post("/slack/commands", data=body, headers=headers)
    assert response.status_code == 200 and _json(response)["response_type"] == "ephemeral"
    (answer,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=20)
    assert answer["text"] == "echo: hello there"

    # `help` is every service's, answered from its own declaration by its own worker.
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/echo", "ayuda", response_url=url)
    echo.client.post("/slack/commands", data=body, headers=headers)
    (answer,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=20)
    assert answer["text"].startswith("*eco* – `/echo <texto>` lo repite")
    assert echo.worker.log().count("echo.command[") >= 3


def test_the_http_api_and_the_general_help_know_the_new_service(
    echo: EchoStack, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    response = echo.client.post("/api/v1/commands/echo", json={"text": "shout hi"}, headers=auth)
    accepted = _json(response)
    assert response.status_code == 202 and accepted["verb"] == "shout"
    status = f"/api/v1/tasks/{accepted['task_id']}"

    def finished() -> dict[str, Any] | None:
        state = _json(echo.client.get(status, headers=auth))
        return state if state["state"] == "SUCCESS" else None

    done = fake_slack.wait_for(finished, timeout=20)
    assert done is not None and done["result"]["text"] == "ECHO: HI"
    # The general help is built from every declaration: the gateway's own answer to an
    # unknown slash command lists the new service without anyone writing it there.
    body, headers = signer.slash_command("/nope", "x", response_url=fake_slack.response_url())
    text = _json(echo.client.post("/slack/commands", data=body, headers=headers))["text"]
    assert "• `echo <text>` – says it back\n" in text
    assert "(`/search`, `/agenda`, `/mood`, `/echo`)" in text
