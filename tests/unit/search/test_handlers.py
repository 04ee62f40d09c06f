"""The search handlers: nothing echoed can ping or link, names resolve, reindex starts once."""

from dataclasses import replace
from pathlib import Path

import pytest

from estafeta.grammar import Command
from estafeta.payloads import Context
from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, TEAM
from workers.replies import Reply, SlackReplier
from workers.search.answers import Answers
from workers.search.handlers import build_handlers
from workers.search.sqlite_store import SqliteBackfillLog, SqliteSearchState, SqliteSearchStore
from workers.search.store import Document, Hit
from workers.service import ServiceHandlers
from workers.sqlite_ledger import SqliteLedger

PING = "<!channel>"


@pytest.fixture
def replier(tmp_path: Path, fake_slack: FakeSlack) -> SlackReplier:
    return SlackReplier(fake_slack.api_url, BOT_TOKEN, SqliteLedger(tmp_path / "search.sqlite"))


@pytest.fixture
def store(tmp_path: Path) -> SqliteSearchStore:
    return SqliteSearchStore(tmp_path / "search.sqlite")


def _handlers(store: SqliteSearchStore, replier: SlackReplier,
              started: list[tuple[str, str]] | None = None) -> ServiceHandlers:
    stores = replace(open_stores(Settings(data_dir=store.path.parent), "search"), documents=store)
    backfills = stores.backfills

    def start(context: Context, channel: str, lang: str) -> str:
        channel, first = backfills.claim(context.request_id, context.team, channel)
        if first and started is not None:
            started.append((context.request_id, channel))
        return channel

    return build_handlers(stores, replier, start)


def _ask(handlers: ServiceHandlers, verb: str, args: str, channel: str = "C0ESC",
         request_id: str = "req-1") -> Reply:
    context = Context(team=TEAM, channel=channel, user="U1", channel_type="channel",
                      source="slash", request_id=request_id)
    return handlers.commands[verb](Command("search", verb, args, "en"), context)


def _assert_inert(text: str) -> None:
    assert PING not in text and "<!here>" not in text and "<https://evil" not in text


def test_the_query_is_echoed_inertly(store: SqliteSearchStore, replier: SlackReplier) -> None:
    handlers = _handlers(store, replier)
    none = _ask(handlers, "find", f"{PING} nothingmatches")
    _assert_inert(none.text)
    assert "&lt;!channel&gt; nothingmatches" in none.text
    assert none.data["query"] == f"{PING} nothingmatches"  # JSON callers get what they sent
    store.upsert([Document(team=TEAM, channel="C0ESC", ts="1700000000.000100",
                           text="the quarterly walrus report", user="U2")])
    found = _ask(handlers, "find", "walrus <!here|report>")
    assert "walrus &lt;!here|report&gt;" in found.text and "*walrus*" in found.text
    _assert_inert(found.text)
    no_more = _ask(handlers, "more", "")
    assert "No more results" in no_more.text
    _assert_inert(no_more.text)


def test_query_errors_quote_the_input_inertly(store: SqliteSearchStore,
                                              replier: SlackReplier) -> None:
    reply = _ask(_handlers(store, replier), "find", f"deploy before:{PING}")
    assert "YYYY-MM-DD" in reply.text
    _assert_inert(reply.text)


def test_message_snippets_are_inert(store: SqliteSearchStore, replier: SlackReplier) -> None:
    # What Slack sends for a typed `<!channel>`, and for a real @channel, and a link.
    texts = ["walrus &lt;!channel&gt; typed", "walrus <!channel> real",
             "walrus <https://evil.example/x|a harmless label> linked"]
    store.upsert([document_of_text(text, n) for n, text in enumerate(texts)])
    reply = _ask(_handlers(store, replier), "find", "walrus")
    assert reply.text.count("• ") == 3
    _assert_inert(reply.text)
    assert "&lt;!channel&gt; typed" in reply.text


def document_of_text(text: str, n: int) -> Document:
    return Document(team=TEAM, channel="C0ESC", ts=f"1700000000.00010{n}", text=text, user="U2")


