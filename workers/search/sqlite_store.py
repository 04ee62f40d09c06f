"""The search stores on SQLite (FTS5): one WAL file under `DATA_DIR`, safe for many processes.

The full-text vocabulary is partitioned: every indexed stem carries a short prefix derived
from the team (public channels, knowledge bases) or from the team and the conversation
(private channels, DMs). A query therefore only ever reads the posting lists of what its
caller may see — isolation by construction, and no time spent on other teams' postings.

The service's small state (last queries, team domains, the names cache, backfills) lives in
the same file, in tables of its own.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable

from estafeta.storage import SqliteFile
from workers.search import text
from workers.search.query import Query
from workers.search.store import PUBLIC, Document, Hit, Scope


RECENCY_DAYS = 30.0  # a message this old has lost half of its (mild) recency bonus
CANDIDATES = 4  # rank this many times a page by relevance, then re-rank with recency
SNIPPET_WORDS = 24
# How much of a result's text is searched for the words to highlight: a match further in is
# not shown (the snippet is then the text's start); Slack's 40,000-character messages would
# otherwise cost every search that finds them a stem lookup per word.
HIGHLIGHT_CHARACTERS = 4_000
SNIPPET_TOKEN_CHARACTERS = 60  # a 40,000-character "word" is shown as its first 60


def partition(team: str, channel: str | None = None) -> str:
    """The vocabulary partition of a team's public documents, or of one private conversation.

    A short hash, so that it is a plain ASCII word that can prefix every stem.
    """
    key = team if channel is None else f"{team}/{channel}"
    return "p" + hashlib.blake2s(key.encode(), digest_size=5).hexdigest() + "x"


def partition_of(document: Document) -> str:
    """Who may find `document`: its team (public channels, knowledge bases) or its channel."""
    if document.channel_type in (PUBLIC, "kb"):
        return partition(document.team)
    return partition(document.team, document.channel)


def visible_partitions(scope: Scope) -> list[str]:
    """The partitions a searcher may read: the team's, and the private conversation it is in."""
    partitions = [partition(scope.team)]
    if scope.channel:
        partitions.append(partition(scope.team, scope.channel))
    return partitions


