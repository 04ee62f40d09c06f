"""The search stores on PostgreSQL: full-text search over a `tsvector` column with a GIN index,
in the search schema that every host shares.

The index holds exactly what the SQLite store indexes (`workers.search.index`): stems computed
in Python, each glued to its vocabulary partition. They are written as a tsvector literal, not
through `to_tsvector`, whose idea of a word depends on the server's locale (it would cut `x½`
in two, say), and a query is a tsquery literal of the same quoted terms: user text never reaches
SQL, and no input can be a tsquery syntax error. Phrases are `<->`, exclusions `& !`, the
modifiers plain SQL conditions; a query names only the partitions its caller may see.

The ranking is SQLite's, computed from the same figures in the same floating-point steps:
FTS5's BM25 (k1 = 1.2, b = 0.75) over the documents and terms of the whole index
(`index_totals`), how many documents hold each term (`term_documents`, kept by the writers:
counting on the GIN index would read every one of those rows) or each phrase (counted), how
often the document holds it (`ts_rank_cd` with unit weights counts the occurrences) and its
length; then the same recency bonus re-orders the same candidates.

So both engines return the same results in the same order, but for what a tsvector cannot hold
(a word of more than 2,047 bytes is not indexed, a word counts at most 256 times in one
document, words past a document's 16,383rd all stand at that place, where phrases are not
found), for NUL characters (PostgreSQL text cannot hold them: U+FFFD instead), and for an FTS5
quirk: with a phrase under an OR or a NOT, FTS5 counts fewer occurrences when it scans than the
row holds, so near-equal results of such queries may come in another order.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from estafeta.postgres import PostgresStore
from workers.search import text
from workers.search.index import (
    candidate_count,
    document_terms,
    highlight,
    partition_of,
    recency_bonus,
    visible_partitions,
)
from workers.search.query import Query
from workers.search.store import Document, Hit, Scope

# FTS5's bm25() defaults, and its floor for the weight of a phrase found in most documents.
K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
# What a tsvector can hold: lexemes of up to 2,047 bytes, 1 MiB of them in all (each
# occurrence counted as it is written), 256 places per lexeme, places up to 16,383.
MAX_LEXEME_BYTES = 2_047
MAX_LEXEMES_BYTES = 1_048_575
MAX_POSITIONS = 256
MAX_POSITION = 16_383
CHUNK = 2_500  # documents per INSERT: the next ones are prepared while the database works
# Writers add their counts to one of this many rows (of the totals, of each term), one that no
# other writer holds: with a single row, every writer would wait for the one before to commit.
SHARDS = 16
_SHARD_LOCKS = 0x73726368  # "srch": the advisory locks of the shards (with the shard's number)
_UNIT_WEIGHTS = "'{1,1,1,1}'::real[]"  # ts_rank_cd with these weights counts occurrences
_LONGEST_SUM = 100  # phrases summed in one expression: a much longer one is too deep to parse

_COLUMNS = ("d.id, d.team, d.channel, d.ts, d.text, d.user_id, d.channel_type, d.thread_ts,"
            " d.title, d.url, d.at")
# A chunk of documents is one JSON parameter (PostgreSQL parses it much faster than psycopg
# writes a dozen arrays). BM25's figures are counted once per batch, not here: a common term is
# in every chunk, and each of its updates writes a new row version.
_INSERT = (
    "INSERT INTO documents (team, channel, ts, user_id, text, channel_type, thread_ts, title,"
    " url, at, visible_to, term_count, terms)"
    " SELECT team, channel, ts, user_id, text, channel_type, thread_ts, title, url,"
    " at::float8, visible_to, term_count, terms::tsvector"
    " FROM ROWS FROM (json_to_recordset(%(rows)s::json) AS (team text, channel text, ts text,"
    " user_id text, text text, channel_type text, thread_ts text, title text, url text,"
    " at text, visible_to text, term_count int, terms text)) WITH ORDINALITY"
    " AS u(team, channel, ts, user_id, text, channel_type, thread_ts, title, url, at,"
    " visible_to, term_count, terms, n)"
    # In the batch's order: of two copies of a new document, the first is inserted.
    " ORDER BY n"
    " ON CONFLICT (team, channel, ts) DO NOTHING"
    " RETURNING id, team, channel, ts"
)

Row = dict[str, Any]
Key = tuple[str, str, str]


def _clean(value: str) -> str:
    """`value` as PostgreSQL text can hold it: a NUL character becomes U+FFFD."""
    return value.replace("\x00", "\ufffd")


def _cleaned(values: Sequence[str]) -> list[str]:
    return [_clean(value) for value in values]


def _storable(document: Document) -> Document:
    """`document` with every field as PostgreSQL text can hold it (see `_clean`)."""
    fields = vars(document)
    if "\x00" not in "".join(fields.values()):
        return document
    return Document(**{name: _clean(value) for name, value in fields.items()})


# The index's vocabulary ---------------------------------------------------------------------


def _quoted(term: str) -> str:
    """`term` as one lexeme of tsvector or tsquery input, whatever characters it holds."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _fits(term: str) -> bool:
    """Whether `term` can be a lexeme: a longer one is never in any tsvector."""
    return len(term) * 4 <= MAX_LEXEME_BYTES or len(term.encode()) <= MAX_LEXEME_BYTES


