"""Interactions, the Home relay and per-team tokens in the generic task wrapper."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

import routing
from estafeta import grammar
from estafeta.grammar import Command
from estafeta.interactions import Interaction
from estafeta.payloads import Context, ReplyTarget
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.replies import NotInstalled, Reply, SlackReplier, acting_for
from workers.service import HandlersMismatch, ServiceHandlers, register_service
from workers.sqlite_ledger import SqliteLedger

# A declaration of its own, so that these tests do not depend on what search declares.
DECLARED = replace(grammar.declaration("search"), actions=("search.probe",),
                   callbacks=(), forms={}, home=True)


class Tokens:
    """A token per team, as installations give them."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.refusals: list[tuple[str, str]] = []

    def token_for(self, team: str) -> str | None:
        return self.tokens.get(team)

    def refused(self, team: str, token: str) -> None:
        self.refusals.append((team, token))
        self.tokens.pop(team, None)


def _app(tmp_path: Path, fake_slack: FakeSlack, handlers: ServiceHandlers,
         tokens: Tokens | None = None) -> tuple[Celery, SlackReplier]:
    app = Celery("test-interactions", set_as_current=False)
    app.conf.update(task_always_eager=True, task_eager_propagates=False)
    unused = dict.fromkeys(DECLARED.handled_verbs, _never_sent)
    handlers = replace(handlers, commands={**unused, **handlers.commands})
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, SqliteLedger(tmp_path / "s.sqlite"),
                           tokens=tokens)
    register_service(app, routing.SEARCH, handlers, replier, declared=DECLARED)
    return app, replier


def _never_sent(command: Command, context: Context) -> Reply:
    raise AssertionError(f"{command.verb} was not sent")


def _no_home(context: Context, lang: str) -> list[dict[str, Any]]:
    return []


def _click(app: Celery, url: str, metadata: str = "", team: str = "T1",
           task_id: str = "click-1") -> Any:
    item = Interaction(kind="block_actions", id="search.probe", value="v1",
                       private_metadata=metadata, container="message")
    return app.tasks[routing.SEARCH.interaction_task].apply(kwargs={
        "interaction": item.as_dict(),
        "context": Context(team=team, channel="C1", user="U1", source="interaction").as_dict(),
        "reply": ReplyTarget(kind="response_url", url=url).as_dict(),
    }, task_id=task_id)


def test_a_click_reaches_its_handler_and_the_answer_is_posted_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    seen: list[tuple[str, str, str, str]] = []

    def probe(item: Interaction, context: Context, lang: str) -> Reply:
        seen.append((item.value, context.request_id, context.team, lang))
        return Reply("next page", blocks=[{"type": "section",
                                           "text": {"type": "mrkdwn", "text": "next"}}],
                     replace_original=True)

    app, _ = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": probe}, home=_no_home))
    url = fake_slack.response_url()
    assert _click(app, url, json.dumps({"lang": "es"})).successful()
    assert _click(app, url, json.dumps({"lang": "es"})).successful()  # a redelivery
    assert seen == [("v1", "click-1", "T1", "es")] * 2
    [answer] = fake_slack.responses(url)
    assert answer["text"] == "next page" and answer["replace_original"] is True
    assert answer["blocks"][0]["text"]["text"] == "next"


