"""The gateway's stores on SQLite: one file under `DATA_DIR` shared by its processes."""

from __future__ import annotations

import time
from pathlib import Path

from estafeta.storage import SqliteFile
from gateway.dedup import OWNER_RETENTION, PRUNE_EVERY, RETENTION


class _Pruned(SqliteFile):
    """A table of `accepted_at`-stamped rows, now and then pruned of those past `retention`."""

    table = ""
    retention = 0.0

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._inserts = 0

    def _inserted(self, now: float) -> None:
        self._inserts += 1
        if self._inserts % PRUNE_EVERY == 0:
            self.db.execute(f"DELETE FROM {self.table} WHERE accepted_at < ?",
                            (now - self.retention,))


class SqliteAcceptedEvents(_Pruned):
    """`AcceptedEvents` in a SQLite file shared by every gateway process on this volume."""

    history = "gateway"
    table = "accepted_events"
    retention = RETENTION

    def __contains__(self, event_id: str) -> bool:
        """Whether `event_id` was accepted (within `RETENTION`)."""
        row = self.db.execute("SELECT 1 FROM accepted_events WHERE event_id = ?", (event_id,))
        return row.fetchone() is not None

    def claim(self, key: str) -> bool:
        """Remember `key`; True only for the first of concurrent or repeated claims."""
        now = time.time()
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO accepted_events (event_id, accepted_at) VALUES (?, ?)",
            (key, now),
        )
        self._inserted(now)
        return cursor.rowcount == 1

    def discard(self, key: str) -> None:
        """Forget a claim whose work was not accepted after all (the broker was down)."""
        self.db.execute("DELETE FROM accepted_events WHERE event_id = ?", (key,))


class SqliteTaskOwners(_Pruned):
    """`TaskOwners` in the gateway's SQLite file."""

    history = "gateway"
    table = "task_owners"
    retention = OWNER_RETENTION

    def record(self, task_id: str, team: str) -> None:
        """Remember that `team` asked for `task_id`."""
        now = time.time()
        self.db.execute(
            "INSERT OR REPLACE INTO task_owners (task_id, team, accepted_at) VALUES (?, ?, ?)",
            (task_id, team, now),
        )
        self._inserted(now)

    def forget(self, task_id: str) -> None:
        """Drop the record of a task that was not accepted after all."""
        self.db.execute("DELETE FROM task_owners WHERE task_id = ?", (task_id,))

    def owner(self, task_id: str) -> str | None:
        """The team that asked for `task_id`, or None when this gateway never accepted it."""
        row = self.db.execute("SELECT team FROM task_owners WHERE task_id = ?",
                              (task_id,)).fetchone()
        return None if row is None else str(row["team"])
