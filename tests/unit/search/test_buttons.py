"""Search answers in Block Kit: their shape, inert text, and the Next / Share buttons."""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from estafeta import grammar
from estafeta.grammar import Command
from estafeta.interactions import Interaction
from estafeta.payloads import Context
from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, OTHER_TEAM, TEAM
from workers.replies import Reply, SlackReplier
from workers.search.answers import MAX_VALUE, Answers, BadButton, PageRef, Shown, buttons
from workers.search.handlers import MAX_BUTTON_PAGE, build_handlers
from workers.search.query import MAX_QUERY_LENGTH
from workers.search.sqlite_store import SqliteSearchState, SqliteSearchStore
from workers.search.store import Document, Hit
from workers.service import ServiceHandlers, check_handlers
from workers.sqlite_ledger import SqliteLedger

HOSTILE = ("<!channel>", "<!here>", "<script>", "<https://evil")


@pytest.fixture
def replier(tmp_path: Path, fake_slack: FakeSlack) -> SlackReplier:
    return SlackReplier(fake_slack.api_url, BOT_TOKEN, SqliteLedger(tmp_path / "search.sqlite"))


@pytest.fixture
def store(tmp_path: Path) -> SqliteSearchStore:
    return SqliteSearchStore(tmp_path / "search.sqlite")


@pytest.fixture
def handlers(store: SqliteSearchStore, replier: SlackReplier) -> ServiceHandlers:
    stores = replace(open_stores(Settings(data_dir=store.path.parent), "search"), documents=store)
    return build_handlers(stores, replier, lambda context, channel, lang: channel)


def _context(source: str = "slash", channel: str = "C0ESC", team: str = TEAM,
             user: str = "U0ASK") -> Context:
    return Context(team=team, channel=channel, user=user, source=source,
                   channel_type="group" if channel.startswith("G") else "channel",
                   request_id="req-1")


def _find(handlers: ServiceHandlers, text: str, lang: str = "en", **where: str) -> Reply:
    return handlers.commands["find"](Command("search", "find", text, lang), _context(**where))


def _click(handlers: ServiceHandlers, action: str, value: str, lang: str = "en",
           **where: str) -> Reply:
    item = Interaction(kind="block_actions", id=action, value=value, trigger_id="t.1",
                       message_ts="1700000000.000900", container="message")
    reply = handlers.interactions[action](item, _context(source="interaction", **where), lang)
    assert reply is not None
    return reply


def _walruses(store: SqliteSearchStore, count: int, channel: str = "C0ESC",
              team: str = TEAM, channel_type: str = "channel") -> None:
    store.upsert([Document(team=team, channel=channel, ts=f"1700000000.{n:06d}",
                           text=f"walrus report number {n}", user="U0AUTHOR",
                           channel_type=channel_type) for n in range(count)])


def _of_type(blocks: list[dict[str, Any]] | None, kind: str) -> list[dict[str, Any]]:
    assert blocks is not None
    return [b for b in blocks if b["type"] == kind]


def _buttons(reply: Reply) -> dict[str, dict[str, Any]]:
    actions = _of_type(reply.blocks, "actions")
    assert len(actions) <= 1
    return {e["action_id"]: e for a in actions for e in a["elements"]}


