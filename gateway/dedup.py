"""What the gateway has accepted: Slack event ids and triggers (so that retries and replays are
not published again) and the team that owns each HTTP task (so that only it reads the task)."""

from __future__ import annotations

import time
from pathlib import Path

from estafeta.storage import SqliteFile
from workers.app import RESULT_EXPIRES

SCHEMA = """
CREATE TABLE IF NOT EXISTS accepted_events (
    event_id    TEXT PRIMARY KEY,
    accepted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS accepted_events_by_time ON accepted_events (accepted_at);
"""

OWNERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS task_owners (
    task_id     TEXT PRIMARY KEY,
    team        TEXT NOT NULL,
    accepted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS task_owners_by_time ON task_owners (accepted_at);
"""

# Slack retries events for about an hour and a signed request is valid for 5 minutes: a day
# leaves a wide margin for both.
RETENTION = 24 * 3600
# An owner is needed as long as its task's result can still be read.
OWNER_RETENTION = RESULT_EXPIRES + 24 * 3600
PRUNE_EVERY = 1000
# Longer ids are not Slack's: they are not remembered (the request is still served).
MAX_TRIGGER_ID = 200


def trigger_key(team: str, trigger_id: object) -> str | None:
    """The accepted-events key of a slash command or interaction, None without a trigger id."""
    if not isinstance(trigger_id, str) or not trigger_id or len(trigger_id) > MAX_TRIGGER_ID:
        return None
    return f"trigger:{team}:{trigger_id}"


class AcceptedEvents(SqliteFile):
    """A SQLite set of event ids and trigger keys shared by every gateway process on this volume.
    """

    schema = SCHEMA

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._inserts = 0

    def __contains__(self, event_id: str) -> bool:
        row = self.db.execute("SELECT 1 FROM accepted_events WHERE event_id = ?", (event_id,))
        return row.fetchone() is not None

    def add(self, event_id: str) -> None:
        """Remember an accepted event id (and now and then forget the old ones)."""
        self.claim(event_id)

    def claim(self, key: str) -> bool:
        """Remember `key`; True only for the first of concurrent or repeated claims."""
        now = time.time()
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO accepted_events (event_id, accepted_at) VALUES (?, ?)",
            (key, now),
        )
        self._inserts += 1
        if self._inserts % PRUNE_EVERY == 0:
            self.db.execute("DELETE FROM accepted_events WHERE accepted_at < ?",
                            (now - RETENTION,))
        return cursor.rowcount == 1

    def discard(self, key: str) -> None:
        """Forget a claim whose work was not accepted after all (the broker was down)."""
        self.db.execute("DELETE FROM accepted_events WHERE event_id = ?", (key,))


class TaskOwners(SqliteFile):
    """task id → team, written when the gateway accepts an HTTP command, before it publishes."""

    schema = OWNERS_SCHEMA

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._inserts = 0

    def record(self, task_id: str, team: str) -> None:
        """Remember that `team` asked for `task_id`."""
        now = time.time()
        self.db.execute(
            "INSERT OR REPLACE INTO task_owners (task_id, team, accepted_at) VALUES (?, ?, ?)",
            (task_id, team, now),
        )
        self._inserts += 1
        if self._inserts % PRUNE_EVERY == 0:
            self.db.execute("DELETE FROM task_owners WHERE accepted_at < ?",
                            (now - OWNER_RETENTION,))

    def forget(self, task_id: str) -> None:
        """Drop the record of a task that was not accepted after all."""
        self.db.execute("DELETE FROM task_owners WHERE task_id = ?", (task_id,))

    def owner(self, task_id: str) -> str | None:
        """The team that asked for `task_id`, or None when this gateway never accepted it."""
        row = self.db.execute("SELECT team FROM task_owners WHERE task_id = ?",
                              (task_id,)).fetchone()
        return None if row is None else str(row["team"])
