"""The search stores on both engines: every test runs on SQLite and on PostgreSQL
(`store_settings`), and the engines are compared with each other on the same corpora."""

import random
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estafeta.settings import Settings
from estafeta.stores import open_stores
from tests.conftest import empty_postgres
from workers.search.index import SNIPPET_TOKEN_CHARACTERS
from workers.search.postgres_store import PostgresSearchStore, tsvector_of
from workers.search.query import Query, QueryError, parse
from workers.search.sqlite_store import SqliteSearchStore
from workers.search.store import Document, Scope, SearchStore

NOW = time.time()


def doc(text: str, *, team: str = "T1", channel: str = "C1", age_days: float = 1,
        user: str = "U1", channel_type: str = "channel", **extra: str) -> Document:
    ts = f"{NOW - age_days * 86400:.6f}"
    return Document(team=team, channel=channel, ts=ts, text=text, user=user,
                    channel_type=channel_type, **extra)


@pytest.fixture
def store(store_settings: Settings) -> SearchStore:
    return open_stores(store_settings, "search").documents


def found(store: SearchStore, query: str, team: str = "T1", channel: str = "C1",
          limit: int = 10) -> list[str]:
    return [h.document.text for h in store.search(parse(query), Scope(team, channel), limit)]


def assert_index_sound(store: SearchStore) -> None:
    """The engine's own record of what is indexed agrees with the documents stored."""
    if isinstance(store, SqliteSearchStore):
        store.db.execute("INSERT INTO documents_fts (documents_fts) VALUES ('integrity-check')")
        return
    assert isinstance(store, PostgresSearchStore)
    with store.database.connection() as db:
        row = db.execute(
            "SELECT (SELECT count(*) FROM documents) AS documents,"
            " (SELECT coalesce(sum(term_count), 0) FROM documents) AS terms,"
            " (SELECT coalesce(sum(documents), 0) FROM index_totals) AS counted_documents,"
            " (SELECT coalesce(sum(terms), 0) FROM index_totals) AS counted_terms").fetchone()
        assert row is not None
        assert (row["documents"], row["terms"]) == (row["counted_documents"],
                                                    row["counted_terms"])
        wrong = db.execute(
            "WITH held AS (SELECT lexeme AS term, count(*) AS n FROM documents,"
            " unnest(tsvector_to_array(terms)) AS lexeme GROUP BY lexeme),"
            " counted AS (SELECT term, sum(documents) AS n FROM term_documents GROUP BY term)"
            " SELECT count(*) AS n FROM held FULL JOIN counted USING (term)"
            " WHERE coalesce(held.n, 0) <> coalesce(counted.n, 0)").fetchone()
        assert wrong is not None and wrong["n"] == 0


def test_upsert_is_idempotent_and_edits_replace(store: SearchStore) -> None:
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
    assert not store.delete("T1", "C1", first.ts)
    assert_index_sound(store)


def test_teams_never_see_each_other(store: SearchStore) -> None:
    store.upsert([doc("zeppelin roadmap", team="T2"), doc("zeppelin launch")])
    assert found(store, "zeppelin") == ["zeppelin launch"]
    assert found(store, "zeppelin", team="T2") == ["zeppelin roadmap"]
    assert found(store, "zeppelin", team="T3") == []


def test_private_conversations_are_found_only_from_inside(store: SearchStore) -> None:
    store.upsert([doc("salary review", channel="G1", channel_type="group"),
                  doc("salary bands", channel="D1", channel_type="im"),
                  doc("salary survey")])
    assert found(store, "salary", channel="C1") == ["salary survey"]
    assert sorted(found(store, "salary", channel="G1")) == ["salary review", "salary survey"]
    assert sorted(found(store, "salary", channel="D1")) == ["salary bands", "salary survey"]


