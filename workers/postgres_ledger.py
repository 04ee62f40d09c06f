"""The reply ledger on PostgreSQL: the same test-and-set as on SQLite, one `INSERT … ON
CONFLICT` statement each, in the service's own schema."""

from __future__ import annotations

import time

from estafeta.postgres import PostgresStore
from workers.replies import CLAIM_STALE_AFTER


class PostgresLedger(PostgresStore):
    """`ReplyLedger` in the service's PostgreSQL schema, shared by every host."""

    def state(self, key: str) -> str | None:
        """`posting`, `posted` or None for a reply key."""
        with self.database.connection() as db:
            row = db.execute("SELECT state FROM reply_claims WHERE reply_key = %s",
                             (key,)).fetchone()
        return None if row is None else str(row["state"])

    def claim(self, key: str, attempt: int = 0, stale_after: float = CLAIM_STALE_AFTER) -> bool:
        """Take the right to post `key` (see `ReplyLedger.claim`): the row lock taken by the
        conflicting insert makes two hosts' concurrent claims take turns, and only one wins."""
        now = time.time()
        with self.database.connection() as db:
            cursor = db.execute(
                "INSERT INTO reply_claims (reply_key, state, attempt, updated_at)"
                " VALUES (%s, 'posting', %s, %s)"
                " ON CONFLICT (reply_key) DO UPDATE SET updated_at = excluded.updated_at,"
                " attempt = excluded.attempt"
                " WHERE reply_claims.state = 'posting'"
                " AND (reply_claims.attempt < excluded.attempt"
                " OR reply_claims.updated_at < %s)",
                (key, attempt, now, now - stale_after),
            )
            return cursor.rowcount == 1

    def release(self, key: str) -> None:
        """Forget a claim whose post certainly did not happen."""
        with self.database.connection() as db:
            db.execute("DELETE FROM reply_claims WHERE reply_key = %s AND state = 'posting'",
                       (key,))

    def mark_posted(self, key: str) -> None:
        """Record that the reply is in Slack."""
        now = time.time()
        with self.database.connection() as db:
            db.execute(
                "INSERT INTO reply_claims (reply_key, state, attempt, updated_at)"
                " VALUES (%s, 'posted', 0, %s)"
                " ON CONFLICT (reply_key) DO UPDATE SET state = 'posted',"
                " updated_at = excluded.updated_at",
                (key, now),
            )

    def count_redelivery(self, task_id: str) -> int:
        """Count one more redelivery of `task_id` and return how many there have been."""
        with self.database.connection() as db:
            row = db.execute(
                "INSERT INTO deliveries (task_id, count, updated_at) VALUES (%s, 1, %s)"
                " ON CONFLICT (task_id) DO UPDATE"
                " SET count = deliveries.count + 1, updated_at = excluded.updated_at"
                " RETURNING count",
                (task_id, time.time()),
            ).fetchone()
        assert row is not None
        return int(row["count"])

    def prune(self, older_than: float) -> int:
        """Delete records older than `older_than` seconds; return how many went."""
        cutoff = time.time() - older_than
        return (self.delete_in_batches("reply_claims", "updated_at < %s", (cutoff,))
                + self.delete_in_batches("deliveries", "updated_at < %s", (cutoff,)))
