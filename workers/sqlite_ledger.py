"""The reply ledger on SQLite: replies claimed and posted, redeliveries counted, in the
service's own file under `DATA_DIR`."""

from __future__ import annotations

import time

from estafeta.storage import SqliteFile
from workers.replies import CLAIM_STALE_AFTER


class SqliteLedger(SqliteFile):
    """`ReplyLedger` in the service's SQLite file."""

    history = "ledger"

    def state(self, key: str) -> str | None:
        """`posting`, `posted` or None for a reply key."""
        row = self.db.execute("SELECT state FROM reply_claims WHERE reply_key = ?",
                              (key,)).fetchone()
        return None if row is None else str(row["state"])

    def claim(self, key: str, attempt: int = 0, stale_after: float = CLAIM_STALE_AFTER) -> bool:
        """Take the right to post `key`: True for the first taker, for a later retry of the
        same task (the earlier attempt is over), or over a stale claim (its worker died);
        False while a concurrent copy of the task holds a fresh claim."""
        now = time.time()
        cursor = self.db.execute(
            "INSERT INTO reply_claims (reply_key, state, attempt, updated_at)"
            " VALUES (?, 'posting', ?, ?)"
            " ON CONFLICT (reply_key) DO UPDATE SET updated_at = excluded.updated_at,"
            " attempt = excluded.attempt"
            " WHERE reply_claims.state = 'posting'"
            " AND (reply_claims.attempt < excluded.attempt OR reply_claims.updated_at < ?)",
            (key, attempt, now, now - stale_after),
        )
        return cursor.rowcount == 1

    def release(self, key: str) -> None:
        """Forget a claim whose post certainly did not happen."""
        self.db.execute("DELETE FROM reply_claims WHERE reply_key = ? AND state = 'posting'",
                        (key,))

    def mark_posted(self, key: str) -> None:
        """Record that the reply is in Slack."""
        self.db.execute(
            "INSERT INTO reply_claims (reply_key, state, attempt, updated_at)"
            " VALUES (?, 'posted', 0, ?)"
            " ON CONFLICT (reply_key) DO UPDATE SET state = 'posted', updated_at = ?",
            (key, time.time(), time.time()),
        )

    def count_redelivery(self, task_id: str) -> int:
        """Count one more redelivery of `task_id` and return how many there have been."""
        row = self.db.execute(
            "INSERT INTO deliveries (task_id, count, updated_at) VALUES (?, 1, ?)"
            " ON CONFLICT (task_id) DO UPDATE"
            " SET count = count + 1, updated_at = excluded.updated_at"
            " RETURNING count",
            (task_id, time.time()),
        ).fetchone()
        return int(row["count"])

    def prune(self, older_than: float) -> int:
        """Delete records older than `older_than` seconds; return how many went."""
        cutoff = time.time() - older_than
        removed = self.db.execute("DELETE FROM reply_claims WHERE updated_at < ?",
                                  (cutoff,)).rowcount
        removed += self.db.execute(
            "DELETE FROM deliveries WHERE updated_at < ?", (cutoff,)
        ).rowcount
        return removed
