import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.search.query import QueryError, parse
from workers.search.sqlite_store import SNIPPET_TOKEN_CHARACTERS, SqliteSearchStore
from workers.search.store import Document, Scope

NOW = time.time()


def doc(text: str, *, team: str = "T1", channel: str = "C1", age_days: float = 1,
        user: str = "U1", channel_type: str = "channel", **extra: str) -> Document:
    ts = f"{NOW - age_days * 86400:.6f}"
    return Document(team=team, channel=channel, ts=ts, text=text, user=user,
                    channel_type=channel_type, **extra)


@pytest.fixture
def store(tmp_path: Path) -> SqliteSearchStore:
    return SqliteSearchStore(tmp_path / "search.sqlite")


def found(store: SqliteSearchStore, query: str, team: str = "T1", channel: str = "C1",
          limit: int = 10) -> list[str]:
    return [h.document.text for h in store.search(parse(query), Scope(team, channel), limit)]


def test_upsert_is_idempotent_and_edits_replace(store: SqliteSearchStore) -> None:
    first = doc("the deploy failed")
    assert store.upsert([first]) == 1
    assert store.upsert([first]) == 0  # a redelivery changes nothing
    edited = Document(**{**first.__dict__, "text": "the rollout failed"})
    store.upsert([edited])
    assert store.count("T1") == 1
    assert found(store, "rollout") == ["the rollout failed"]
    assert found(store, "deploy") == []
    assert store.delete("T1", "C1", first.ts)
    assert found(store, "rollout") == [] and store.count("T1") == 0


def test_teams_never_see_each_other(store: SqliteSearchStore) -> None:
    store.upsert([doc("zeppelin roadmap", team="T2"), doc("zeppelin launch")])
    assert found(store, "zeppelin") == ["zeppelin launch"]
    assert found(store, "zeppelin", team="T2") == ["zeppelin roadmap"]
    assert found(store, "zeppelin", team="T3") == []


def test_private_conversations_are_found_only_from_inside(store: SqliteSearchStore) -> None:
    store.upsert([doc("salary review", channel="G1", channel_type="group"),
                  doc("salary bands", channel="D1", channel_type="im"),
                  doc("salary survey")])
    assert found(store, "salary", channel="C1") == ["salary survey"]
    assert sorted(found(store, "salary", channel="G1")) == ["salary review", "salary survey"]
    assert sorted(found(store, "salary", channel="D1")) == ["salary bands", "salary survey"]


def test_modifiers_filter(store: SqliteSearchStore) -> None:
    store.upsert([
        doc("database migration timed out", user="U1", channel="C1", age_days=40),
        doc("migration of the database done", user="U2", channel="C2", age_days=2),
        doc("staging database migration", user="U1", channel="C1", age_days=1),
    ])
    assert set(found(store, '"database migration"')) == {
        "database migration timed out", "staging database migration"}
    assert found(store, "migration -staging from:<@U1>") == ["database migration timed out"]
    assert found(store, "migration in:#C2") == ["migration of the database done"]
    day = time.strftime("%Y-%m-%d", time.gmtime(NOW - 10 * 86400))
    assert found(store, f"migration before:{day}") == ["database migration timed out"]
    assert "database migration timed out" not in found(store, f"migration after:{day}")
    assert set(found(store, "from:@U1")) == {"database migration timed out",
                                            "staging database migration"}


def test_ranking_prefers_relevance_then_recency(store: SqliteSearchStore) -> None:
    store.upsert([doc("deploy", age_days=300), doc("deploy", channel="C2", age_days=1),
                  doc("deploy deploy deploy failed deploy", age_days=100)])
    hits = store.search(parse("deploy"), Scope("T1", "C1"), 3)
    assert hits[0].document.channel == "C2"  # same relevance, much newer


def test_snippets_highlight_matches(store: SqliteSearchStore) -> None:
    store.upsert([doc("Las reuniones de equipo se mueven al martes")])
    [hit] = store.search(parse("reunión"), Scope("T1", "C1"), 5)
    assert "*reuniones*" in hit.snippet


def test_pages(store: SqliteSearchStore) -> None:
    store.upsert([doc(f"incident number {i}", age_days=i) for i in range(12)])
    first = store.search(parse("incident"), Scope("T1", "C1"), 5)
    second = store.search(parse("incident"), Scope("T1", "C1"), 5, offset=5)
    assert len(first) == len(second) == 5
    assert not {h.document.ts for h in first} & {h.document.ts for h in second}


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_no_typed_query_breaks_the_index(store: SqliteSearchStore, raw: str) -> None:
    store.upsert([doc("the deploy failed again")])
    try:
        query = parse(raw)
    except QueryError:
        return
    store.search(query, Scope("T1", "C1"), 5)


def test_an_edit_in_the_same_batch_as_its_message_keeps_the_index_sound(
    store: SqliteSearchStore,
) -> None:
    original = doc("kangaroo sighting")
    edited = Document(**{**original.__dict__, "text": "koala sighting"})
    assert store.upsert([original, original]) == 1  # a duplicate inside one batch
    assert store.upsert([edited, original, edited]) == 3  # each change applied; the last wins
    assert found(store, "koala") == ["koala sighting"]
    assert found(store, "kangaroo") == []
    store.db.execute("INSERT INTO documents_fts (documents_fts) VALUES ('integrity-check')")


# Hostile text: a 40,000-character message costs and weighs a bounded snippet ----------------

def test_a_long_message_is_indexed_whole_but_highlighted_only_near_its_start(
    store: SqliteSearchStore,
) -> None:
    filler = "lorem ipsum dolor sit amet " * 1_500  # 40,500 characters
    store.upsert([doc(f"deploy {filler} rollback")])
    [hit] = store.search(parse("rollback"), Scope("T1", "C1"), 5)  # found: indexed whole
    # The match lies past HIGHLIGHT_CHARACTERS: the snippet is the start, marked as cut.
    assert hit.snippet.startswith("deploy lorem") and hit.snippet.endswith(" …")
    assert "*" not in hit.snippet and len(hit.snippet) < 400
    [hit] = store.search(parse("deploy"), Scope("T1", "C1"), 5)
    assert hit.snippet.startswith("*deploy* lorem") and len(hit.snippet) < 400


def test_a_giant_word_is_shown_shortened(store: SqliteSearchStore) -> None:
    store.upsert([doc("deploy " + "x" * 40_000 + " &amp;" * 2 + " " + "y&amp;" * 30)])
    [hit] = store.search(parse("deploy"), Scope("T1", "C1"), 5)
    first, giant, *rest = hit.snippet.split()
    assert first == "*deploy*" and giant == "x" * (SNIPPET_TOKEN_CHARACTERS - 1) + "…"
    assert rest[-1].endswith("…") and not re.search(r"&(?!amp;)", rest[-1])  # no half escape
    assert max(len(word) for word in hit.snippet.split()) <= SNIPPET_TOKEN_CHARACTERS + 2


@pytest.mark.parametrize("hostile", ["<" * 40_000, "<<<<|" * 8_000, "&amp;" * 8_000,
                                     "*_~" * 13_000, ":a::a:" * 6_600])
def test_hostile_messages_are_indexed_and_found_by_their_words(
    store: SqliteSearchStore, hostile: str,
) -> None:
    store.upsert([doc(f"incident {hostile} resolved")])
    [hit] = store.search(parse("resolved"), Scope("T1", "C1"), 5)
    assert hit.document.text.endswith("resolved") and len(hit.snippet) < 2_000