@pytest.mark.parametrize(("title", "url", "link"), [
    (f"Parking {PING}", "https://kb.example/p?a=1&b=2",
     "<https://kb.example/p?a=1&amp;b=2|Parking &lt;!channel&gt;>"),
    ("Forged", "https://kb.example/x|<!here>", "*Forged*"),
    ("Forged", "https://kb.example/x>y", "*Forged*"),
    ("Script", "javascript:alert(1)", "*Script*"),
    ("No link", "", "*No link*"),
])
def test_knowledge_base_titles_and_urls_are_inert(store: SqliteSearchStore,
                                                  replier: SlackReplier, title: str, url: str,
                                                  link: str) -> None:
    document = Document(team=TEAM, channel="kb:faq <!here>", ts="faq#1", text="parking",
                        channel_type="kb", title=title, url=url)
    answers = Answers(SqliteSearchState(store.path), replier)
    line = answers.line(Hit(document, "level *-2* &lt;!here&gt;"))
    assert line.startswith(f"• {link} (faq &lt;!here&gt;): ")
    _assert_inert(line)


def test_plain_channel_and_people_names_find_what_the_escaped_forms_find(
    store: SqliteSearchStore, replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    fake_slack.channel_names.update({"C0GEN": "general", "C0OPS": "ops"})
    fake_slack.users.update({"U0ANA": {"name": "ana"}})
    store.upsert([Document(team=TEAM, channel=c, ts=f"1700000000.00010{n}",
                           text="narwhal sighting", user=u)
                  for n, (c, u) in enumerate([("C0GEN", "U0ANA"), ("C0GEN", "U0BOB"),
                                              ("C0OPS", "U0ANA")])])
    handlers = _handlers(store, replier)
    for plain, escaped in [("narwhal in:#general", "narwhal in:<#C0GEN|general>"),
                           ("narwhal from:@ana", "narwhal from:<@U0ANA|ana>"),
                           ("in:general from:ana", "in:<#C0GEN> from:<@U0ANA>")]:
        by_name, by_id = _ask(handlers, "find", plain), _ask(handlers, "find", escaped)
        results = by_name.data["results"]
        assert results and results == by_id.data["results"], plain
    unknown = _ask(handlers, "find", "narwhal in:#nowhere")
    assert unknown.text.startswith("I don't know a channel called #nowhere.")
    assert "results" not in unknown.data


def test_reindex_by_name_and_a_rerun_starts_nothing_new(
    store: SqliteSearchStore, replier: SlackReplier, fake_slack: FakeSlack
) -> None:
    fake_slack.channel_names.update({"C0GEN": "general"})
    started: list[tuple[str, str]] = []
    handlers = _handlers(store, replier, started)
    first = _ask(handlers, "reindex", "#general", request_id="req-9")
    again = _ask(handlers, "reindex", "#general", request_id="req-9")  # a retry of it
    assert first.text == again.text and "<#C0GEN>" in first.text
    assert started == [("req-9", "C0GEN")]
    _ask(handlers, "reindex", "<#C0GEN|general>", request_id="req-10")
    assert started[-1] == ("req-10", "C0GEN")
    unknown = _ask(handlers, "reindex", f"#{PING}", request_id="req-11")
    assert "I don't know a channel called" in unknown.text
    _assert_inert(unknown.text)
    assert len(started) == 2


def test_backfills_are_claimed_once_and_released_if_never_started(tmp_path: Path) -> None:
    backfills = SqliteBackfillLog(tmp_path / "search.sqlite")
    assert backfills.claim("job", TEAM, "C1") == ("C1", True)
    assert backfills.claim("job", TEAM, "C2") == ("C1", False)  # the first one's channel
    backfills.unclaim("job")
    assert backfills.claim("job", TEAM, "C1") == ("C1", True)
    backfills.finish("job", "failed:channel_not_found")
    assert backfills.outcome("job") == "failed:channel_not_found"