def test_exclusions_never_reach_beyond_what_the_searcher_may_see(store: SearchStore) -> None:
    store.upsert([doc("salary review", channel="G1", channel_type="group"),
                  doc("salary bands", team="T2"), doc("salary survey")])
    assert found(store, "salary -survey") == []
    assert found(store, "salary -survey", channel="G1") == ["salary review"]
    assert found(store, "from:U1 in:G1") == []  # no text: only the newest visible ones
    assert found(store, "from:U1 in:G1", channel="G1") == ["salary review"]


def test_modifiers_filter(store: SearchStore) -> None:
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


def test_ranking_prefers_relevance_then_recency(store: SearchStore) -> None:
    store.upsert([doc("deploy", age_days=300), doc("deploy", channel="C2", age_days=1),
                  doc("deploy deploy deploy failed deploy", age_days=100)])
    hits = store.search(parse("deploy"), Scope("T1", "C1"), 3)
    assert hits[0].document.channel == "C2"  # same relevance, much newer


def test_snippets_highlight_matches(store: SearchStore) -> None:
    store.upsert([doc("Las reuniones de equipo se mueven al martes")])
    [hit] = store.search(parse("reunión"), Scope("T1", "C1"), 5)
    assert "*reuniones*" in hit.snippet


def test_pages(store: SearchStore) -> None:
    store.upsert([doc(f"incident number {i}", age_days=i) for i in range(12)])
    first = store.search(parse("incident"), Scope("T1", "C1"), 5)
    second = store.search(parse("incident"), Scope("T1", "C1"), 5, offset=5)
    assert len(first) == len(second) == 5
    assert not {h.document.ts for h in first} & {h.document.ts for h in second}


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_no_typed_query_breaks_the_index(store: SearchStore, raw: str) -> None:
    store.upsert([doc("the deploy failed again")])
    try:
        query = parse(raw)
    except QueryError:
        return
    store.search(query, Scope("T1", "C1"), 5)


def test_an_edit_in_the_same_batch_as_its_message_keeps_the_index_sound(
    store: SearchStore,
) -> None:
    original = doc("kangaroo sighting")
    edited = Document(**{**original.__dict__, "text": "koala sighting"})
    assert store.upsert([original, original]) == 1  # a duplicate inside one batch
    assert store.upsert([edited, original, edited]) == 3  # each change applied; the last wins
    assert found(store, "koala") == ["koala sighting"]
    assert found(store, "kangaroo") == []
    assert_index_sound(store)


def test_a_new_message_edited_in_its_own_batch_is_stored_as_last_edited(
    store: SearchStore,
) -> None:
    original = doc("platypus sighting", user="U1")
    edited = Document(**{**original.__dict__, "text": "wombat sighting", "user": "U2"})
    assert store.upsert([original, edited, edited]) == 2  # inserted, then one edit
    assert found(store, "wombat") == ["wombat sighting"] and found(store, "platypus") == []
    assert found(store, "sighting from:U2") == ["wombat sighting"]
    assert store.count("T1") == 1
    assert_index_sound(store)


def test_an_empty_batch_changes_nothing(store: SearchStore) -> None:
    assert store.upsert([]) == 0
    assert store.upsert(iter([])) == 0
    assert store.count("T1") == 0


# Hostile text: a 40,000-character message costs and weighs a bounded snippet ----------------

def test_a_long_message_is_indexed_whole_but_highlighted_only_near_its_start(
    store: SearchStore,
) -> None:
    filler = "lorem ipsum dolor sit amet " * 1_500  # 40,500 characters
    store.upsert([doc(f"deploy {filler} rollback")])
    [hit] = store.search(parse("rollback"), Scope("T1", "C1"), 5)  # found: indexed whole
    # The match lies past HIGHLIGHT_CHARACTERS: the snippet is the start, marked as cut.
    assert hit.snippet.startswith("deploy lorem") and hit.snippet.endswith(" …")
    assert "*" not in hit.snippet and len(hit.snippet) < 400
    [hit] = store.search(parse("deploy"), Scope("T1", "C1"), 5)
    assert hit.snippet.startswith("*deploy* lorem") and len(hit.snippet) < 400


