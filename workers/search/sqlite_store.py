"""The search stores on SQLite (FTS5): one WAL file under `DATA_DIR`, safe for many processes.

The full-text vocabulary is partitioned: every indexed stem carries a short prefix derived
from the team (public channels, knowledge bases) or from the team and the conversation
(private channels, DMs). A query therefore only ever reads the posting lists of what its
caller may see — isolation by construction, and no time spent on other teams' postings.

The service's small state (last queries, team domains, the names cache, backfills) lives in
the same file, in tables of its own.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable

from estafeta.storage import SqliteFile
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

_COLUMNS = "d.team, d.channel, d.ts, d.text, d.user, d.channel_type, d.thread_ts, d.title, d.url"


class SqliteSearchStore(SqliteFile):
    """`SearchStore` on SQLite FTS5."""

    history = "search"

    def upsert(self, documents: Iterable[Document]) -> int:
        """Store documents in one transaction; an unchanged document is not rewritten."""
        prepared = []
        for d in documents:
            prefix = partition_of(d)
            terms = " ".join(document_terms(d, prefix))
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
        wanted = candidate_count(limit, offset)
        rows = self.db.execute(
            f"SELECT {_COLUMNS}, d.at, c.rank FROM (SELECT rowid, rank FROM documents_fts"
            " WHERE documents_fts MATCH ? ORDER BY rank LIMIT ?) c"
            " JOIN documents d ON d.id = c.rowid",
            (match, wanted),
        ).fetchall()
        now = time.time()
        rows.sort(key=lambda r: r["rank"] - recency_bonus(r["at"], now))
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