def tsvector_of(terms: list[str]) -> tuple[str, frozenset[str]]:
    """The tsvector literal of `terms`, each at its place in the list (from 1), and the lexemes
    it holds.

    Each occurrence is written as `'term':place`, and PostgreSQL gathers a term's places (up to
    256 of them, a place past 16,383 counted as 16,383). What a tsvector cannot hold is left
    out: a term longer than a lexeme can be, and new terms once there are 1 MiB of them.
    """
    # A character takes at most 4 bytes: most texts are well within the limits.
    if (max(map(len, terms), default=0) * 4 > MAX_LEXEME_BYTES
            or sum(map(len, terms)) * 4 > MAX_LEXEMES_BYTES):
        return _bounded_tsvector(terms)
    joined = " ".join(terms)
    if "'" in joined or "\\" in joined:
        literal = " ".join(f"{_quoted(term)}:{place}" for place, term in enumerate(terms, 1))
    else:
        literal = " ".join([f"'{term}':{place}" for place, term in enumerate(terms, 1)])
    return literal, frozenset(terms)


def _bounded_tsvector(terms: list[str]) -> tuple[str, frozenset[str]]:
    """`tsvector_of` a text too big to be written one occurrence at a time."""
    positions: dict[str, list[int]] = {}
    size = 0
    for number, term in enumerate(terms, 1):
        places = positions.get(term)
        if places is None:
            length = len(term.encode())
            if length > MAX_LEXEME_BYTES or size + length > MAX_LEXEMES_BYTES:
                continue
            size += length
            places = positions[term] = []
        place = min(number, MAX_POSITION)
        if len(places) < MAX_POSITIONS and (not places or places[-1] != place):
            places.append(place)
    literal = " ".join(f"{_quoted(term)}:{','.join(map(str, places))}"
                       for term, places in positions.items())
    return literal, frozenset(positions)


# Queries ------------------------------------------------------------------------------------

Phrase = tuple[str, ...]  # consecutive terms


def _phrase(terms: Phrase) -> str:
    """The tsquery of a phrase."""
    quoted = " <-> ".join(_quoted(term) for term in terms)
    return quoted if len(terms) == 1 else f"({quoted})"


def _joined(parts: list[str], operator: str) -> str:
    """`parts` joined by `operator`, grouped in halves so that the nesting stays shallow however
    many there are."""
    if len(parts) == 1:
        return parts[0]
    half = len(parts) // 2
    return f"({_joined(parts[:half], operator)} {operator} {_joined(parts[half:], operator)})"


@dataclass(frozen=True)
class _Branch:
    """A query's text part in one vocabulary partition: the tsquery a document must match, and
    the phrases whose BM25 weights add up to its score, in the order FTS5 numbers them."""

    tsquery: str
    phrases: list[Phrase]


