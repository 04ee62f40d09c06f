"""The search store on SQLite FTS5: one WAL file under `DATA_DIR`, safe for many processes."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from workers.search import text
from workers.search.query import Query
from workers.search.store import PUBLIC, Document, Hit, Scope
from workers.storage import open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id           INTEGER PRIMARY KEY,
    team         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    ts           TEXT NOT NULL,
    user         TEXT NOT NULL,
    text         TEXT NOT NULL,
    channel_type TEXT NOT NULL,
    thread_ts    TEXT NOT NULL,
    title        TEXT NOT NULL,
    url          TEXT NOT NULL,
    at           REAL NOT NULL,
    terms        TEXT NOT NULL,   -- stems of the text (and title), what FTS5 indexes
    scope        TEXT NOT NULL,   -- tokens of team, channel and visibility, for filtering
    UNIQUE (team, channel, ts)
);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
    terms, scope, content='documents', content_rowid='id',
    tokenize="unicode61 remove_diacritics 2"
);
CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts (rowid, terms, scope) VALUES (new.id, new.terms, new.scope);
END;
CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, terms, scope)
    VALUES ('delete', old.id, old.terms, old.scope);
END;
CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, terms, scope)
    VALUES ('delete', old.id, old.terms, old.scope);
    INSERT INTO documents_fts (rowid, terms, scope) VALUES (new.id, new.terms, new.scope);
END;
"""

RECENCY_DAYS = 30.0  # a message this old has lost half of its (mild) recency bonus
_SCOPE_WORD = re.compile(r"[^A-Za-z0-9]")
SNIPPET_WORDS = 24


def _token(prefix: str, value: str) -> str:
    # Scope tokens are single FTS words: ids lose anything the tokenizer would split on.
    return prefix + _SCOPE_WORD.sub("", value).lower()


def scope_terms(document: Document) -> str:
    """The scope column: team, channel and, for public channels, the public marker."""
    tokens = [_token("team", document.team), _token("chan", document.channel)]
    if document.channel_type in (PUBLIC, "kb"):
        tokens.append("visibilitypublic")
    return " ".join(tokens)


def highlight(original: str, stems: set[str], words: int = SNIPPET_WORDS) -> str:
    """A window of `original` around the first matching word, matches in *bold*."""
    tokens = text.plain(original).split()
    marks = []
    for token in tokens:
        folded = text.words(token)
        marks.append(any(stem in stems for w in folded for stem in text.query_stems(w)))
    first = marks.index(True) if True in marks else 0
    start = max(0, first - words // 3)
    window = [f"*{t}*" if marked else t
              for t, marked in zip(tokens[start:start + words], marks[start:start + words],
                                   strict=True)]
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + words < len(tokens) else ""
    return prefix + " ".join(window) + suffix


class SqliteSearchStore:
    """`SearchStore` on SQLite FTS5."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def db(self) -> sqlite3.Connection:
        """This process's connection."""
        return open_database(self.path, SCHEMA)

    def upsert(self, documents: Iterable[Document]) -> int:
        """Store documents in one transaction; an unchanged document is not rewritten."""
        rows = [
            (d.team, d.channel, d.ts, d.user, d.text, d.channel_type, d.thread_ts, d.title,
             d.url, d.at, text.index_terms(f"{d.title} {d.text}"), scope_terms(d))
            for d in documents
        ]
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            cursor = db.executemany(
                "INSERT INTO documents (team, channel, ts, user, text, channel_type, thread_ts,"
                " title, url, at, terms, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (team, channel, ts) DO UPDATE SET"
                " text = excluded.text, title = excluded.title, url = excluded.url,"
                " terms = excluded.terms, user = excluded.user"
                " WHERE documents.text IS NOT excluded.text OR documents.title IS NOT"
                " excluded.title OR documents.url IS NOT excluded.url",
                rows,
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(cursor.rowcount)

    def delete(self, team: str, channel: str, ts: str) -> bool:
        """Remove one document."""
        cursor = self.db.execute(
            "DELETE FROM documents WHERE team = ? AND channel = ? AND ts = ?", (team, channel, ts)
        )
        return cursor.rowcount > 0

    def count(self, team: str) -> int:
        """How many documents `team` has."""
        row = self.db.execute("SELECT count(*) FROM documents WHERE team = ?", (team,)).fetchone()
        return int(row[0])

    def search(self, query: Query, scope: Scope, limit: int, offset: int = 0) -> list[Hit]:
        """Best matches first; only `scope.team`'s documents, private ones only from inside."""
        visible = f'"visibilitypublic" OR "{_token("chan", scope.channel)}"'
        match = f'scope : ("{_token("team", scope.team)}" AND ({visible}))'
        if query.in_channels:
            channels = " OR ".join(f'"{_token("chan", c)}"' for c in query.in_channels)
            match += f" AND scope : ({channels})"
        expression = query.match_expression()
        if expression:
            match += f" AND terms : ({expression})"
        conditions = ["documents_fts MATCH ?", "d.team = ?"]
        params: list[object] = [match, scope.team]
        if query.from_users:
            conditions.append(f"d.user IN ({', '.join('?' * len(query.from_users))})")
            params.extend(query.from_users)
        if query.before is not None:
            conditions.append("d.at < ?")
            params.append(query.before)
        if query.after is not None:
            conditions.append("d.at >= ?")
            params.append(query.after)
        # bm25() is negative, better is lower; a recent message gets up to 1 point of bonus.
        order = (
            "bm25(documents_fts, 1.0, 0.0) - 1.0 / (1.0 + max(0, unixepoch() - d.at)"
            f" / {RECENCY_DAYS * 86400})"
            if expression else "d.at DESC"
        )
        rows = self.db.execute(
            "SELECT d.team, d.channel, d.ts, d.text, d.user, d.channel_type, d.thread_ts,"
            " d.title, d.url FROM documents_fts JOIN documents d ON d.id = documents_fts.rowid"
            f" WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        stems = query.highlight_stems()
        hits = []
        for row in rows:
            document = Document(*row)
            hits.append(Hit(document, highlight(document.text, stems)))
        return hits