def test_without_a_language_in_the_view_the_slack_locale_decides(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    langs: list[str] = []

    def probe(item: Interaction, context: Context, lang: str) -> None:
        langs.append(lang)

    app, _ = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": probe}, home=_no_home))
    fake_slack.users["U1"] = {"locale": "es-ES"}
    _click(app, fake_slack.response_url(), task_id="a")
    fake_slack.users["U1"] = {"locale": "fr-FR"}  # cached: the first answer stands
    _click(app, fake_slack.response_url(), task_id="b")
    assert langs == ["es", "es"]
    assert len(fake_slack.calls_to("users.info")) == 1
    assert fake_slack.responses() == []  # a handler with nothing to say posts nothing


def test_a_command_whose_words_do_not_decide_asks_the_locale_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    langs: list[str] = []

    def find(command: Command, context: Context) -> Reply:
        langs.append(command.lang)
        return Reply("ok")

    app, _ = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={"find": find}, interactions={"search.probe": _never_clicked},
        home=_no_home))
    fake_slack.users["U1"] = {"locale": "es-ES"}
    for known, task_id in ((False, "t1"), (True, "t2")):
        command = Command("search", "find", "deploy", "en", lang_known=known)
        app.tasks[routing.SEARCH.command_task].apply(kwargs={
            "command": command.as_dict(),
            "context": Context(team="T1", channel="C1", user="U1", source="slash").as_dict(),
            "reply": ReplyTarget(kind="response_url", url=fake_slack.response_url()).as_dict(),
        }, task_id=task_id)
    assert langs == ["es", "en"]  # a word that decides wins over the locale


def _never_clicked(item: Interaction, context: Context, lang: str) -> None:
    raise AssertionError("not clicked")