def _branch(query: Query, prefix: str) -> _Branch | None:
    """`Query.match_expression(prefix)` as a tsquery (None when nothing can match).

    It follows that method term for term: a word is any of its stems, a phrase any of its
    Spanish and English variants, and every excluded word is taken away from the whole. A
    phrase with a term too long to be a lexeme is in no document.
    """
    parts: list[str | None] = []
    phrases: list[Phrase] = []

    def any_of(alternatives: list[Phrase]) -> str | None:
        possible = [p for p in alternatives if all(map(_fits, p))]
        return _joined([_phrase(p) for p in possible], "|") if possible else None

    def add(alternatives: list[Phrase]) -> None:
        parts.append(any_of(alternatives))
        phrases.extend(p for p in alternatives if all(map(_fits, p)))

    for word in query.words:
        add([(prefix + stem,) for stem in text.query_stems(word)])
    for phrase in query.phrases:
        kept = [w for w in phrase if not text.is_stop_word(w)]
        if kept:
            variants = sorted({" ".join(prefix + text.stem(w, language) for w in kept)
                               for language in ("es", "en")})
            add([tuple(variant.split(" ")) for variant in variants])
    if not parts or None in parts:
        return None
    tsquery = _joined([part for part in parts if part is not None], "&")
    # `(wanted NOT a) NOT b` is `wanted & !(a | b)`: one operator, however many exclusions.
    # Never `!unwanted` alone, which would match every document without the word, in every
    # partition.
    excluded = any_of([(prefix + stem,) for word in query.excluded
                       for stem in text.query_stems(word)])
    if excluded is not None:
        tsquery = f"({tsquery} & !{excluded})"
    return _Branch(tsquery, phrases)


def _has_text(query: Query) -> bool:
    """Whether `query.match_expression` is not empty (else the newest documents are listed)."""
    return bool(query.words) or any(
        not text.is_stop_word(w) for phrase in query.phrases for w in phrase)


def _conditions(query: Query) -> tuple[str, list[object]]:
    """The author, channel and date modifiers as SQL conditions on `d`, and their values."""
    conditions = ""
    params: list[object] = []
    for column, values in (("d.user_id", query.from_users), ("d.channel", query.in_channels)):
        if values:
            conditions += f" AND {column} = ANY(%s::text[])"
            params.append(_cleaned(values))
    if query.before is not None:
        conditions += " AND d.at < %s"
        params.append(query.before)
    if query.after is not None:
        conditions += " AND d.at >= %s"
        params.append(query.after)
    return conditions, params


def _idf(documents: int, hits: int) -> float:
    """FTS5's inverse document frequency of a phrase found in `hits` of `documents`."""
    ratio = (documents - hits + 0.5) / (hits + 0.5)
    return math.log(ratio) if ratio > 1 else MIN_IDF


def _document(row: Row) -> Document:
    return Document(team=row["team"], channel=row["channel"], ts=row["ts"], text=row["text"],
                    user=row["user_id"], channel_type=row["channel_type"],
                    thread_ts=row["thread_ts"], title=row["title"], url=row["url"])


# Writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """A document to upsert, with its partition and its terms."""

    document: Document
    visible_to: str
    term_count: int
    terms: str  # the tsvector literal
    lexemes: frozenset[str]

    @property
    def key(self) -> Key:
        """What identifies the document."""
        return (self.document.team, self.document.channel, self.document.ts)


def _prepared(document: Document) -> _Prepared:
    document = _storable(document)
    prefix = partition_of(document)
    terms = document_terms(document, prefix)
    literal, lexemes = tsvector_of(terms)
    return _Prepared(document, prefix, len(terms), literal, lexemes)