def _shorten(token: str) -> str:
    """A word of a snippet, cut at `SNIPPET_TOKEN_CHARACTERS` (never inside `&amp;`)."""
    if len(token) <= SNIPPET_TOKEN_CHARACTERS:
        return token
    cut = token[:SNIPPET_TOKEN_CHARACTERS - 1]
    amp = cut.rfind("&", -5)
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def highlight(original: str, stems: set[str], words: int = SNIPPET_WORDS) -> str:
    """A window of `original` around the first matching word, matches in *bold*.

    Only the first `HIGHLIGHT_CHARACTERS` of the text are searched for a match and a word is
    shown up to `SNIPPET_TOKEN_CHARACTERS`, so a result's snippet costs and weighs the same
    whether its message has 40 characters or Slack's 40,000.
    """
    plain = text.plain(original)
    if len(plain) > HIGHLIGHT_CHARACTERS:
        cut = plain.rfind(" ", 0, HIGHLIGHT_CHARACTERS + 1)
        plain = plain[:cut if cut > HIGHLIGHT_CHARACTERS // 2 else HIGHLIGHT_CHARACTERS]
        truncated = True
    else:
        truncated = False
    tokens = plain.split()
    marked: dict[int, bool] = {}

    def is_match(i: int) -> bool:
        if i not in marked:
            marked[i] = any(stem in stems for w in text.words(tokens[i])
                            for stem in text.query_stems(w))
        return marked[i]

    # Stems are computed only up to the first match and inside the window.
    first = next((i for i in range(len(tokens)) if is_match(i)), 0)
    start = max(0, first - words // 3)
    window = [f"*{_shorten(tokens[i])}*" if is_match(i) else _shorten(tokens[i])
              for i in range(start, min(len(tokens), start + words))]
    prefix = "… " if start > 0 else ""
    suffix = " …" if truncated or start + words < len(tokens) else ""
    return prefix + " ".join(window) + suffix


def _recency_bonus(at: float, now: float) -> float:
    return 1.0 / (1.0 + max(0.0, now - at) / (RECENCY_DAYS * 86400))


_COLUMNS = "d.team, d.channel, d.ts, d.text, d.user, d.channel_type, d.thread_ts, d.title, d.url"


class SqliteSearchStore(SqliteFile):
    """`SearchStore` on SQLite FTS5."""

    history = "search"

    def upsert(self, documents: Iterable[Document]) -> int:
        """Store documents in one transaction; an unchanged document is not rewritten."""
        prepared = []
        for d in documents:
            prefix = partition_of(d)
            terms = " ".join(prefix + t for t in text.index_terms(f"{d.title} {d.text}").split())
            prepared.append((d, prefix, terms))
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            # Most documents are new: insert them all at once with ids handed out here (inside
            # the write transaction), then see which ids made it; the rest already existed.
            first = int(db.execute("SELECT coalesce(max(id), 0) FROM documents").fetchone()[0])
            rows = [(first + n + 1, d.team, d.channel, d.ts, d.user, d.text, d.channel_type,
                     d.thread_ts, d.title, d.url, d.at, prefix, terms)
                    for n, (d, prefix, terms) in enumerate(prepared)]
            db.executemany(
                "INSERT OR IGNORE INTO documents (id, team, channel, ts, user, text,"
                " channel_type, thread_ts, title, url, at, visible_to, terms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            inserted = {row[0] for row in db.execute(
                "SELECT id FROM documents WHERE id > ? AND id <= ?", (first, first + len(rows)))}
            indexed = [(row[0], row[12]) for row in rows if row[0] in inserted]
            db.executemany("INSERT INTO documents_fts (rowid, terms) VALUES (?, ?)", indexed)
            # Only then the others, one by one: an edit may replace a row inserted just above.
            replaced = sum(self._replace(d, terms)
                           for row, (d, _, terms) in zip(rows, prepared, strict=True)
                           if row[0] not in inserted)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(indexed) + replaced

    def _replace(self, d: Document, terms: str) -> bool:
        """Update an existing document, and its index entry, if it changed."""
        old = self.db.execute(
            "SELECT id, text, title, url, terms FROM documents"
            " WHERE team = ? AND channel = ? AND ts = ?", (d.team, d.channel, d.ts)).fetchone()
        if old is None or (old["text"], old["title"], old["url"]) == (d.text, d.title, d.url):
            return False  # a redelivery, a retry, or a duplicate inside this batch
        self._unindex(old["id"], old["terms"])
        self.db.execute("UPDATE documents SET text = ?, title = ?, url = ?, user = ?, terms = ?"
                        " WHERE id = ?", (d.text, d.title, d.url, d.user, terms, old["id"]))
        self.db.execute("INSERT INTO documents_fts (rowid, terms) VALUES (?, ?)",
                        (old["id"], terms))
        return True

    def _unindex(self, row_id: int, terms: str) -> None:
        # A contentless index forgets a row given exactly the terms it was given.
        self.db.execute("INSERT INTO documents_fts (documents_fts, rowid, terms)"
                        " VALUES ('delete', ?, ?)", (row_id, terms))

    def delete(self, team: str, channel: str, ts: str) -> bool:
        """Remove one document."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            old = db.execute("DELETE FROM documents WHERE team = ? AND channel = ? AND ts = ?"
                             " RETURNING id, terms", (team, channel, ts)).fetchone()
            if old is not None:
                self._unindex(old["id"], old["terms"])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return old is not None

    def count(self, team: str) -> int:
        """How many documents `team` has."""
        row = self.db.execute("SELECT count(*) FROM documents WHERE team = ?", (team,)).fetchone()
        return int(row[0])

    def search(self, query: Query, scope: Scope, limit: int, offset: int = 0) -> list[Hit]:
        """Best matches first; only what `scope` may see."""
        partitions = visible_partitions(scope)
        expressions = [query.match_expression(p) for p in partitions]
        if not any(expressions):
            rows = self._latest(query, partitions, limit, offset)
        elif query.filters_rows:
            rows = self._filtered(query, " OR ".join(f"({e})" for e in expressions),
                                  limit, offset)
        else:
            rows = self._ranked(" OR ".join(f"({e})" for e in expressions), limit, offset)
        stems = query.highlight_stems()
        return [Hit(Document(*row[:9]), highlight(row[3], stems)) for row in rows]

    def _ranked(self, match: str, limit: int, offset: int) -> list[sqlite3.Row]:
        # Relevance first, inside FTS5 alone (no row lookups), for a few pages' worth of
        # candidates; then the mild recency bonus re-orders only those.
        wanted = (offset + limit) * CANDIDATES + 20
        rows = self.db.execute(
            f"SELECT {_COLUMNS}, d.at, c.rank FROM (SELECT rowid, rank FROM documents_fts"
            " WHERE documents_fts MATCH ? ORDER BY rank LIMIT ?) c"
            " JOIN documents d ON d.id = c.rowid",
            (match, wanted),
        ).fetchall()
        now = time.time()
        rows.sort(key=lambda r: r["rank"] - _recency_bonus(r["at"], now))
        return rows[offset:offset + limit]

    def _filtered(self, query: Query, match: str, limit: int, offset: int) -> list[sqlite3.Row]:
        conditions, params = self._conditions(query)
        return self.db.execute(
            f"SELECT {_COLUMNS} FROM documents_fts JOIN documents d ON d.id = documents_fts.rowid"
            f" WHERE documents_fts MATCH ? {conditions} ORDER BY documents_fts.rank"
            " LIMIT ? OFFSET ?",
            (match, *params, limit, offset),
        ).fetchall()

    def _latest(self, query: Query, partitions: list[str], limit: int,
                offset: int) -> list[sqlite3.Row]:
        conditions, params = self._conditions(query)
        marks = ", ".join("?" * len(partitions))
        return self.db.execute(
            f"SELECT {_COLUMNS} FROM documents d WHERE d.visible_to IN ({marks}) {conditions}"
            " ORDER BY d.at DESC LIMIT ? OFFSET ?",
            (*partitions, *params, limit, offset),
        ).fetchall()

    @staticmethod
    def _conditions(query: Query) -> tuple[str, list[object]]:
        conditions = ""
        params: list[object] = []
        for column, values in (("d.user", query.from_users), ("d.channel", query.in_channels)):
            if values:
                conditions += f" AND {column} IN ({', '.join('?' * len(values))})"
                params.extend(values)
        if query.before is not None:
            conditions += " AND d.at < ?"
            params.append(query.before)
        if query.after is not None:
            conditions += " AND d.at >= ?"
            params.append(query.after)
        return conditions, params




class SqliteSearchState(SqliteFile):
    """`SearchState` in the search service's file."""

    history = "search"

    def remember_query(self, team: str, channel: str, user: str, query: str,
                       page: int) -> None:
        """Record the query `user` ran in `channel` and the page shown (0 first)."""
        self.db.execute("INSERT OR REPLACE INTO last_queries VALUES (?, ?, ?, ?, ?, ?)",
                        (team, channel, user, query, page, time.time()))

    def last_query(self, team: str, channel: str, user: str) -> tuple[str, int] | None:
        """(query, page) that `user` last ran in `channel`, or None."""
        row = self.db.execute(
            "SELECT query, page FROM last_queries WHERE team = ? AND channel = ? AND user = ?",
            (team, channel, user)).fetchone()
        return None if row is None else (str(row["query"]), int(row["page"]))

    def team_domain(self, team: str) -> str | None:
        """The Slack domain recorded for `team`, or None."""
        row = self.db.execute("SELECT domain FROM team_domains WHERE team = ?",
                              (team,)).fetchone()
        return None if row is None else str(row["domain"])

    def remember_team_domain(self, team: str, domain: str) -> None:
        """Record `team`'s Slack domain."""
        self.db.execute("INSERT OR REPLACE INTO team_domains VALUES (?, ?)", (team, domain))




class SqliteNameCache(SqliteFile):
    """`NameCache` in the search service's file."""

    history = "search"

    def fetched_at(self, team: str, kind: str) -> float | None:
        """When the names of `kind` were last listed for `team`."""
        row = self.db.execute("SELECT at FROM slack_names_fetched WHERE team = ? AND kind = ?",
                              (team, kind)).fetchone()
        return None if row is None else float(row["at"])

    def ids(self, team: str, kind: str, name: str) -> list[str]:
        """The ids called `name`, best rank only."""
        rows = self.db.execute(
            "SELECT id, rank FROM slack_names WHERE team = ? AND kind = ? AND name = ?"
            " ORDER BY rank, id", (team, kind, name)).fetchall()
        if not rows:
            return []
        best = rows[0]["rank"]
        return [str(r["id"]) for r in rows if r["rank"] == best]

    def replace(self, team: str, kind: str, entries: Iterable[tuple[str, str, int]]) -> None:
        """Replace `team`'s names of `kind` with (name, id, rank) `entries`, in one go."""
        with self.transaction() as db:
            db.execute("DELETE FROM slack_names WHERE team = ? AND kind = ?", (team, kind))
            db.executemany("INSERT OR IGNORE INTO slack_names VALUES (?, ?, ?, ?, ?)",
                           [(team, kind, name, id_, rank) for name, id_, rank in entries])
            db.execute("INSERT OR REPLACE INTO slack_names_fetched VALUES (?, ?, ?)",
                       (team, kind, time.time()))




class SqliteBackfillLog(SqliteFile):
    """`BackfillLog` in the search service's file."""

    history = "search"

    def claim(self, job_id: str, team: str, channel: str) -> tuple[str, bool]:
        """(the channel of `job_id`'s backfill, whether the caller must start it now)."""
        self.db.execute("INSERT OR IGNORE INTO backfills VALUES (?, ?, ?, 0, '', ?)",
                        (job_id, team, channel, time.time()))
        taken = self.db.execute(
            "UPDATE backfills SET started = 1, updated_at = ? WHERE job_id = ? AND started = 0",
            (time.time(), job_id)).rowcount == 1
        row = self.db.execute("SELECT channel FROM backfills WHERE job_id = ?",
                              (job_id,)).fetchone()
        return str(row["channel"]), taken

    def unclaim(self, job_id: str) -> None:
        """The start failed before its first page was published: a re-run may start it."""
        self.db.execute("UPDATE backfills SET started = 0 WHERE job_id = ?", (job_id,))

    def finish(self, job_id: str, outcome: str) -> None:
        """Record how the backfill ended."""
        self.db.execute("UPDATE backfills SET outcome = ?, updated_at = ? WHERE job_id = ?",
                        (outcome, time.time(), job_id))

    def outcome(self, job_id: str) -> str | None:
        """How the backfill ended ('' while running), None for an unknown job."""
        row = self.db.execute("SELECT outcome FROM backfills WHERE job_id = ?",
                              (job_id,)).fetchone()
        return None if row is None else str(row["outcome"])

    def prune(self, older_than: float) -> int:
        """Forget backfills that ended more than `older_than` seconds ago; return how many."""
        return int(self.db.execute(
            "DELETE FROM backfills WHERE outcome != '' AND updated_at < ?",
            (time.time() - older_than,)).rowcount)