def test_a_giant_word_is_shown_shortened(store: SearchStore) -> None:
    store.upsert([doc("deploy " + "x" * 40_000 + " &amp;" * 2 + " " + "y&amp;" * 30)])
    [hit] = store.search(parse("deploy"), Scope("T1", "C1"), 5)
    first, giant, *rest = hit.snippet.split()
    assert first == "*deploy*" and giant == "x" * (SNIPPET_TOKEN_CHARACTERS - 1) + "…"
    assert rest[-1].endswith("…") and not re.search(r"&(?!amp;)", rest[-1])  # no half escape
    assert max(len(word) for word in hit.snippet.split()) <= SNIPPET_TOKEN_CHARACTERS + 2


@pytest.mark.parametrize("hostile", ["<" * 40_000, "<<<<|" * 8_000, "&amp;" * 8_000,
                                     "*_~" * 13_000, ":a::a:" * 6_600])
def test_hostile_messages_are_indexed_and_found_by_their_words(
    store: SearchStore, hostile: str,
) -> None:
    store.upsert([doc(f"incident {hostile} resolved")])
    [hit] = store.search(parse("resolved"), Scope("T1", "C1"), 5)
    assert hit.document.text.endswith("resolved") and len(hit.snippet) < 2_000


def test_words_beyond_what_a_tsvector_holds_are_stored_without_error(store: SearchStore) -> None:
    # 300 times one word (a tsvector keeps 256 places), 20,000 words (places stop at 16,383),
    # a 3,000-character word (longer than a lexeme) and quotes and backslashes in words.
    store.upsert([doc("deploy " * 300 + "rollback", channel="C1"),
                  doc(" ".join(f"w{i}" for i in range(20_000)) + " finale", channel="C2"),
                  doc("canary " + "z" * 3_000 + " lift", channel="C3"),
                  doc("it's a back\\slash o'clock", channel="C4")])
    assert [h.document.channel for h in store.search(parse("rollback"), Scope("T1"), 5)] == [
        "C1"]
    assert [h.document.channel for h in store.search(parse("finale"), Scope("T1"), 5)] == ["C2"]
    assert [h.document.channel for h in store.search(parse('"canary lift"'), Scope("T1"),
                                                     5)] == []  # not adjacent: a word between
    assert [h.document.channel for h in store.search(parse("lift canary"), Scope("T1"), 5)] == [
        "C3"]
    assert [h.document.channel for h in store.search(parse("clock slash"), Scope("T1"), 5)] == [
        "C4"]
    assert_index_sound(store)


def test_a_nul_character_is_stored_and_searched_around(store: SearchStore) -> None:
    # PostgreSQL text cannot hold NUL: that store keeps U+FFFD in its place.
    store.upsert([doc("null\x00byte deploy", user="U\x001")])
    [hit] = store.search(parse("deploy"), Scope("T1", "C1"), 5)
    assert hit.document.text.replace("\ufffd", "\x00") == "null\x00byte deploy"
    assert found(store, "byte from:U\x001") == [hit.document.text]
    assert store.delete("T1", "C1", hit.document.ts)


# Hostile queries: never an exception, on either engine ----------------------------------------