def _chunks(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """`documents` in lists of `size` (the last one shorter)."""
    iterator = iter(documents)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _json_rows(batch: list[_Prepared]) -> str:
    """The parameter of `_INSERT`: the documents of `batch` as a JSON array."""
    return json.dumps([
        {"team": d.team, "channel": d.channel, "ts": d.ts, "user_id": d.user, "text": d.text,
         "channel_type": d.channel_type, "thread_ts": d.thread_ts, "title": d.title,
         "url": d.url, "at": repr(d.at),  # as text: JSON has no infinity, PostgreSQL has
         "visible_to": item.visible_to, "term_count": item.term_count, "terms": item.terms}
        for item, d in ((item, item.document) for item in batch)], ensure_ascii=False)


@dataclass(frozen=True)
class _Stored:
    """What an upsert compares and counts of a stored document."""

    id: int
    text: str
    title: str
    url: str
    term_count: int
    lexemes: frozenset[str]


def _stored_as(item: _Prepared, row_id: int) -> _Stored:
    """What is stored of `item` once written in row `row_id`."""
    d = item.document
    return _Stored(row_id, d.text, d.title, d.url, item.term_count, item.lexemes)


def _shard(db: psycopg.Connection[Row]) -> int:
    """A shard of BM25's figures that this transaction has to itself until it ends.

    A shard no other writer holds if there is one (tried from a random one on), so that
    concurrent writers neither wait for each other's rows nor deadlock on them.
    """
    row = db.execute(
        "SELECT shard FROM (SELECT (%s + g) %% %s AS shard FROM generate_series(0, %s) g) s"
        " WHERE pg_try_advisory_xact_lock(%s::int, shard) LIMIT 1",
        (random.randrange(SHARDS), SHARDS, SHARDS - 1, _SHARD_LOCKS)).fetchone()
    if row is not None:
        return int(row["shard"])
    shard = random.randrange(SHARDS)  # every one taken: queue for one
    db.execute("SELECT pg_advisory_xact_lock(%s::int, %s::int)", (_SHARD_LOCKS, shard))
    return shard


def _count_into_index(db: psycopg.Connection[Row], shard: int, documents: int, terms: int,
                      lexemes: Counter[str]) -> None:
    """Add to BM25's figures in `shard`, in the caller's transaction: the documents and terms of
    the index, and how many documents hold each lexeme."""
    if documents or terms:
        db.execute(
            "INSERT INTO index_totals (shard, documents, terms) VALUES (%s, %s, %s)"
            " ON CONFLICT (shard) DO UPDATE SET"
            " documents = index_totals.documents + excluded.documents,"
            " terms = index_totals.terms + excluded.terms",
            (shard, documents, terms))
    # In the order of the primary key: one pass through its pages rather than a random walk.
    changed = [{"term": lexeme, "n": n} for lexeme, n in sorted(lexemes.items()) if n]
    if changed:
        db.execute(
            "INSERT INTO term_documents (term, shard, documents)"
            " SELECT term, %s, n FROM json_to_recordset(%s::json) AS t(term text, n bigint)"
            " ON CONFLICT (term, shard) DO UPDATE"
            " SET documents = term_documents.documents + excluded.documents",
            (shard, json.dumps(changed, ensure_ascii=False)))


class PostgresSearchStore(PostgresStore):
    """`SearchStore` on PostgreSQL full-text search."""

    def upsert(self, documents: Iterable[Document]) -> int:
        """Store documents in one transaction; an unchanged document is not rewritten."""
        with self.database.transaction() as db:
            shard = _shard(db)
            batch, inserted = self._insert_new(db, documents)
            # The others were stored already, or came twice: each in turn is compared with
            # what is stored (an identical copy changes nothing, an edit replaces it).
            first: dict[Key, int] = {}
            for number, item in enumerate(batch):
                first.setdefault(item.key, number)
            again = [item for number, item in enumerate(batch)
                     if item.key not in inserted or first[item.key] != number]
            before = self._stored(db, again, inserted)
            # What BM25's figures count once this batch is in: the stored documents, and the
            # new ones as first inserted.
            new = {key: _stored_as(batch[first[key]], row_id) for key, row_id in inserted.items()}
            counted = before | new
            stored = dict(counted)
            changes = 0
            edited: dict[Key, _Prepared] = {}
            for item in again:
                current, d = stored.get(item.key), item.document
                if current is None or (current.text, current.title, current.url) == (
                        d.text, d.title, d.url):
                    continue  # deleted meanwhile, or a redelivery, a retry, a duplicate
                stored[item.key] = _stored_as(item, current.id)
                edited[item.key] = item
                changes += 1
            self._update(db, [(stored[key].id, item) for key, item in edited.items()])
            lexemes: Counter[str] = Counter()
            terms = 0
            for document in new.values():
                lexemes.update(document.lexemes)
                terms += document.term_count
            for key in edited:
                was, now = counted[key], stored[key]
                lexemes.update(now.lexemes - was.lexemes)
                lexemes.subtract(was.lexemes - now.lexemes)
                terms += now.term_count - was.term_count
            _count_into_index(db, shard, len(new), terms, lexemes)
        return len(inserted) + changes

    @staticmethod
    def _insert_new(db: psycopg.Connection[Row],
                    documents: Iterable[Document]) -> tuple[list[_Prepared], dict[Key, int]]:
        """Insert the documents not stored yet, chunk after chunk: the terms of the next chunk
        are computed here while the database stores the one before (pipeline mode). Return
        every document prepared, and the ids of those inserted."""
        batch: list[_Prepared] = []
        inserts = []
        with db.pipeline():
            for chunk in _chunks(documents, CHUNK):
                prepared = [_prepared(d) for d in chunk]
                batch.extend(prepared)
                inserts.append(db.execute(_INSERT, {"rows": _json_rows(prepared)}))
        inserted = {(row["team"], row["channel"], row["ts"]): int(row["id"])
                    for cursor in inserts for row in cursor}
        return batch, inserted

    @staticmethod
    def _stored(db: psycopg.Connection[Row], again: list[_Prepared],
                inserted: dict[Key, int]) -> dict[Key, _Stored]:
        """What was stored before this batch of the documents of `again`, locked."""
        keys = list(dict.fromkeys(item.key for item in again if item.key not in inserted))
        if not keys:
            return {}
        rows = db.execute(
            "SELECT d.id, d.team, d.channel, d.ts, d.text, d.title, d.url, d.term_count,"
            " tsvector_to_array(d.terms) AS lexemes"
            " FROM documents d JOIN json_to_recordset(%s::json)"
            " AS k(team text, channel text, ts text)"
            " ON d.team = k.team AND d.channel = k.channel AND d.ts = k.ts"
            " ORDER BY d.id FOR UPDATE OF d",
            (json.dumps([{"team": team, "channel": channel, "ts": ts}
                         for team, channel, ts in keys], ensure_ascii=False),))
        return {(row["team"], row["channel"], row["ts"]): _Stored(
                    int(row["id"]), row["text"], row["title"], row["url"],
                    int(row["term_count"]), frozenset(row["lexemes"])) for row in rows}

    @staticmethod
    def _update(db: psycopg.Connection[Row], updates: list[tuple[int, _Prepared]]) -> None:
        """Write the last edit of each document: text, title, url, author and terms (its
        partition, channel type and time stay those it was first stored with)."""
        if updates:
            db.execute(
                "UPDATE documents AS d SET text = u.text, title = u.title, url = u.url,"
                " user_id = u.user_id, term_count = u.term_count, terms = u.terms::tsvector"
                " FROM json_to_recordset(%s::json) AS u(id bigint, text text, title text,"
                " url text, user_id text, term_count int, terms text)"
                " WHERE d.id = u.id",
                (json.dumps([{"id": row_id, "text": item.document.text,
                              "title": item.document.title, "url": item.document.url,
                              "user_id": item.document.user, "term_count": item.term_count,
                              "terms": item.terms} for row_id, item in updates],
                            ensure_ascii=False),))

    def delete(self, team: str, channel: str, ts: str) -> bool:
        """Remove one document."""
        with self.database.transaction() as db:
            row = db.execute(
                "DELETE FROM documents WHERE team = %s AND channel = %s AND ts = %s"
                " RETURNING term_count, tsvector_to_array(terms) AS lexemes",
                _cleaned([team, channel, ts])).fetchone()
            if row is not None:
                _count_into_index(db, _shard(db), -1, -int(row["term_count"]),
                                  Counter({lexeme: -1 for lexeme in row["lexemes"]}))
        return row is not None

    def count(self, team: str) -> int:
        """How many documents `team` has."""
        with self.database.connection() as db:
            row = db.execute("SELECT count(*) AS n FROM documents WHERE team = %s",
                             (_clean(team),)).fetchone()
        assert row is not None
        return int(row["n"])

    def search(self, query: Query, scope: Scope, limit: int, offset: int = 0) -> list[Hit]:
        """Best matches first; only what `scope` may see."""
        partitions = visible_partitions(Scope(_clean(scope.team), _clean(scope.channel)))
        with self.database.connection() as db:
            if not _has_text(query):
                rows = self._latest(db, query, partitions, limit, offset)
            else:
                branches = [b for b in (_branch(query, p) for p in partitions) if b is not None]
                if not branches:
                    rows = []  # a word too long to be in any document
                elif query.filters_rows:
                    rows = self._by_relevance(db, branches, _conditions(query), limit, offset)
                else:
                    rows = self._ranked(db, branches, limit, offset)
        stems = query.highlight_stems()
        return [Hit(_document(row), highlight(row["text"], stems)) for row in rows]

    def _ranked(self, db: psycopg.Connection[Row], branches: list[_Branch], limit: int,
                offset: int) -> list[Row]:
        # Relevance first, for a few pages' worth of candidates; then the mild recency bonus
        # re-orders only those.
        rows = self._by_relevance(db, branches, ("", []), candidate_count(limit, offset), 0)
        now = time.time()
        rows.sort(key=lambda r: r["rank"] - recency_bonus(r["at"], now))
        return rows[offset:offset + limit]

    def _by_relevance(self, db: psycopg.Connection[Row], branches: list[_Branch],
                      conditions: tuple[str, list[object]], limit: int,
                      offset: int) -> list[Row]:
        """The matches of `branches` that meet `conditions`, by BM25 alone: the lowest `rank`
        first, as FTS5 has it, and equal ones in the order they were indexed."""
        documents, average_length, idf = self._figures(db, branches)
        if not documents:
            return []
        where, where_params = conditions
        selects: list[str] = []
        params: list[object] = []
        for branch in branches:
            phrases = range(1, len(branch.phrases) + 1)
            # FTS5: score += idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * length / avgdl)),
            # phrase after phrase, in the same floating-point steps. The figures are arrays
            # (one parameter each, however many phrases there are).
            term = "q.idf[{i}] * ((s.f[{i}] * q.k1_1) / (s.f[{i}] + s.norm))"
            if len(phrases) <= _LONGEST_SUM:
                score = " + ".join(term.format(i=i) for i in phrases)
            else:  # the same additions in the same order, as an aggregate
                score = (f"(SELECT sum({term.format(i='i')})"
                         f" FROM generate_series(1, {len(phrases)}) AS i)")
            occurrences = ", ".join(
                f"ts_rank_cd({_UNIT_WEIGHTS}, d.terms, q.phrases[{i}], 0)" for i in phrases)
            selects.append(
                f"SELECT s.id, -({score}) AS rank FROM (SELECT %s::float8[] AS idf,"
                " %s::tsquery[] AS phrases, %s::float8 AS k1, %s::float8 AS k1_1,"
                " %s::float8 AS one_b, %s::float8 AS b, %s::float8 AS avgdl) q,"
                " LATERAL (SELECT d.id, q.k1 * (q.one_b + q.b * d.term_count / q.avgdl) AS norm,"
                f" ARRAY[{occurrences}]::float8[] AS f"
                f" FROM documents d WHERE d.terms @@ %s::tsquery{where}"
                # A fence: each count is computed once per row, not once per use in `score`.
                " OFFSET 0) s")
            params.extend(([idf[p] for p in branch.phrases],
                           [_phrase(p) for p in branch.phrases], K1, K1 + 1.0, 1 - B, B,
                           average_length, branch.tsquery, *where_params))
        return db.execute(
            f"SELECT {_COLUMNS}, c.rank FROM ({' UNION ALL '.join(selects)}"
            " ORDER BY rank, id LIMIT %s OFFSET %s) c JOIN documents d ON d.id = c.id"
            " ORDER BY c.rank, c.id",
            (*params, limit, offset)).fetchall()

    @staticmethod
    def _figures(db: psycopg.Connection[Row],
                 branches: list[_Branch]) -> tuple[int, float, dict[Phrase, float]]:
        """BM25's figures, in one snapshot: how many documents the index has, their average
        length, and the weight (IDF) of each phrase of `branches`."""
        phrases = list(dict.fromkeys(p for branch in branches for p in branch.phrases))
        words = [p[0] for p in phrases if len(p) == 1]
        longer = [p for p in phrases if len(p) > 1]
        counts = ", ".join("(SELECT count(*) FROM documents WHERE terms @@ %s::tsquery)"
                           for _ in longer)
        row = db.execute(
            "SELECT t.documents, t.terms, w.words, w.hits, ARRAY[" + counts + "]::bigint[]"
            " AS phrase_hits"
            " FROM (SELECT coalesce(sum(documents), 0) AS documents,"
            " coalesce(sum(terms), 0) AS terms FROM index_totals) t,"
            " (SELECT array_agg(term) AS words, array_agg(n) AS hits FROM (SELECT term,"
            " sum(documents) AS n FROM term_documents WHERE term = ANY(%s::text[])"
            " GROUP BY term) g) w",
            (*(_phrase(p) for p in longer), words)).fetchone()
        assert row is not None
        documents, terms = int(row["documents"]), int(row["terms"])
        if documents <= 0:
            return 0, 0.0, {}
        hits: dict[Phrase, int] = {(word,): int(n)
                                   for word, n in zip(row["words"] or [], row["hits"] or [],
                                                      strict=True)}
        hits.update(zip(longer, map(int, row["phrase_hits"]), strict=True))
        idf = {phrase: _idf(documents, hits.get(phrase, 0)) for phrase in phrases}
        # Only an index of empty documents has no terms (and nothing in it matches).
        return documents, (terms / documents if terms > 0 else 1.0), idf

    def _latest(self, db: psycopg.Connection[Row], query: Query, partitions: list[str],
                limit: int, offset: int) -> list[Row]:
        """The newest documents of `partitions` that meet `query`'s modifiers."""
        where, where_params = _conditions(query)
        # One ordered index scan per partition, then the newest of them all.
        selects = [f"(SELECT d.id, d.at FROM documents d WHERE d.visible_to = %s{where}"
                   " ORDER BY d.at DESC, d.id DESC LIMIT %s)" for _ in partitions]
        params: list[object] = []
        for p in partitions:
            params.extend((p, *where_params, offset + limit))
        return db.execute(
            f"SELECT {_COLUMNS} FROM (SELECT id, at FROM ({' UNION ALL '.join(selects)}) u"
            " ORDER BY at DESC, id DESC LIMIT %s OFFSET %s) c JOIN documents d ON d.id = c.id"
            " ORDER BY c.at DESC, c.id DESC",
            (*params, limit, offset)).fetchall()


class PostgresSearchState(PostgresStore):
    """`SearchState` in the search schema."""

    def remember_query(self, team: str, channel: str, user: str, query: str,
                       page: int) -> None:
        """Record the query `user` ran in `channel` and the page shown (0 first)."""
        with self.database.connection() as db:
            db.execute(
                "INSERT INTO last_queries (team, channel, user_id, query, page, at)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (team, channel, user_id)"
                " DO UPDATE SET query = excluded.query, page = excluded.page, at = excluded.at",
                (*_cleaned([team, channel, user, query]), page, time.time()))

    def last_query(self, team: str, channel: str, user: str) -> tuple[str, int] | None:
        """(query, page) that `user` last ran in `channel`, or None."""
        with self.database.connection() as db:
            row = db.execute(
                "SELECT query, page FROM last_queries"
                " WHERE team = %s AND channel = %s AND user_id = %s",
                _cleaned([team, channel, user])).fetchone()
        return None if row is None else (str(row["query"]), int(row["page"]))

    def team_domain(self, team: str) -> str | None:
        """The Slack domain recorded for `team`, or None."""
        with self.database.connection() as db:
            row = db.execute("SELECT domain FROM team_domains WHERE team = %s",
                             (_clean(team),)).fetchone()
        return None if row is None else str(row["domain"])

    def remember_team_domain(self, team: str, domain: str) -> None:
        """Record `team`'s Slack domain."""
        with self.database.connection() as db:
            db.execute("INSERT INTO team_domains (team, domain) VALUES (%s, %s)"
                       " ON CONFLICT (team) DO UPDATE SET domain = excluded.domain",
                       _cleaned([team, domain]))


class PostgresNameCache(PostgresStore):
    """`NameCache` in the search schema."""

    def fetched_at(self, team: str, kind: str) -> float | None:
        """When the names of `kind` were last listed for `team`."""
        with self.database.connection() as db:
            row = db.execute("SELECT at FROM slack_names_fetched WHERE team = %s AND kind = %s",
                             _cleaned([team, kind])).fetchone()
        return None if row is None else float(row["at"])

    def ids(self, team: str, kind: str, name: str) -> list[str]:
        """The ids called `name`, best rank only."""
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT id, rank FROM slack_names WHERE team = %s AND kind = %s AND name = %s"
                " ORDER BY rank, id", _cleaned([team, kind, name])).fetchall()
        if not rows:
            return []
        best = rows[0]["rank"]
        return [str(r["id"]) for r in rows if r["rank"] == best]

    def replace(self, team: str, kind: str, entries: Iterable[tuple[str, str, int]]) -> None:
        """Replace `team`'s names of `kind` with (name, id, rank) `entries`, in one go."""
        listed = [{"name": _clean(name), "id": _clean(id_), "rank": rank}
                  for name, id_, rank in entries]
        team, kind = _clean(team), _clean(kind)
        with self.database.transaction() as db:
            db.execute("DELETE FROM slack_names WHERE team = %s AND kind = %s", (team, kind))
            db.execute(
                "INSERT INTO slack_names (team, kind, name, id, rank)"
                " SELECT %s, %s, name, id, rank"
                " FROM json_to_recordset(%s::json) AS u(name text, id text, rank int)"
                " ON CONFLICT DO NOTHING",
                (team, kind, json.dumps(listed, ensure_ascii=False)))
            db.execute("INSERT INTO slack_names_fetched (team, kind, at) VALUES (%s, %s, %s)"
                       " ON CONFLICT (team, kind) DO UPDATE SET at = excluded.at",
                       (team, kind, time.time()))


