"""The generic task wrapper: task ids reach handlers, Slack failures inside handlers retry."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from slack_sdk.errors import SlackApiError

import routing
from estafeta import grammar
from estafeta.grammar import Command
from estafeta.interactions import Interaction
from estafeta.payloads import Context, HeardMessage, ReplyTarget
from estafeta.stores import StoreUnavailable
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.agenda.reminders import register_reminders
from workers.agenda.sqlite_store import SqliteAgendaStore
from workers.replies import RefusedResponseUrl, Reply, SlackReplier, TransientError
from workers.service import APOLOGY, MAX_RETRIES, ServiceHandlers, register_service, task_base
from workers.sqlite_ledger import SqliteLedger


def _replier(tmp_path: Path, fake_slack: FakeSlack) -> SlackReplier:
    return SlackReplier(fake_slack.api_url, BOT_TOKEN, SqliteLedger(tmp_path / "svc.sqlite"))


def _app(tmp_path: Path, fake_slack: FakeSlack, handlers: ServiceHandlers) -> Celery:
    app = Celery("test-service", set_as_current=False)
    # Eager: a retry runs again at once, in this process, up to max_retries.
    app.conf.update(task_always_eager=True, task_eager_propagates=False)
    # These tests exercise one verb; the others search declares are never sent here.
    declared = grammar.declaration("search")
    unused = dict.fromkeys(declared.handled_verbs, _never_sent)
    unclicked = dict.fromkeys(declared.interaction_ids, _never_clicked)
    handlers = replace(handlers, commands={**unused, **handlers.commands},
                       interactions={**unclicked, **handlers.interactions})
    register_service(app, routing.SEARCH, handlers, _replier(tmp_path, fake_slack))
    return app


def _never_sent(command: Command, context: Context) -> Reply:
    raise AssertionError(f"{command.verb} was not sent")


def _never_clicked(item: Interaction, context: Context, lang: str) -> Reply | None:
    raise AssertionError(f"{item.id} was not clicked")


def _command(app: Celery, verb: str, url: str, args: str = "", task_id: str = "task-1") -> Any:
    return app.tasks[routing.SEARCH.command_task].apply(kwargs={
        "command": Command("search", verb, args, "en").as_dict(),
        "context": {**Context(team="T1", channel="C1", user="U1").as_dict(),
                    "request_id": "forged"},
        "reply": ReplyTarget(kind="response_url", url=url).as_dict(),
    }, task_id=task_id)


def test_handlers_get_the_task_id_as_request_id(tmp_path: Path, fake_slack: FakeSlack) -> None:
    seen: list[str] = []

    def probe(command: Command, context: Context) -> Reply:
        seen.append(context.request_id)
        return Reply("ok")

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={"find": probe}))
    _command(app, "find", fake_slack.response_url(), task_id="the-task").get()
    assert seen == ["the-task"]  # never what the message carried


def test_transient_slack_error_inside_a_handler_is_retried_and_answered_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    calls: list[str] = []

    def flaky(command: Command, context: Context) -> Reply:
        calls.append(context.request_id)
        if len(calls) < 3:
            raise TransientError("Slack answered 500")
        return Reply("done")

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={"find": flaky}))
    url = fake_slack.response_url()
    result = _command(app, "find", url)
    assert result.successful(), result.traceback
    assert calls == ["task-1"] * 3  # the same request id on every attempt
    assert [r["text"] for r in fake_slack.responses(url)] == ["done"]


def test_exhausted_retries_fail_the_task_and_tell_the_user_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    calls: list[int] = []

    def down(command: Command, context: Context) -> Reply:
        calls.append(1)
        raise TransientError("Slack rate limit", retry_after=0)

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={"find": down}))
    url = fake_slack.response_url()
    result = _command(app, "find", url)
    assert result.failed() and "rate limit" in str(result.result)
    assert len(calls) == MAX_RETRIES + 1
    assert [r["text"] for r in fake_slack.responses(url)] == [APOLOGY["en"]]
    # The same task again (a replay of its dead letter) does not apologise twice.
    _command(app, "find", url)
    assert len(fake_slack.responses(url)) == 1


def test_a_store_unavailable_is_retried_past_max_retries_and_never_apologised_for(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    calls: list[int] = []

    def database_restarting(command: Command, context: Context) -> Reply:
        calls.append(1)
        if len(calls) <= MAX_RETRIES + 3:  # longer than any Slack failure is waited for
            raise StoreUnavailable("PostgreSQL unavailable (OperationalError, 57P01)")
        return Reply("done")

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={"find": database_restarting}))
    url = fake_slack.response_url()
    result = _command(app, "find", url)
    assert result.successful(), result.traceback
    assert len(calls) == MAX_RETRIES + 4
    # No apology while waiting for the database: the work was done, and said once.
    assert [r["text"] for r in fake_slack.responses(url)] == ["done"]


def test_waiting_for_the_database_spends_none_of_slacks_retries(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    failures = [StoreUnavailable("PostgreSQL unavailable (OperationalError, 08006)")] * (
        MAX_RETRIES + 2) + [TransientError("Slack answered 500")] * (MAX_RETRIES - 1)
    calls: list[int] = []

    def unlucky(command: Command, context: Context) -> Reply:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return Reply("done")

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={"find": unlucky}))
    url = fake_slack.response_url()
    result = _command(app, "find", url)
    # A long outage, then Slack failing nearly as often as it may: still answered, once.
    assert result.successful(), result.traceback
    assert len(calls) == 2 * MAX_RETRIES + 2
    assert [r["text"] for r in fake_slack.responses(url)] == ["done"]


def test_a_store_unavailable_in_the_ledger_itself_is_retried(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={"find": lambda c, x: Reply("ok")}))
    ledger = SqliteLedger(tmp_path / "svc.sqlite")
    failures = iter([True, True, False])
    real_claim = SqliteLedger.claim

    def claim(self: SqliteLedger, *args: Any, **kwargs: Any) -> bool:
        if next(failures, False):
            raise StoreUnavailable("PostgreSQL unavailable (OperationalError, 08006)")
        return real_claim(self, *args, **kwargs)

    monkeypatch.setattr(SqliteLedger, "claim", claim)
    url = fake_slack.response_url()
    result = _command(app, "find", url)
    assert result.successful(), result.traceback
    assert [r["text"] for r in fake_slack.responses(url)] == ["ok"]
    assert ledger.state("task-1") == "posted"


def test_a_permanent_error_inside_a_handler_is_not_silent(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    def refused(command: Command, context: Context) -> Reply:
        raise SlackApiError("user_not_found", response={"ok": False})

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={"find": refused}))
    url = fake_slack.response_url()
    result = _command(app, "find", url)
    assert result.failed() and "user_not_found" in str(result.result)
    assert [r["text"] for r in fake_slack.responses(url)] == [APOLOGY["en"]]


def test_heard_message_with_a_transient_error_is_retried(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    heard: list[str] = []

    def on_heard(message: HeardMessage) -> None:
        heard.append(message.ts)
        if len(heard) == 1:
            raise TransientError("Slack unreachable")

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={}, on_heard=on_heard))
    result = app.tasks[routing.HEARD_TASK].apply(
        kwargs={"message": HeardMessage(team="T1", channel="C1", ts="1.0").as_dict()})
    assert result.successful(), result.traceback
    assert heard == ["1.0", "1.0"]


def test_a_post_a_handler_makes_itself_is_retried_after_a_server_error(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """A 5xx leaves the reply claimed (Slack may have taken it): the retry must take it over."""
    replier = _replier(tmp_path, fake_slack)

    def on_heard(message: HeardMessage) -> None:
        replier.deliver(ReplyTarget(kind="channel", channel="C0ALERT"), "alert-1",
                        Reply("the mood dropped"))

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={}, on_heard=on_heard))
    fake_slack.fail("chat.postMessage", 500, times=2)
    result = app.tasks[routing.HEARD_TASK].apply(
        kwargs={"message": HeardMessage(team="T1", channel="C1", ts="1.0").as_dict()})
    assert result.successful(), result.traceback
    assert [p["text"] for p in fake_slack.posted("C0ALERT")] == ["the mood dropped"]


@pytest.mark.parametrize("verb", ["help", "<!channel>"])
def test_usage_replies_quote_the_input_inertly(
    tmp_path: Path, fake_slack: FakeSlack, verb: str
) -> None:
    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={}))
    url = fake_slack.response_url()
    # A help command's reason comes from the grammar, the user's word in it already escaped
    # (grammar.parse_mention): the worker writes it as it is, escaped once, not twice.
    reason = grammar.parse_mention("<@UBOT> mood <!channel> x").args if verb == "help" else ""
    _command(app, verb, url, args=reason).get()
    (answer,) = fake_slack.responses(url)
    assert "<!channel>" not in answer["text"] and "&lt;!channel&gt;" in answer["text"]
    assert "&amp;" not in answer["text"]


def test_a_forged_response_url_is_refused_before_the_handler_runs(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    calls: list[str] = []

    def effect(command: Command, context: Context) -> Reply:
        calls.append(context.request_id)  # e.g. an event added, a backfill started
        return Reply("done")

    app = _app(tmp_path, fake_slack, ServiceHandlers(commands={"find": effect}))
    result = _command(app, "find", "https://evil.example/hooks/T1/secret")
    assert isinstance(result.result, RefusedResponseUrl)
    assert calls == [] and fake_slack.calls == []


def test_a_reminder_scan_with_the_store_unavailable_is_skipped_not_retried(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    scans: list[float] = []

    class DatabaseDown(SqliteAgendaStore):
        def claim_due(self, now: float, lease: float, limit: int) -> list[Any]:
            scans.append(now)
            raise StoreUnavailable("PostgreSQL unavailable (OperationalError, 57P01)")

    app = Celery("test-agenda", set_as_current=False)
    app.conf.update(task_always_eager=True, task_eager_propagates=False)
    replier = _replier(tmp_path, fake_slack)
    register_reminders(app, task_base(routing.AGENDA, replier),
                       DatabaseDown(tmp_path / "agenda.sqlite"), replier)
    result = app.tasks[routing.REMINDER_SCAN_TASK].apply()
    # Beat sends the next scan a second later: retrying this one would only pile up scans.
    assert result.successful() and result.result is None
    assert len(scans) == 1