HOSTILE_QUERIES = [
    "x" * 400,  # a huge word
    " ".join(f"w{i}" for i in range(3_000)),  # thousands of terms: too long a query
    " ".join(f"w{i}" for i in range(90)),  # as many terms as fit
    "deploy " + " ".join(f"-{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(60)),
    "'", "''", "\\", "\\'", "deploy's", "o'clock \\' \\\\",
    "deploy:*", "depl:* & fail", ":*", "a:A", "deploy:ABCD",
    "&", "|", "!", "!!deploy", "(deploy", "deploy)", "<->", "<2>", "deploy <-> failed",
    "deploy & !failed | (x <-> y)", "&|!()<>", "'deploy' & 'failed'",
    '"', '""', '"deploy', 'deploy"', '"deploy failed', '-"deploy failed"', '"&|!"',
    "-deploy", "--", "-", "- -", "deploy -", "from:", "from:'", "in:#'); DROP TABLE x;--",
    "from:@'", "in:<#C1|'>", "before:'", "after:2026-13-45", "deploy NEAR failed", "deploy*",
    "\x00", "deploy\x00failed", "日本語 привет ½", "\u200b\u200bdeploy", "🚀 deploy",
]


def test_hostile_queries_answer_or_explain_on_both_engines(store: SearchStore) -> None:
    store.upsert([doc("the deploy failed again"), doc("salary review", channel="G1",
                                                      channel_type="group")])
    answered = 0
    for raw in HOSTILE_QUERIES:
        try:
            query = parse(raw)
        except QueryError:
            continue
        for scope in (Scope("T1", "C1"), Scope("T1"), Scope("T1", "G1")):
            hits = store.search(query, scope, 5)
            assert all(h.document.team == "T1" for h in hits)
            answered += 1
    assert answered > 60  # most of them were run, not refused


@pytest.mark.parametrize("query", [
    Query(words=[f"w{i}" for i in range(5_000)]),
    Query(words=["x" * 3_000]),
    Query(words=["deploy"], excluded=["x" * 3_000]),
    Query(phrases=[[f"w{i}" for i in range(3_000)]]),
    Query(words=["deploy", "'", "\\", ":*", "&|!()<>"]),
])
def test_hand_built_queries_of_any_size_answer_on_postgresql(
    postgres_url: str, tmp_path: Path, query: Query,
) -> None:
    # Bigger than `parse` lets through (SQLite's FTS5 parser has a depth limit for those).
    empty_postgres(postgres_url)
    store = open_stores(Settings(data_dir=tmp_path, database_url=postgres_url),
                        "search").documents
    store.upsert([doc("the deploy failed again")])
    assert isinstance(store.search(query, Scope("T1", "C1"), 5), list)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([*"'\\:*&|!()<>\"-#@ \x00", "deploy", "fail", "from:", "in:",
                                 "before:", "A", "日本"]), max_size=120).map("".join))
def test_queries_of_operator_characters_never_raise(store: SearchStore, raw: str) -> None:
    store.upsert([doc("the deploy failed again")])
    try:
        query = parse(raw)
    except QueryError:
        return
    store.search(query, Scope("T1", "C1"), 5)