def _shown(blocks: list[dict[str, Any]] | None) -> str:
    """Every text Slack renders in `blocks` (a button's value is data, never shown)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in {"mrkdwn", "plain_text"}:
                found.append(str(node["text"]))
            for key, child in node.items():
                if key != "value":
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(blocks)
    return "\n".join(found)


def _value(reply: Reply, action: str) -> dict[str, Any]:
    return dict(json.loads(_buttons(reply)[action]["value"]))


def test_declared_buttons_have_handlers(handlers: ServiceHandlers) -> None:
    declared = grammar.declaration("search")
    assert set(declared.actions) == {"search.more", "search.share"}
    assert {"channels:history", "groups:history", "users:read", "team:read",
            "chat:write"} <= set(declared.scopes)
    check_handlers("search", declared, handlers)  # raises on any mismatch


def test_a_page_of_results_is_sections_with_context_between_dividers(
    store: SqliteSearchStore, handlers: ServiceHandlers, fake_slack: FakeSlack
) -> None:
    _walruses(store, 7)
    reply = _find(handlers, "walrus")
    assert reply.blocks is not None
    # The plain fallback is the answer it always was.
    lines = reply.text.split("\n")
    assert lines[0] == "Results 1–5 for “walrus”:"
    assert sum(line.startswith("• <@U0AUTHOR> in <#C0ESC> ") for line in lines) == 5
    assert lines[-1] == "`/search more` for the next results."
    sections = _of_type(reply.blocks, "section")
    assert sections[0]["text"] == {"type": "mrkdwn", "text": "Results 1–5 for “walrus”:"}
    assert len(sections) == 6 and all("*walrus*" in s["text"]["text"] for s in sections[1:])
    contexts = _of_type(reply.blocks, "context")
    assert len(contexts) == 5
    about = contexts[0]["elements"][0]["text"]
    assert about.startswith("<@U0AUTHOR> in <#C0ESC> · 2023-11-14 · ")
    assert f"<https://{fake_slack.domain}.slack.com/archives/C0ESC/p1700000000" in about
    assert about.endswith("|view>")
    kinds = [b["type"] for b in reply.blocks]
    assert kinds == (["section"] + ["divider", "section", "context"] * 5
                     + ["divider", "actions"])
    assert _value(reply, "search.more") == {"q": "walrus", "p": 1, "l": "en", "e": 1}
    assert _value(reply, "search.share") == {"q": "walrus", "p": 0, "l": "en", "e": 1}
    assert _buttons(reply)["search.more"]["text"]["text"] == "Next results"
    assert _buttons(reply)["search.share"]["text"]["text"] == "Share in channel"


def test_only_a_slash_command_answer_can_be_shared_and_http_gets_no_blocks(
    store: SqliteSearchStore, handlers: ServiceHandlers
) -> None:
    _walruses(store, 7)
    mention = _find(handlers, "walrus", source="mention")
    assert set(_buttons(mention)) == {"search.more"}  # already visible to the channel
    assert _value(mention, "search.more")["e"] == 0
    few = _find(handlers, "walrus report number 3")
    assert few.data["has_more"] is False and "search.more" not in _buttons(few)
    http = _find(handlers, "walrus", source="api")
    assert http.blocks is None and http.data["results"]
    nothing = _find(handlers, "nothingmatcheshere")
    assert nothing.text == "Nothing found for “nothingmatcheshere”."
    assert _buttons(nothing) == {}


def test_hostile_snippets_and_queries_are_inert_in_every_block(
    store: SqliteSearchStore, handlers: ServiceHandlers
) -> None:
    # What Slack sends for typed text (its own escapes), for a real @channel, for a link.
    texts = ["walrus <!channel> real ping", "walrus &lt;!here&gt; typed",
             "walrus &lt;script&gt;alert(1)&lt;/script&gt; typed",
             "walrus &lt;!channel&gt; typed too",
             "walrus <https://evil.example/x|a harmless label> linked"]
    store.upsert([Document(team=TEAM, channel="C0ESC", ts=f"1700000001.{n:06d}", text=t,
                           user="U0AUTHOR") for n, t in enumerate(texts)])
    reply = _find(handlers, "walrus")
    assert len(reply.data["results"]) == 5
    written = _shown(reply.blocks)
    assert written.count("*walrus*") == 5
    for hostile in HOSTILE:
        assert hostile not in written and hostile not in reply.text
    snippets = " ".join(s["text"]["text"] for s in _of_type(reply.blocks, "section"))
    assert "&lt;!channel&gt;" in snippets and "&lt;script&gt;alert(1)&lt;/script&gt;" in snippets
    assert "&lt;!here&gt;" in snippets
    asked = _find(handlers, "walrus <!channel> <script>")
    assert len(asked.data["results"]) == 0
    asked = _find(handlers, "walrus <script>")
    written = _shown(asked.blocks)
    for hostile in HOSTILE:
        assert hostile not in written and hostile not in asked.text
    heading = _of_type(asked.blocks, "section")[0]["text"]["text"]
    assert heading == "Results 1–1 for “walrus &lt;script&gt;”:"
    # The button carries what was typed, as data: it is never shown as text.
    assert _value(asked, "search.share")["q"] == "walrus <script>"


def test_knowledge_base_results_link_only_to_safe_urls(tmp_path: Path,
                                                       replier: SlackReplier) -> None:
    answers = Answers(SqliteSearchState(tmp_path / "s.sqlite"), replier)
    for url, label in [("https://kb.example/p?a=1&b=2",
                        "<https://kb.example/p?a=1&amp;b=2|Parking &lt;!here&gt;>"),
                       ("https://kb.example/x|<!here>", "*Parking &lt;!here&gt;*"),
                       ("javascript:alert(1)", "*Parking &lt;!here&gt;*")]:
        document = Document(team=TEAM, channel="kb:faq <!channel>", ts="faq#1", text="parking",
                            channel_type="kb", title="Parking <!here>", url=url)
        section, context = (b.to_dict() for b in answers.hit_blocks(
            Hit(document, "level *-2* &lt;script&gt;"), "en"))
        assert section["text"]["text"] == "level *-2* &lt;script&gt;"
        assert context["elements"][0]["text"] == f"{label} · faq &lt;!channel&gt;"


def test_button_values_fit_slack_and_only_ours_are_read() -> None:
    worst = '"\\' * (MAX_QUERY_LENGTH // 2)  # every character escaped in JSON
    shown = Shown(worst, 3, "es", [Hit(Document(TEAM, "C1", "1.0", "x"), "x")], True, 5)
    values = [e.value for e in buttons(shown, ephemeral=True, more=True)]
    assert len(values) == 2 and all(v is not None and len(v) <= MAX_VALUE for v in values)
    assert PageRef.read(str(values[0]), MAX_BUTTON_PAGE) == PageRef(worst, 4, "es", True)
    assert PageRef.read('{"q":"x","p":2,"l":"en","e":0,"team":"T9","channel":"G9"}',
                        MAX_BUTTON_PAGE) == PageRef("x", 2, "en", False)
    for bad in ["1", "", "not json", "[]", '{"q":"x","p":-1,"l":"en","e":0}',
                '{"q":"x","p":100,"l":"en","e":0}', '{"q":"x","p":true,"l":"en","e":0}',
                '{"q":"","p":1,"l":"en","e":0}', '{"q":"x","p":1,"l":"fr","e":0}',
                '{"q":"x","p":1,"l":"en","e":"yes"}']:
        with pytest.raises(BadButton):
            PageRef.read(bad, MAX_BUTTON_PAGE)


def test_next_results_replaces_the_message_with_the_next_page(
    store: SqliteSearchStore, handlers: ServiceHandlers
) -> None:
    _walruses(store, 7)
    first = _find(handlers, "walrus")
    second = _click(handlers, "search.more", _buttons(first)["search.more"]["value"])
    assert second.replace_original is True and second.in_channel is False
    assert second.text.startswith("Results 6–7 for “walrus”:")
    assert len(second.data["results"]) == 2 and second.data["page"] == 2
    assert set(_buttons(second)) == {"search.share"}  # no page after this one
    assert _value(second, "search.share")["p"] == 1
    # The click moved `/search more` on too: the page after the second is empty.
    after = handlers.commands["more"](Command("search", "more", "", "en"),
                                      _context(user="U0ASK"))
    assert after.text == "No more results for “walrus”."
    # Past the end: the message says so, still in place of the clicked one.
    past = _click(handlers, "search.more", PageRef("walrus", 9, "es", True).value())
    assert past.replace_original and past.text == "No hay más resultados para «walrus»."
    # A visible message (a mention's answer) stays visible when replaced.
    visible = _click(handlers, "search.more", PageRef("walrus", 1, "en", False).value())
    assert visible.replace_original and visible.in_channel
    assert _buttons(visible) == {}
    with pytest.raises(BadButton):
        _click(handlers, "search.more", "1")


def test_buttons_keep_private_channels_inside_and_teams_apart(
    store: SqliteSearchStore, handlers: ServiceHandlers
) -> None:
    store.upsert([Document(team=TEAM, channel="G0PRIV", ts="1700000002.000001",
                           text="platypus budget numbers", user="U0AUTHOR",
                           channel_type="group"),
                  Document(team=TEAM, channel="C0PUB", ts="1700000002.000002",
                           text="platypus sighting in the park", user="U0AUTHOR"),
                  Document(team=OTHER_TEAM, channel="C0PUB", ts="1700000002.000003",
                           text="platypus of the other workspace", user="U0OTHER")])
    inside = _find(handlers, "platypus", channel="G0PRIV")
    assert len(inside.data["results"]) == 2
    value = _buttons(inside)["search.share"]["value"]
    # The same button, clicked where the private channel is not: it is not found, not shared.
    for action in ("search.share", "search.more"):
        elsewhere = _click(handlers, action, value, channel="C0OUT")
        written = elsewhere.text + _shown(elsewhere.blocks)
        assert "budget" not in written and "other workspace" not in written
    shared_out = _click(handlers, "search.share", value, channel="C0OUT")
    assert [r["channel"] for r in shared_out.data["results"]] == ["C0PUB"]
    # The team comes from the click, never from the value.
    other = _click(handlers, "search.share", value, team=OTHER_TEAM, channel="C0OUT")
    assert [r["user"] for r in other.data["results"]] == ["U0OTHER"]
    shared_in = _click(handlers, "search.share", value, channel="G0PRIV")
    assert {r["channel"] for r in shared_in.data["results"]} == {"G0PRIV", "C0PUB"}


def test_share_posts_the_page_for_the_channel_saying_who_shared_it(
    store: SqliteSearchStore, handlers: ServiceHandlers
) -> None:
    _walruses(store, 7)
    first = _find(handlers, "walrus", lang="es")
    assert first.text.startswith("Resultados 1–5 para «walrus»:")
    shared = _click(handlers, "search.share", _buttons(first)["search.share"]["value"],
                    user="U0SHARER")
    assert shared.in_channel is True and shared.replace_original is False
    assert shared.text.split("\n")[:2] == ["<@U0SHARER> compartió estos resultados:",
                                           "Resultados 1–5 para «walrus»:"]
    assert shared.blocks is not None
    assert shared.blocks[0] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "<@U0SHARER> compartió estos resultados:"}]}
    assert _of_type(shared.blocks, "actions") == []  # a shared page has no buttons
    assert len(_of_type(shared.blocks, "context")) == 6
    assert "<@U0AUTHOR> en <#C0ESC>" in json.dumps(shared.blocks)
    # Sharing does not move `/search more` on.
    after = handlers.commands["more"](Command("search", "more", "", "en"),
                                      _context(user="U0ASK"))
    assert after.text.startswith("Results 6–7")
    forged_user = _click(handlers, "search.share", PageRef("walrus", 0, "en", True).value(),
                         user="U1>|<!channel")
    assert forged_user.text.startswith("Someone shared these results:")
    nothing = _click(handlers, "search.share", PageRef("walrus", 4, "en", True).value())
    assert not nothing.in_channel and nothing.blocks is None
    assert nothing.text == "There is nothing to share: no results for “walrus” here."


def test_the_longest_messages_still_make_blocks_slack_takes(
    store: SqliteSearchStore, handlers: ServiceHandlers
) -> None:
    # Slack's longest message, of long words of `<&>` (which Slack sends escaped).
    word = "&lt;&amp;&gt;" * 20
    text = "walrus " + " ".join([word] * 40) + " " + "x" * 39_000
    store.upsert([Document(team=TEAM, channel="C0ESC", ts="1700000003.000001", text=text,
                           user="U0AUTHOR")])
    reply = _find(handlers, "walrus")
    assert reply.blocks is not None and len(reply.blocks) <= 50
    sections = _of_type(reply.blocks, "section")
    assert len(sections) == 2
    assert all(0 < len(s["text"]["text"]) <= 3000 for s in sections)
    snippet = sections[1]["text"]["text"]
    assert "&lt;&amp;&gt;" in snippet and "<" not in snippet and ">" not in snippet