def test_every_call_uses_the_token_of_the_team_the_work_belongs_to(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.install("xoxb-team-two", "T2")

    def probe(item: Interaction, context: Context, lang: str) -> Reply:
        return Reply("hi")

    tokens = Tokens({fake_slack.team: BOT_TOKEN, "T2": "xoxb-team-two"})
    app, _ = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": probe}, home=_no_home), tokens)
    fake_slack.users["U1"] = {"locale": "en-US"}
    _click(app, fake_slack.response_url(), team="T2", task_id="t2")
    _click(app, fake_slack.response_url(), team=fake_slack.team, task_id="t1")
    lookups = fake_slack.calls_to("users.info")
    assert [(c.team, c.token) for c in lookups] == [("T2", "xoxb-team-two"),
                                                    (fake_slack.team, BOT_TOKEN)]


def test_a_team_without_a_token_gets_no_call_at_all_and_the_message_is_rejected(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    def probe(item: Interaction, context: Context, lang: str) -> Reply:
        return Reply("hi")

    app, _ = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": probe}, home=_no_home),
        Tokens({"T1": BOT_TOKEN}))
    fake_slack.users["U1"] = {"locale": "en-US"}
    for reply in (ReplyTarget(kind="channel", channel="C1"),
                  ReplyTarget(kind="response_url", url=fake_slack.response_url())):
        result = app.tasks[routing.SEARCH.command_task].apply(kwargs={
            "command": Command("search", "help", "", "en", lang_known=False).as_dict(),
            "context": Context(team="T9", channel="C1", user="U1", source="slash").as_dict(),
            "reply": reply.as_dict(),
        }, task_id=f"t9-{reply.kind}")
        assert result.state == "REJECTED"  # dead-lettered by the broker, to replay later
    assert fake_slack.calls == []  # not with T1's token, not with any


def test_a_token_slack_refuses_is_forgotten(tmp_path: Path, fake_slack: FakeSlack) -> None:
    tokens = Tokens({"T1": "xoxb-revoked"})
    _, replier = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": _never_clicked}, home=_no_home), tokens)
    with acting_for("T1"):
        with pytest.raises(Exception, match="invalid_auth"):
            replier.call("auth_test")
        with pytest.raises(NotInstalled):
            replier.call("auth_test")
    assert tokens.refusals == [("T1", "xoxb-revoked")]


def test_the_last_service_of_the_home_relay_publishes_every_section_and_the_help(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    def section(context: Context, lang: str) -> list[dict[str, Any]]:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": f"mine {lang}"}}]

    app, _ = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": _never_clicked}, home=section))
    earlier = [[{"type": "section", "text": {"type": "mrkdwn", "text": "earlier"}}]]
    result = app.tasks[routing.SEARCH.home_task].apply(
        args=({"lang": "es", "sections": earlier},),
        kwargs={"context": Context(team="T1", user="U1", source="home").as_dict()})
    assert result.successful(), result.traceback
    view = fake_slack.homes["U1"]
    texts = [b.get("text", {}).get("text") for b in view["blocks"]]
    assert texts.index("earlier") < texts.index("mine es")
    assert texts[-1] == grammar.help_text(None, "es")
    assert result.result["sections"][-1][0]["text"]["text"] == "mine es"


def test_a_failing_section_leaves_the_others_standing(tmp_path: Path,
                                                      fake_slack: FakeSlack) -> None:
    def broken(context: Context, lang: str) -> list[dict[str, Any]]:
        raise ValueError("a bug")

    app, _ = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": _never_clicked}, home=broken))
    fake_slack.users["U1"] = {"locale": "en-US"}
    app.tasks[routing.SEARCH.home_task].apply(
        args=({"lang": "", "sections": []},),
        kwargs={"context": Context(team="T1", user="U1", source="home").as_dict()})
    assert fake_slack.homes["U1"]["blocks"][-1]["text"]["text"] == grammar.help_text(None)


def test_declared_ids_and_handlers_must_match(tmp_path: Path, fake_slack: FakeSlack) -> None:
    with pytest.raises(HandlersMismatch, match=r"search\.probe"):
        _app(tmp_path, fake_slack, ServiceHandlers(commands={}, home=_no_home))
    with pytest.raises(HandlersMismatch, match=r"search\.other"):
        _app(tmp_path, fake_slack, ServiceHandlers(
            commands={}, home=_no_home,
            interactions={"search.probe": _never_clicked, "search.other": _never_clicked}))
    with pytest.raises(HandlersMismatch, match="home"):
        _app(tmp_path, fake_slack, ServiceHandlers(
            commands={}, interactions={"search.probe": _never_clicked}))


def test_a_task_given_its_job_in_place_works_with_that_team_s_token(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    from workers.service import task_base

    fake_slack.install("xoxb-team-two", "T2")
    app, replier = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": _never_clicked}, home=_no_home),
        Tokens({"T2": "xoxb-team-two"}))

    @app.task(name="search.page", bind=True, base=task_base(routing.SEARCH, replier),
              shared=False)
    def page(self: Any, job: dict[str, str], cursor: str) -> str:
        return str(replier.call("auth_test")["team_id"])

    result = page.apply(args=({"team": "T2", "channel": "C1"}, ""))
    assert result.get() == "T2"
    assert [c.token for c in fake_slack.calls_to("auth.test")] == ["xoxb-team-two"]


def test_an_ephemeral_answer_where_the_bot_is_not_goes_to_the_person_s_dm(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    def submitted(item: Interaction, context: Context, lang: str) -> Reply:
        return Reply("Added")

    app, _ = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": submitted}, home=_no_home))
    fake_slack.refusals["C7"] = "channel_not_found"
    target = ReplyTarget(kind="ephemeral", channel="C7", user="U1")
    for _ in range(2):  # and once only, when the task runs again
        app.tasks[routing.SEARCH.interaction_task].apply(kwargs={
            "interaction": Interaction(kind="view_submission", id="search.probe",
                                       private_metadata='{"lang": "en"}').as_dict(),
            "context": Context(team="T1", channel="C7", user="U1",
                               source="interaction").as_dict(),
            "reply": target.as_dict(),
        }, task_id="submit-1")
    assert fake_slack.ephemerals() == []
    dm = fake_slack.calls_to("conversations.open")[0]
    assert dm.params["users"] == "U1"
    assert [p["text"] for p in fake_slack.posted()] == ["Added"]


def test_a_post_to_a_deactivated_person_does_not_forget_the_team_s_token(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    tokens = Tokens({fake_slack.team: BOT_TOKEN})
    _, replier = _app(tmp_path, fake_slack, ServiceHandlers(
        commands={}, interactions={"search.probe": _never_clicked}, home=_no_home), tokens)
    fake_slack.refusals["D9"] = "account_inactive"
    with acting_for(fake_slack.team), pytest.raises(Exception, match="account_inactive"):
        replier.post_message("D9", "your reminder")
    assert tokens.refusals == []
    with acting_for(fake_slack.team):  # the token still serves the team
        assert replier.call("auth_test")["team_id"] == fake_slack.team
