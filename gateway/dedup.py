"""Slack event ids already accepted, so that Slack's retries are not published again."""

from __future__ import annotations

import time
from pathlib import Path

from workers.storage import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS accepted_events (
    event_id    TEXT PRIMARY KEY,
    accepted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS accepted_events_by_time ON accepted_events (accepted_at);
"""

RETENTION = 24 * 3600  # Slack retries for about an hour; a day leaves a wide margin
PRUNE_EVERY = 1000


class AcceptedEvents(SqliteFile):
    """A SQLite set of event ids shared by every gateway process on this volume."""

    schema = SCHEMA

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._inserts = 0

    def __contains__(self, event_id: str) -> bool:
        row = self.db.execute("SELECT 1 FROM accepted_events WHERE event_id = ?", (event_id,))
        return row.fetchone() is not None

    def add(self, event_id: str) -> None:
        """Remember an accepted event id (and now and then forget the old ones)."""
        db = self.db
        now = time.time()
        db.execute(
            "INSERT OR IGNORE INTO accepted_events (event_id, accepted_at) VALUES (?, ?)",
            (event_id, now),
        )
        self._inserts += 1
        if self._inserts % PRUNE_EVERY == 0:
            db.execute("DELETE FROM accepted_events WHERE accepted_at < ?", (now - RETENTION,))
