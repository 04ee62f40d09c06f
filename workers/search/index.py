"""The search service's store: heard messages in SQLite with an FTS5 full-text index."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from payloads import HeardMessage
from workers.storage import open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id           INTEGER PRIMARY KEY,
    team         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    ts           TEXT NOT NULL,
    user         TEXT NOT NULL,
    text         TEXT NOT NULL,
    channel_type TEXT NOT NULL,
    thread_ts    TEXT NOT NULL,
    UNIQUE (team, channel, ts)
);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    text, content='messages', content_rowid='id',
    tokenize="unicode61 remove_diacritics 2"
);
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
"""

PUBLIC_CHANNEL_TYPES = ("channel", "")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    """One search result."""

    channel: str
    ts: str
    user: str
    snippet: str


class MessageIndex:
    """Heard messages of every team, each query confined to one team."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def db(self) -> sqlite3.Connection:
        """This process's connection."""
        return open_database(self.path, SCHEMA)

    def apply(self, message: HeardMessage) -> None:
        """Store, update or delete a heard message; applying it twice changes nothing."""
        if message.deleted:
            self.db.execute(
                "DELETE FROM messages WHERE team = ? AND channel = ? AND ts = ?",
                (message.team, message.channel, message.ts),
            )
            return
        self.db.execute(
            "INSERT INTO messages (team, channel, ts, user, text, channel_type, thread_ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (team, channel, ts) DO UPDATE SET text = excluded.text"
            " WHERE messages.text IS NOT excluded.text",
            (message.team, message.channel, message.ts, message.user, message.text,
             message.channel_type, message.thread_ts),
        )

    def count(self, team: str) -> int:
        """How many messages of `team` are stored."""
        row = self.db.execute("SELECT count(*) FROM messages WHERE team = ?", (team,)).fetchone()
        return int(row[0])

    def find(self, team: str, channel: str, words: str, limit: int = 5) -> list[Hit]:
        """Messages of `team` containing every word, best first; private ones only from inside."""
        terms = _WORD.findall(words)
        if not terms:
            return []
        # Each word is quoted, so nothing a user types can be FTS5 syntax.
        match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
        rows = self.db.execute(
            "SELECT m.channel, m.ts, m.user,"
            " snippet(messages_fts, 0, '*', '*', '…', 12) AS snippet"
            " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
            " WHERE messages_fts MATCH ? AND m.team = ?"
            " AND (m.channel_type IN ('channel', '') OR m.channel = ?)"
            " ORDER BY bm25(messages_fts) LIMIT ?",
            (match, team, channel, limit),
        ).fetchall()
        return [Hit(r["channel"], r["ts"], r["user"], r["snippet"]) for r in rows]