class PostgresBackfillLog(PostgresStore):
    """`BackfillLog` in the search schema, shared by every host."""

    def claim(self, job_id: str, team: str, channel: str) -> tuple[str, bool]:
        """(the channel of `job_id`'s backfill, whether the caller must start it now)."""
        now = time.time()
        job_id = _clean(job_id)
        with self.database.transaction() as db:
            db.execute("INSERT INTO backfills (job_id, team, channel, started, outcome,"
                       " updated_at) VALUES (%s, %s, %s, false, '', %s)"
                       " ON CONFLICT (job_id) DO NOTHING",
                       (job_id, _clean(team), _clean(channel), now))
            # Two hosts claiming at once: the second waits for the first's row lock, then
            # finds it started.
            taken = db.execute("UPDATE backfills SET started = true, updated_at = %s"
                               " WHERE job_id = %s AND NOT started", (now, job_id)).rowcount == 1
            row = db.execute("SELECT channel FROM backfills WHERE job_id = %s",
                             (job_id,)).fetchone()
        assert row is not None
        return str(row["channel"]), taken

    def unclaim(self, job_id: str) -> None:
        """The start failed before its first page was published: a re-run may start it."""
        with self.database.connection() as db:
            db.execute("UPDATE backfills SET started = false WHERE job_id = %s",
                       (_clean(job_id),))

    def finish(self, job_id: str, outcome: str) -> None:
        """Record how the backfill ended."""
        with self.database.connection() as db:
            db.execute("UPDATE backfills SET outcome = %s, updated_at = %s WHERE job_id = %s",
                       (_clean(outcome), time.time(), _clean(job_id)))

    def outcome(self, job_id: str) -> str | None:
        """How the backfill ended ('' while running), None for an unknown job."""
        with self.database.connection() as db:
            row = db.execute("SELECT outcome FROM backfills WHERE job_id = %s",
                             (_clean(job_id),)).fetchone()
        return None if row is None else str(row["outcome"])

    def prune(self, older_than: float) -> int:
        """Forget backfills that ended more than `older_than` seconds ago; return how many."""
        with self.database.connection() as db:
            return int(db.execute(
                "DELETE FROM backfills WHERE outcome <> '' AND updated_at < %s",
                (time.time() - older_than,)).rowcount)
