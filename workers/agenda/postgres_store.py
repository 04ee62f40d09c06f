"""The agenda's store on PostgreSQL: the agenda schema, shared by every host (see
`workers.agenda.store`).

As on SQLite, every event row carries `ready_at`, the moment a scheduler may next pick it up,
and a scan reads the partial index on `ready_at` from its start: its cost depends on how many
reminders are due now, not on how many are pending. Schedulers on several hosts scan at the
same time here, so a claim locks the rows it takes with `FOR UPDATE SKIP LOCKED`: a second scan
passes over them instead of waiting, and the lease it writes hides them once committed.

A request key is taken first (`INSERT … ON CONFLICT` on `agenda_requests`), in the transaction
that carries the request out: a redelivered task running at the same time on another host waits
for that transaction and then finds its result, instead of repeating it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import psycopg

from estafeta.grammar import fold
from estafeta.postgres import PostgresStore
from workers.agenda.store import Claimed, Event, NewEvent, first_due

_COLUMNS = ("id, team, channel, owner, title, start_local, tz, start_at, rrule, time_given,"
            " lang, notify, public, uid, cancelled_at, due_at, delivered, paused_at,"
            " paused_reason")
# The same columns of the events table named `e` in a join.
_JOINED_COLUMNS = ", ".join(f"e.{name.strip()}" for name in _COLUMNS.split(","))

_INSERT = ("INSERT INTO agenda_events (team, channel, owner, title, folded, start_local, tz,"
           " start_at, rrule, time_given, lang, notify, public, uid, created_at, due_at,"
           " ready_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
           " %s)")

Row = dict[str, Any]


def _event(row: Row) -> Event:
    """The event in a row of `_COLUMNS`."""
    return Event(
        id=int(row["id"]), team=row["team"], channel=row["channel"], owner=row["owner"],
        title=row["title"], start_local=row["start_local"], tz=row["tz"],
        start_at=float(row["start_at"]), rrule=row["rrule"],
        time_given=bool(row["time_given"]), lang=row["lang"], notify=row["notify"],
        public=bool(row["public"]), uid=row["uid"], cancelled_at=row["cancelled_at"],
        due_at=row["due_at"], delivered=bool(row["delivered"]),
        paused_at=row["paused_at"], paused_reason=row["paused_reason"],
    )


def _values(event: NewEvent, start_at: float, now: float,
            due: float | None) -> tuple[object, ...]:
    """The values of `_INSERT` for `event`."""
    local = event.when.start.replace(tzinfo=None).isoformat(timespec="seconds")
    tz = str(event.when.start.tzinfo)
    return (event.team, event.channel, event.owner, event.title, fold(event.title), local,
            tz, start_at, event.when.rrule, event.when.time_given, event.lang, event.notify,
            event.public, event.uid, now, due, due)


class PostgresAgendaStore(PostgresStore):
    """`AgendaStore` in the agenda service's PostgreSQL schema."""

    # -- requests already carried out ----------------------------------------------------

    def request(self, team: str, key: str) -> tuple[str, int | None, int | None] | None:
        """(verb, event id, count) recorded under request `key`, or None for a new request."""
        if not key:
            return None
        with self.database.connection() as db:
            row = db.execute("SELECT verb, event_id, count FROM agenda_requests"
                             " WHERE team = %s AND request_key = %s", (team, key)).fetchone()
        return None if row is None else (str(row["verb"]), row["event_id"], row["count"])

    def done_event(self, team: str, key: str, verb: str) -> Event | None:
        """The event request `key` already added or cancelled (`verb`), as it is now; None for
        a new request (or one whose event is gone)."""
        if not key:
            return None
        with self.database.connection() as db:
            return self._done_event(db, team, key, verb)

    @staticmethod
    def _done_event(db: psycopg.Connection[Any], team: str, key: str,
                    verb: str) -> Event | None:
        row = db.execute(
            f"SELECT {_JOINED_COLUMNS}"
            " FROM agenda_requests r JOIN agenda_events e"
            " ON e.team = r.team AND e.id = r.event_id"
            " WHERE r.team = %s AND r.request_key = %s AND r.verb = %s",
            (team, key, verb)).fetchone()
        return None if row is None else _event(row)

    @staticmethod
    def _take_request(db: psycopg.Connection[Any], team: str, key: str, verb: str,
                      now: float) -> Row:
        """Record request `key` (with no result yet) or lock the record it already has; the
        record as it stood (verb, event_id, count). A concurrent run of the same request waits
        here until this transaction ends, then finds what it recorded."""
        # The no-op update takes the row lock and returns the committed record.
        row: Row | None = db.execute(
            "INSERT INTO agenda_requests (team, request_key, verb, event_id, count, created_at)"
            " VALUES (%s, %s, %s, NULL, NULL, %s)"
            " ON CONFLICT (team, request_key) DO UPDATE SET team = excluded.team"
            " RETURNING verb, event_id, count",
            (team, key, verb, now)).fetchone()
        assert row is not None
        return row

    # -- writing -------------------------------------------------------------------------

    def add(self, event: NewEvent, remind: bool = True, now: float | None = None,
            request_key: str = "") -> Event:
        """Store a new event; its first reminder is due at its start (if `remind`). With a
        `request_key` already used, the event stored then is returned and nothing is added."""
        now = time.time() if now is None else now
        start_at = event.when.start.timestamp()
        due = start_at if remind and event.notify else None
        with self.database.transaction() as db:
            if request_key:
                done = self._take_request(db, event.team, request_key, "add", now)
                if done["verb"] == "add" and done["event_id"] is not None:
                    first = self._get(db, event.team, done["event_id"])
                    if first is not None:
                        return first
            row = db.execute(f"{_INSERT} RETURNING {_COLUMNS}",
                             _values(event, start_at, now, due)).fetchone()
            assert row is not None
            added = _event(row)
            if request_key:
                # A record of another verb, or of an event since pruned, gives way to this one.
                db.execute("UPDATE agenda_requests SET verb = 'add', event_id = %s,"
                           " count = NULL, created_at = %s"
                           " WHERE team = %s AND request_key = %s",
                           (added.id, now, event.team, request_key))
        return added

    def upsert_imported(self, events: Iterable[NewEvent], remind: bool,
                        now: float | None = None, request_key: str = "",
                        team: str = "") -> int:
        """Store imported events, replacing earlier imports with the same uid; return count.
        A `request_key` (of `team`) already used returns the count stored then, storing
        nothing: a re-run must not undo what happened since (an event cancelled)."""
        now = time.time() if now is None else now
        with self.database.transaction() as db:
            if request_key:
                done = self._take_request(db, team, request_key, "import", now)
                if done["count"] is not None:
                    return int(done["count"])
            rows = []
            for event in events:
                due = first_due(event.when, now) if remind and event.notify else None
                rows.append(_values(event, event.when.start.timestamp(), now, due))
            with db.cursor() as cursor:
                cursor.executemany(
                    f"{_INSERT} ON CONFLICT (team, channel, uid) WHERE uid IS NOT NULL"
                    " DO UPDATE SET title = excluded.title, folded = excluded.folded,"
                    " start_local = excluded.start_local, tz = excluded.tz,"
                    " start_at = excluded.start_at, rrule = excluded.rrule,"
                    " time_given = excluded.time_given, notify = excluded.notify,"
                    " due_at = excluded.due_at, ready_at = excluded.ready_at,"
                    " cancelled_at = NULL",
                    rows,
                )
            if request_key:
                db.execute("UPDATE agenda_requests SET verb = 'import', event_id = NULL,"
                           " count = %s, created_at = %s WHERE team = %s AND request_key = %s",
                           (len(rows), now, team, request_key))
        return len(rows)

    def cancel(self, team: str, event_id: int, now: float | None = None,
               request_key: str = "") -> bool:
        """Cancel an event and its pending reminders; False if it was not active. The
        cancellation is recorded under `request_key`, for a re-run to find."""
        now = time.time() if now is None else now
        with self.database.transaction() as db:
            cancelled = db.execute(
                "UPDATE agenda_events SET cancelled_at = %s, due_at = NULL, ready_at = NULL"
                " WHERE team = %s AND id = %s AND cancelled_at IS NULL",
                (now, team, event_id),
            ).rowcount == 1
            if cancelled:
                db.execute("UPDATE agenda_snoozes SET ready_at = NULL"
                           " WHERE team = %s AND event_id = %s", (team, event_id))
            if cancelled and request_key:
                # The first record under a key stays: a re-run must find what it did first.
                db.execute(
                    "INSERT INTO agenda_requests (team, request_key, verb, event_id, count,"
                    " created_at) VALUES (%s, %s, 'cancel', %s, NULL, %s)"
                    " ON CONFLICT (team, request_key) DO NOTHING",
                    (team, request_key, event_id, now))
        return cancelled

    def pause(self, event_id: int, due_at: float, reason: str,
              now: float | None = None) -> bool:
        """Stop the reminders of an event Slack refuses to deliver (`reason`: its error);
        False if another delivery already moved occurrence `due_at` on."""
        now = time.time() if now is None else now
        with self.database.connection() as db:
            return db.execute(
                "UPDATE agenda_events SET due_at = NULL, ready_at = NULL, paused_at = %s,"
                " paused_reason = %s WHERE id = %s AND due_at = %s",
                (now, reason[:100], event_id, due_at),
            ).rowcount == 1

    # -- the scheduler -------------------------------------------------------------------

    def claim_due(self, now: float, lease: float, limit: int) -> list[Claimed]:
        """Take up to `limit` due reminders for `lease` seconds, atomically: a reminder taken
        by one scheduler is invisible to every other until its lease ends."""
        # SKIP LOCKED: rows another host's scan is claiming right now are left to it, so that
        # two scans neither wait for each other nor take the same reminder. `= ANY(ARRAY(…))`
        # rather than `IN (…)`: the rows are then always updated through the primary key,
        # where the plan prepared for a repeated statement may join `IN` with a scan of the
        # whole table (it cannot know how few are due).
        with self.database.connection() as db:
            rows = db.execute(
                "UPDATE agenda_events SET ready_at = %s WHERE id = ANY(ARRAY("
                " SELECT id FROM agenda_events WHERE ready_at <= %s ORDER BY ready_at LIMIT %s"
                " FOR UPDATE SKIP LOCKED))"
                " RETURNING id, due_at",
                (now + lease, now, limit),
            ).fetchall()
            snoozed = db.execute(
                "UPDATE agenda_snoozes SET ready_at = %s WHERE id = ANY(ARRAY("
                " SELECT id FROM agenda_snoozes WHERE ready_at <= %s ORDER BY ready_at"
                " LIMIT %s FOR UPDATE SKIP LOCKED))"
                " RETURNING id, event_id, due_at, occurrence",
                (now + lease, now, limit),
            ).fetchall()
        claimed = [Claimed(int(r["id"]), float(r["due_at"])) for r in rows
                   if r["due_at"] is not None]
        return claimed + [Claimed(int(r["event_id"]), float(r["due_at"]), int(r["id"]),
                                  float(r["occurrence"])) for r in snoozed]

    def snooze(self, team: str, event_id: int, occurrence: float, due_at: float,
               request_key: str, now: float | None = None) -> float:
        """Schedule one more reminder of occurrence `occurrence` of an event at `due_at`; the
        time stored under `request_key` (a re-run of the same click schedules nothing)."""
        now = time.time() if now is None else now
        with self.database.transaction() as db:
            # The no-op update returns the first record: a concurrent re-run waits for it.
            row = db.execute(
                "INSERT INTO agenda_snoozes (team, event_id, occurrence, due_at, ready_at,"
                " request_key, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (team, request_key) DO UPDATE SET team = excluded.team"
                " RETURNING due_at",
                (team, event_id, occurrence, due_at, due_at, request_key, now)).fetchone()
        assert row is not None
        return float(row["due_at"])

    def snooze_delivered(self, snooze: int) -> bool:
        """Record that snoozed reminder `snooze` was posted (or dropped); False if it was
        already."""
        with self.database.connection() as db:
            return db.execute(
                "UPDATE agenda_snoozes SET ready_at = NULL"
                " WHERE id = %s AND ready_at IS NOT NULL", (snooze,)).rowcount == 1

    def pending(self) -> int:
        """How many reminders wait to be delivered (for the operators)."""
        with self.database.connection() as db:
            row = db.execute(
                "SELECT (SELECT count(*) FROM agenda_events WHERE ready_at IS NOT NULL)"
                " + (SELECT count(*) FROM agenda_snoozes WHERE ready_at IS NOT NULL) AS n"
            ).fetchone()
        assert row is not None
        return int(row["n"])

    def backlog(self, now: float, late_after: float) -> tuple[int, int]:
        """Reminders not yet sent: (on time or to come, overdue), snoozed ones included."""
        cutoff = now - late_after
        with self.database.connection() as db:
            row = db.execute(
                "SELECT (SELECT count(*) FROM agenda_events WHERE ready_at IS NOT NULL"
                "         AND due_at > %(cutoff)s)"
                " + (SELECT count(*) FROM agenda_snoozes WHERE ready_at IS NOT NULL"
                "    AND due_at > %(cutoff)s) AS pending,"
                " (SELECT count(*) FROM agenda_events WHERE ready_at IS NOT NULL"
                "  AND due_at <= %(cutoff)s)"
                " + (SELECT count(*) FROM agenda_snoozes WHERE ready_at IS NOT NULL"
                "    AND due_at <= %(cutoff)s) AS overdue", {"cutoff": cutoff}).fetchone()
        assert row is not None
        return int(row["pending"]), int(row["overdue"])

    def advance(self, event_id: int, due_at: float, following: float | None) -> bool:
        """Record that occurrence `due_at` was delivered and schedule `following` (None: the
        event is over); False if another delivery already moved it on."""
        with self.database.connection() as db:
            return db.execute(
                "UPDATE agenda_events SET due_at = %s, ready_at = %s, delivered = delivered + 1"
                " WHERE id = %s AND due_at = %s",
                (following, following, event_id, due_at),
            ).rowcount == 1

    # -- reading -------------------------------------------------------------------------

    def get(self, team: str, event_id: int) -> Event | None:
        """One event of `team`, cancelled or not."""
        with self.database.connection() as db:
            return self._get(db, team, event_id)

    @staticmethod
    def _get(db: psycopg.Connection[Any], team: str, event_id: int) -> Event | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM agenda_events WHERE team = %s AND id = %s",
                         (team, event_id)).fetchone()
        return None if row is None else _event(row)

    def by_id(self, event_id: int) -> Event | None:
        """One event, for the scheduler (which works for every team)."""
        with self.database.connection() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM agenda_events WHERE id = %s",
                             (event_id,)).fetchone()
        return None if row is None else _event(row)

    def visible(self, team: str, user: str, channel: str, inside: str,
                until: float, text: str = "") -> list[Event]:
        """Active events `user` may see from `channel`: their own, and the channel's agenda
        (a private channel's only from inside it), starting before `until`."""
        query = (f"SELECT {_COLUMNS} FROM agenda_events WHERE team = %s"
                 " AND cancelled_at IS NULL AND start_at < %s"
                 " AND (owner = %s OR (channel = %s AND channel != '' AND (public OR %s)))")
        params: list[object] = [team, until, user, channel, bool(inside) and inside == channel]
        # Titles are folded in Python when stored, the words here the same way: both engines
        # compare the same strings.
        for word in fold(text).split():
            query += " AND strpos(folded, %s) > 0"
            params.append(word)
        with self.database.connection() as db:
            rows = db.execute(query, params).fetchall()
        return [_event(r) for r in rows]

    def owned(self, team: str, user: str) -> list[Event]:
        """Every active event `user` added (for `export`)."""
        with self.database.connection() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM agenda_events WHERE team = %s AND owner = %s"
                " AND cancelled_at IS NULL ORDER BY start_at", (team, user)).fetchall()
        return [_event(r) for r in rows]

    # -- users' timezones ----------------------------------------------------------------

    def cached_user(self, team: str, user: str, max_age: float) -> tuple[str, bool] | None:
        """A user's (timezone, is_admin) if fetched within `max_age` seconds."""
        with self.database.connection() as db:
            row = db.execute(
                'SELECT tz, is_admin FROM agenda_user_zones WHERE team = %s AND "user" = %s'
                " AND fetched_at >= %s", (team, user, time.time() - max_age)).fetchone()
        return None if row is None else (str(row["tz"]), bool(row["is_admin"]))

    def remember_user(self, team: str, user: str, tz: str, is_admin: bool) -> None:
        """Cache a user's timezone and admin flag."""
        with self.database.connection() as db:
            db.execute(
                'INSERT INTO agenda_user_zones (team, "user", tz, is_admin, fetched_at)'
                ' VALUES (%s, %s, %s, %s, %s) ON CONFLICT (team, "user") DO UPDATE SET'
                " tz = excluded.tz, is_admin = excluded.is_admin,"
                " fetched_at = excluded.fetched_at",
                (team, user, tz, is_admin, time.time()))

    def prune(self, older_than: float) -> int:
        """Forget events cancelled or over more than `older_than` seconds ago; return how many."""
        cutoff = time.time() - older_than
        self.delete_in_batches("agenda_snoozes", "ready_at IS NULL AND created_at < %s",
                               (cutoff,))
        return self.delete_in_batches(
            "agenda_events",
            "ready_at IS NULL AND (cancelled_at < %s OR (rrule IS NULL AND start_at < %s))",
            (cutoff, cutoff))

    def prune_requests(self, older_than: float) -> int:
        """Forget the idempotency records of requests made more than `older_than` seconds ago;
        return how many went."""
        return self.delete_in_batches("agenda_requests", "created_at < %s",
                                      (time.time() - older_than,))
