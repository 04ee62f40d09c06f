"""The gateway's stores on PostgreSQL: shared by every gateway on every host, so that a Slack
retry reaching another host is recognised there."""

from __future__ import annotations

import logging
import time

from estafeta.postgres import Database, PostgresStore
from estafeta.stores import StoreUnavailable
from gateway.dedup import OWNER_RETENTION, PRUNE_EVERY, RETENTION

log = logging.getLogger(__name__)


class _Pruned(PostgresStore):
    """A table of `accepted_at`-stamped rows, now and then pruned of those past `retention`."""

    table = ""
    retention = 0.0

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self._inserts = 0

    def _inserted(self, now: float) -> None:
        self._inserts += 1
        if self._inserts % PRUNE_EVERY != 0:
            return
        # Housekeeping only: the request that happens to run it has its answer already (its
        # row is written), so a database hiccup here is logged, not turned into a 503.
        try:
            # One batch: a request thread runs it, and the next thousand inserts run another.
            self.delete_in_batches(self.table, "accepted_at < %s", (now - self.retention,),
                                   batches=1)
        except StoreUnavailable as exc:
            log.warning("pruning %s skipped: %s", self.table, exc)


class PostgresAcceptedEvents(_Pruned):
    """`AcceptedEvents` in the gateway's PostgreSQL schema."""

    table = "accepted_events"
    retention = RETENTION

    def __contains__(self, event_id: str) -> bool:
        """Whether `event_id` was accepted (within `RETENTION`)."""
        with self.database.connection() as db:
            row = db.execute("SELECT 1 FROM accepted_events WHERE event_id = %s",
                             (event_id,)).fetchone()
        return row is not None

    def claim(self, key: str) -> bool:
        """Remember `key`; True only for the first of concurrent or repeated claims."""
        now = time.time()
        with self.database.connection() as db:
            cursor = db.execute(
                "INSERT INTO accepted_events (event_id, accepted_at) VALUES (%s, %s)"
                " ON CONFLICT (event_id) DO NOTHING", (key, now))
            first = cursor.rowcount == 1
        self._inserted(now)
        return first

    def discard(self, key: str) -> None:
        """Forget a claim whose work was not accepted after all (the broker was down)."""
        with self.database.connection() as db:
            db.execute("DELETE FROM accepted_events WHERE event_id = %s", (key,))


class PostgresTaskOwners(_Pruned):
    """`TaskOwners` in the gateway's PostgreSQL schema: any host's gateway answers for a task
    that another accepted."""

    table = "task_owners"
    retention = OWNER_RETENTION

    def record(self, task_id: str, team: str) -> None:
        """Remember that `team` asked for `task_id`."""
        now = time.time()
        with self.database.connection() as db:
            db.execute(
                "INSERT INTO task_owners (task_id, team, accepted_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (task_id) DO UPDATE SET team = excluded.team,"
                " accepted_at = excluded.accepted_at", (task_id, team, now))
        self._inserted(now)

    def forget(self, task_id: str) -> None:
        """Drop the record of a task that was not accepted after all."""
        with self.database.connection() as db:
            db.execute("DELETE FROM task_owners WHERE task_id = %s", (task_id,))

    def owner(self, task_id: str) -> str | None:
        """The team that asked for `task_id`, or None when no gateway accepted it."""
        with self.database.connection() as db:
            row = db.execute("SELECT team FROM task_owners WHERE task_id = %s",
                             (task_id,)).fetchone()
        return None if row is None else str(row["team"])