def test_many_exclusions_answer_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    # On SQLite, 98 or more exclusions overflow FTS5's parser (see the test below).
    empty_postgres(postgres_url)
    store = open_stores(Settings(data_dir=tmp_path, database_url=postgres_url),
                        "search").documents
    store.upsert([doc("the deploy failed again"), doc("deploy zq", age_days=2)])
    raw = "deploy " + " ".join(f"-{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(99))
    assert found(store, raw + " -zq") == ["the deploy failed again"]
    assert found(store, raw) == ["the deploy failed again", "deploy zq"]


def test_a_hundred_exclusions_answer_on_both_engines(store_settings: Settings) -> None:
    # One FTS5 NOT per excluded word overflowed SQLite's parser stack at about a hundred.
    store = open_stores(store_settings, "search").documents
    store.upsert([doc("the deploy failed again"), doc("deploy zq", age_days=2)])
    words = [f"q{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(98)]  # 500 chars
    assert found(store, "deploy " + " ".join(f"-{w}" for w in words)) == [
        "the deploy failed again", "deploy zq"]
    assert found(store, "deploy -zq " + " ".join(f"-{w}" for w in words)) == [
        "the deploy failed again"]


# Both engines answer the same queries the same way -----------------------------------------

@pytest.fixture
def engines(tmp_path: Path, postgres_url: str) -> Iterator[tuple[SearchStore, SearchStore]]:
    """A SQLite store and an empty PostgreSQL store."""
    empty_postgres(postgres_url)
    yield (open_stores(Settings(data_dir=tmp_path), "search").documents,
           open_stores(Settings(data_dir=tmp_path, database_url=postgres_url),
                       "search").documents)


def answers(store: SearchStore, query: Query, scope: Scope, limit: int = 8,
            offset: int = 0) -> list[tuple[str, str, str, str]]:
    return [(h.document.team, h.document.channel, h.document.ts, h.snippet)
            for h in store.search(query, scope, limit, offset)]


CORPUS = [
    doc("the deploy failed on staging", user="U1", age_days=0.5),
    doc("deploy deploy rollback", user="U2", channel="C2", age_days=3),
    doc("rollback of the failed deploy finished", user="U1", age_days=12),
    doc("database migration timed out", user="U3", channel="C2", age_days=40),
    doc("staging database migration done", user="U1", age_days=2.5),
    doc("migration of the database to staging", user="U2", age_days=90),
    doc("deploys are frozen until the migration", user="U3", channel="C3", age_days=7),
    doc("Las reuniones de equipo se mueven al martes", user="U2", age_days=4),
    doc("la reunión del equipo de deploy", user="U1", channel="C3", age_days=30),
    doc("salary review for the deploy team", channel="G1", channel_type="group", age_days=1.5),
    doc("salary bands and the migration", channel="D1", channel_type="im", age_days=6),
    doc("deploy failed for the other team", team="T2", age_days=0.2),
    doc("migration database staging rollback", team="T2", channel="G1",
        channel_type="group", age_days=5),
    Document(team="T1", channel="kb:runbook", ts="deploy.md#0", text="How to deploy and roll"
             " back: run the migration, then deploy", title="Deploy runbook", channel_type="kb"),
    Document(team="T1", channel="kb:runbook", ts="salary.md#0", text="Salary reviews happen"
             " twice a year", title="Salary", channel_type="kb"),
]
TEN_DAYS_AGO = time.strftime("%Y-%m-%d", time.gmtime(NOW - 10 * 86400))
PARITY_QUERIES = [
    "deploy", "deploys", "deploy failed", "migration database", "rollback deploy",
    '"database migration"', '"staging database"', '"deploy failed"', "reunión", "reuniones",
    "deploy -rollback", "migration -staging -database", "salary", "salary review",
    "deploy from:U1", "migration from:U2", "deploy in:C3", "migration in:#C2",
    "deploy before:2100-01-01", f"migration after:{TEN_DAYS_AGO}",
    "from:U1", "in:C2", "from:U3 in:C2", '"migration of the database" staging',
    "runbook", "deploy runbook", "twice year",
]
SCOPES = [Scope("T1", "C1"), Scope("T1", "G1"), Scope("T1", "D1"), Scope("T1"), Scope("T2", "C1"),
          Scope("T2", "G1"), Scope("T3", "C1")]


def test_both_engines_answer_a_fixed_corpus_alike(
    engines: tuple[SearchStore, SearchStore],
) -> None:
    sqlite, postgresql = engines
    assert sqlite.upsert(CORPUS) == postgresql.upsert(CORPUS) == len(CORPUS)
    several = 0
    for raw in PARITY_QUERIES:
        query = parse(raw)
        for scope in SCOPES:
            expected = answers(sqlite, query, scope)
            assert answers(postgresql, query, scope) == expected, (raw, scope)
            several += len(expected) > 1
    assert several > 40  # the order of many results was compared, not only empty answers
    # Pages: the same second page.
    for raw in ("deploy", "migration", "from:U1"):
        assert answers(postgresql, parse(raw), Scope("T1", "C1"), 3, 3) == answers(
            sqlite, parse(raw), Scope("T1", "C1"), 3, 3)


def test_both_engines_keep_other_teams_and_private_conversations_apart(
    engines: tuple[SearchStore, SearchStore],
) -> None:
    for store in engines:
        store.upsert(CORPUS)
        for raw in ("deploy", "salary", "migration", "from:U1", "rollback"):
            for scope in SCOPES:
                for hit in store.search(parse(raw), scope, 50):
                    d = hit.document
                    assert d.team == scope.team
                    assert d.channel_type in ("channel", "kb") or d.channel == scope.channel


def _random_corpus(rng: random.Random, count: int) -> list[Document]:
    words = ("deploy deploys deployed failed fails rollback database migration staging"
             " reunión reuniones equipo martes salary review incident alert the of de la").split()
    channels = {"C1": "channel", "C2": "channel", "G1": "group", "D1": "im"}
    corpus = []
    for number in range(count):
        channel = rng.choice(sorted(channels))
        corpus.append(Document(
            team=rng.choice(["T1", "T2"]), channel=channel, channel_type=channels[channel],
            ts=f"{NOW - rng.uniform(0, 400) * 86400:.6f}", user=rng.choice(["U1", "U2", "U3"]),
            text=" ".join(rng.choices(words, k=rng.randint(1, 30))) + f" n{number}"))
    return corpus


def test_both_engines_rank_random_corpora_alike(
    engines: tuple[SearchStore, SearchStore],
) -> None:
    rng = random.Random(20_240_611)
    corpus = _random_corpus(rng, 600)
    edits = [Document(**{**d.__dict__, "text": d.text + " edited rollback"})
             for d in corpus[::9]]
    for store in engines:
        assert store.upsert(corpus[:400]) == 400
        assert store.upsert(corpus[300:]) == 200
        assert store.upsert(edits + corpus[::9][:10]) == len(edits) + 10
        assert sum(store.delete(d.team, d.channel, d.ts) for d in corpus[::17]) == 36
    assert_index_sound(engines[1])
    words = "deploy deploys failed rollback database migration staging reuniones salary".split()
    modifiers = ["", "", " from:U1", " in:C2", " in:G1", " before:2100-01-01",
                 f" after:{time.strftime('%Y-%m-%d', time.gmtime(NOW - 200 * 86400))}"]
    compared = 0
    for _ in range(300):
        raw = " ".join(rng.sample(words, rng.randint(1, 3)))
        if rng.random() < 0.3:
            raw += " -" + rng.choice(words)
        raw += rng.choice(modifiers)
        scope = Scope(rng.choice(["T1", "T2"]), rng.choice(["", "C1", "G1", "D1"]))
        query, offset = parse(raw), rng.choice([0, 0, 7])
        expected = answers(engines[0], query, scope, 7, offset)
        assert answers(engines[1], query, scope, 7, offset) == expected, (raw, scope, offset)
        compared += len(expected) > 1
    assert compared > 100


def test_both_engines_rank_a_query_of_a_hundred_words_alike(
    engines: tuple[SearchStore, SearchStore],
) -> None:
    words = [f"q{a}{b}" for a in "bcdfghjk" for b in "bcdfghjklmnpqrst"][:110]
    rng = random.Random(5)
    corpus = [doc(" ".join(rng.sample(words, len(words)) + rng.choices(words, k=extra)),
                  channel=f"C{extra}", age_days=extra / 7)
              for extra in (0, 3, 10, 40, 90)]
    raw = " ".join(words)
    assert len(raw) <= 500  # a query `parse` accepts
    for store in engines:
        store.upsert([*corpus, doc(" ".join(words[:-1]), channel="C9")])
    for scope in (Scope("T1", "C1"), Scope("T1")):
        expected = answers(engines[0], parse(raw), scope)
        assert len(expected) == 5
        assert answers(engines[1], parse(raw), scope) == expected
        assert answers(engines[1], parse(raw + " from:U1"), scope) == answers(
            engines[0], parse(raw + " from:U1"), scope)


def test_both_engines_find_the_same_phrases(engines: tuple[SearchStore, SearchStore]) -> None:
    # Phrases are compared as sets of hits: with an OR or NOT above a phrase, SQLite's FTS5
    # counts fewer occurrences in a full scan than in a lookup of the same row, so the order of
    # near-equal results may differ; which documents match does not.
    rng = random.Random(7)
    corpus = _random_corpus(rng, 400)
    for store in engines:
        store.upsert(corpus)
    words = "deploy failed rollback database migration staging reuniones equipo".split()
    for _ in range(150):
        raw = f'"{" ".join(rng.sample(words, 2))}"'
        if rng.random() < 0.5:
            raw += " " + rng.choice(words)
        if rng.random() < 0.3:
            raw += " -" + rng.choice(words)
        scope = Scope(rng.choice(["T1", "T2"]), rng.choice(["", "C1", "G1"]))
        query = parse(raw)
        expected = {(h.document.channel, h.document.ts)
                    for h in engines[0].search(query, scope, 1_000)}
        assert {(h.document.channel, h.document.ts)
                for h in engines[1].search(query, scope, 1_000)} == expected, (raw, scope)


# PostgreSQL only: the tsvector it is given, several hosts writing at once -------------------

@pytest.mark.parametrize("terms", [
    ["deploy", "failed", "deploy"],
    ["it's", "o''clock", "back\\slash", "a:1", "x y", "日本語", "½"],
    ["w"] * 300,
    [f"w{i}" for i in range(17_000)],
    ["x" * 3_000, "kept"],
    [],
])
def test_the_tsvector_holds_exactly_the_terms_that_fit(postgres_url: str,
                                                       terms: list[str]) -> None:
    literal, lexemes = tsvector_of(terms)
    with psycopg.connect(postgres_url) as db:
        row = db.execute("SELECT tsvector_to_array(%s::tsvector)", (literal,)).fetchone()
    assert row is not None and set(row[0]) == lexemes
    assert lexemes == {t for t in terms if len(t.encode()) <= 2_047}


def test_concurrent_writers_keep_the_figures_exact(postgres_url: str, tmp_path: Path) -> None:
    empty_postgres(postgres_url)
    settings_ = Settings(data_dir=tmp_path, database_url=postgres_url, database_pool_size=8)
    store = open_stores(settings_, "search").documents
    rng = random.Random(3)
    corpus = _random_corpus(rng, 800)
    errors: list[BaseException] = []

    def write(part: list[Document]) -> None:
        try:
            for first in range(0, len(part), 50):
                store.upsert(part[first:first + 50])
        except BaseException as exc:  # reported below
            errors.append(exc)

    # Overlapping parts: the same documents arrive from several writers at once.
    threads = [threading.Thread(target=write, args=(corpus[start:start + 400],))
               for start in (0, 200, 400, 100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count("T1") + store.count("T2") == 800
    assert_index_sound(store)


# The backfill log, on both engines ------------------------------------------------------------

def test_a_backfill_is_claimed_once_and_remembered_until_pruned(store_settings: Settings) -> None:
    backfills = open_stores(store_settings, "search").backfills
    assert backfills.outcome("job") is None
    assert backfills.claim("job", "T1", "C1") == ("C1", True)
    assert backfills.claim("job", "T1", "C2") == ("C1", False)  # the first one's channel
    assert backfills.outcome("job") == ""
    backfills.unclaim("job")
    assert backfills.claim("job", "T1", "C1") == ("C1", True)
    backfills.finish("job", "failed:channel_not_found")
    assert backfills.outcome("job") == "failed:channel_not_found"
    backfills.claim("running", "T1", "C3")
    assert backfills.prune(older_than=3600) == 0  # ended too recently
    assert backfills.prune(older_than=-1) == 1  # the running one stays
    assert backfills.outcome("job") is None and backfills.outcome("running") == ""


def test_concurrent_claims_start_a_backfill_once(store_settings: Settings) -> None:
    stores = open_stores(store_settings, "search")
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        barrier.wait()
        results.append(stores.backfills.claim("job", "T1", "C1")[1])

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
