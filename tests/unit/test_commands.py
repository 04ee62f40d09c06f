"""Each service declares its commands in a module without effects; its handlers match them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery

import routing
from estafeta import grammar
from estafeta.grammar import Command, ServiceCommands, Verb, Words
from estafeta.payloads import Context
from workers.replies import Reply
from workers.service import HandlersMismatch, ServiceHandlers, check_handlers, register_service

ROOT = Path(__file__).resolve().parents[2]

LOADED = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
                        {"workers", "celery", "slack_sdk", "sqlite3", "flask", "gateway"})))
"""


@pytest.mark.parametrize("service", sorted(routing.SERVICES))
def test_a_declaration_imports_no_worker_code(service: str, tmp_path: Path) -> None:
    # A fresh interpreter: this one has imported worker code already.
    done = subprocess.run(
        [sys.executable, "-c", LOADED, grammar.commands_module(service)], cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    # `workers.startup` only reads the command line (it acts for a `celery worker` alone).
    assert loaded == sorted(["workers", "workers.startup", f"workers.{service}",
                             f"workers.{service}.commands"])


@pytest.mark.parametrize("service", sorted(routing.SERVICES))
def test_every_service_declares_its_commands(service: str) -> None:
    declared = grammar.declaration(service)
    assert declared.service == service
    # Every interaction id names its service first: no two services can claim one.
    assert all(i.startswith(f"{service}.") for i in declared.interaction_ids)
    assert declared.handled_verbs  # something for its handlers to answer


def _reply(command: Command, context: Context) -> Reply:
    return Reply("ok")


ECHO = ServiceCommands(
    service="search", names=Words(en=("echo",)), slash_command="/echo",
    help={"en": "echo help", "es": "ayuda de echo"}, overview={"en": "echo", "es": "eco"},
    verbs=(Verb("shout", Words(en=("shout",))),), free_text_verb="say",
)


def test_matching_handlers_pass_the_check() -> None:
    check_handlers("search", ECHO, ServiceHandlers(commands={"say": _reply, "shout": _reply}))
    # help and overview are everyone's: a service may answer them itself, or not.
    check_handlers("search", ECHO, ServiceHandlers(
        commands={"say": _reply, "shout": _reply, "help": _reply}))


def _app() -> Celery:
    return Celery("test-commands", set_as_current=False)


def test_a_declared_verb_without_a_handler_stops_the_service_at_start_up() -> None:
    app = _app()
    with pytest.raises(HandlersMismatch) as caught:
        register_service(app, routing.SEARCH, ServiceHandlers(commands={"say": _reply}),
                         declared=ECHO)
    assert "'search'" in str(caught.value) and "shout" in str(caught.value)
    assert "workers.search.commands" in str(caught.value)
    assert routing.SEARCH.command_task not in app.tasks  # nothing was registered


def test_a_handler_without_a_declared_verb_stops_the_service_at_start_up() -> None:
    app = _app()
    handlers = ServiceHandlers(commands={"say": _reply, "shout": _reply, "whisper": _reply})
    with pytest.raises(HandlersMismatch) as caught:
        register_service(app, routing.SEARCH, handlers, declared=ECHO)
    assert "'search'" in str(caught.value) and "whisper" in str(caught.value)
    assert routing.SEARCH.command_task not in app.tasks


def test_a_service_is_checked_against_its_own_declaration_by_default() -> None:
    # search declares find, more and reindex (workers/search/commands.py).
    with pytest.raises(HandlersMismatch) as caught:
        register_service(_app(), routing.SEARCH, ServiceHandlers(commands={"find": _reply}))
    assert "more" in str(caught.value) and "reindex" in str(caught.value)
