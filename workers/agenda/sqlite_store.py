"""The agenda's store on SQLite: one WAL file under `DATA_DIR` (see `workers.agenda.store`).

Every event row carries `ready_at`, the moment a scheduler may next pick it up: the reminder's
due time while it waits, pushed forward by a lease while one scheduler holds it. A scan reads
the partial index on `ready_at` from its start, so its cost depends on how many reminders are
due now, not on how many are pending; one UPDATE claims them, so two schedulers never share one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable

from estafeta.grammar import fold
from estafeta.storage import SqliteFile
from workers.agenda.store import Claimed, Event, NewEvent, first_due

_COLUMNS = ("id, team, channel, owner, title, start_local, tz, start_at, rrule, time_given,"
            " lang, notify, public, uid, cancelled_at, due_at, delivered, paused_at,"
            " paused_reason")


def _event(row: sqlite3.Row) -> Event:
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


class SqliteAgendaStore(SqliteFile):
    """`AgendaStore` in the agenda service's SQLite file."""

    history = "agenda"

    # -- requests already carried out ----------------------------------------------------

    def request(self, team: str, key: str) -> tuple[str, int | None, int | None] | None:
        """(verb, event id, count) recorded under request `key`, or None for a new request."""
        row = self._recorded(self.db, team, key) if key else None
        return None if row is None else (str(row["verb"]), row["event_id"], row["count"])

    def done_event(self, team: str, key: str, verb: str) -> Event | None:
        """The event request `key` already added or cancelled (`verb`), as it is now; None for
        a new request (or one whose event is gone)."""
        return self._done_event(self.db, team, key, verb)

    @classmethod
    def _done_event(cls, db: sqlite3.Connection, team: str, key: str,
                    verb: str) -> Event | None:
        done = cls._recorded(db, team, key) if key else None
        if done is None or done["verb"] != verb or done["event_id"] is None:
            return None
        row = db.execute(f"SELECT {_COLUMNS} FROM agenda_events WHERE team = ? AND id = ?",
                         (team, done["event_id"])).fetchone()
        return None if row is None else _event(row)

    @staticmethod
    def _record(db: sqlite3.Connection, team: str, key: str, verb: str, now: float,
                event_id: int | None = None, count: int | None = None) -> None:
        db.execute("INSERT INTO agenda_requests (team, request_key, verb, event_id, count,"
                   " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                   (team, key, verb, event_id, count, now))

    @staticmethod
    def _recorded(db: sqlite3.Connection, team: str, key: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = db.execute(
            "SELECT verb, event_id, count FROM agenda_requests WHERE team = ? AND request_key = ?",
            (team, key)).fetchone()
        return row

    # -- writing -------------------------------------------------------------------------

    def add(self, event: NewEvent, remind: bool = True, now: float | None = None,
            request_key: str = "") -> Event:
        """Store a new event; its first reminder is due at its start (if `remind`). With a
        `request_key` already used, the event stored then is returned and nothing is added."""
        now = time.time() if now is None else now
        start_at = event.when.start.timestamp()
        due = start_at if remind and event.notify else None
        with self.transaction() as db:
            first = self._done_event(db, event.team, request_key, "add")
            if first is not None:
                return first
            row = db.execute(
                "INSERT INTO agenda_events (team, channel, owner, title, folded, start_local,"
                " tz, start_at, rrule, time_given, lang, notify, public, uid, created_at,"
                " due_at, ready_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                f" RETURNING {_COLUMNS}",
                self._values(event, start_at, now, due),
            ).fetchone()
            added = _event(row)
            if request_key:
                db.execute("DELETE FROM agenda_requests WHERE team = ? AND request_key = ?",
                           (event.team, request_key))
                self._record(db, event.team, request_key, "add", now, event_id=added.id)
        return added

    def upsert_imported(self, events: Iterable[NewEvent], remind: bool,
                        now: float | None = None, request_key: str = "",
                        team: str = "") -> int:
        """Store imported events, replacing earlier imports with the same uid; return count.
        A `request_key` (of `team`) already used returns the count stored then, storing
        nothing: a re-run must not undo what happened since (an event cancelled)."""
        now = time.time() if now is None else now
        count = 0
        with self.transaction() as db:
            if request_key:
                done = self._recorded(db, team, request_key)
                if done is not None and done["count"] is not None:
                    return int(done["count"])
            for event in events:
                start_at = event.when.start.timestamp()
                due = first_due(event.when, now) if remind and event.notify else None
                db.execute(
                    "INSERT INTO agenda_events (team, channel, owner, title, folded,"
                    " start_local, tz, start_at, rrule, time_given, lang, notify, public, uid,"
                    " created_at, due_at, ready_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (team, channel, uid) WHERE uid IS NOT NULL DO UPDATE SET"
                    " title = excluded.title, folded = excluded.folded,"
                    " start_local = excluded.start_local, tz = excluded.tz,"
                    " start_at = excluded.start_at, rrule = excluded.rrule,"
                    " time_given = excluded.time_given, notify = excluded.notify,"
                    " due_at = excluded.due_at, ready_at = excluded.ready_at,"
                    " cancelled_at = NULL",
                    self._values(event, start_at, now, due),
                )
                count += 1
            if request_key:
                self._record(db, team, request_key, "import", now, count=count)
        return count

    @staticmethod
    def _values(event: NewEvent, start_at: float, now: float,
                due: float | None) -> tuple[object, ...]:
        local = event.when.start.replace(tzinfo=None).isoformat(timespec="seconds")
        tz = str(event.when.start.tzinfo)
        return (event.team, event.channel, event.owner, event.title, fold(event.title), local,
                tz, start_at, event.when.rrule, int(event.when.time_given), event.lang,
                event.notify,
                int(event.public), event.uid, now, due, due)

    def cancel(self, team: str, event_id: int, now: float | None = None,
               request_key: str = "") -> bool:
        """Cancel an event and its pending reminders; False if it was not active. The
        cancellation is recorded under `request_key`, for a re-run to find."""
        now = time.time() if now is None else now
        with self.transaction() as db:
            cancelled = db.execute(
                "UPDATE agenda_events SET cancelled_at = ?, due_at = NULL, ready_at = NULL"
                " WHERE team = ? AND id = ? AND cancelled_at IS NULL",
                (now, team, event_id),
            ).rowcount == 1
            if cancelled:
                db.execute("UPDATE agenda_snoozes SET ready_at = NULL"
                           " WHERE team = ? AND event_id = ?", (team, event_id))
            if cancelled and request_key and self._recorded(db, team, request_key) is None:
                self._record(db, team, request_key, "cancel", now, event_id=event_id)
        return cancelled

    def pause(self, event_id: int, due_at: float, reason: str,
              now: float | None = None) -> bool:
        """Stop the reminders of an event Slack refuses to deliver (`reason`: its error);
        False if another delivery already moved occurrence `due_at` on."""
        now = time.time() if now is None else now
        return self.db.execute(
            "UPDATE agenda_events SET due_at = NULL, ready_at = NULL, paused_at = ?,"
            " paused_reason = ? WHERE id = ? AND due_at = ?",
            (now, reason[:100], event_id, due_at),
        ).rowcount == 1

    # -- the scheduler -------------------------------------------------------------------

    def claim_due(self, now: float, lease: float, limit: int) -> list[Claimed]:
        """Take up to `limit` due reminders for `lease` seconds, atomically: a reminder taken
        by one scheduler is invisible to every other until its lease ends."""
        rows = self.db.execute(
            "UPDATE agenda_events SET ready_at = ? WHERE id IN ("
            " SELECT id FROM agenda_events WHERE ready_at <= ? ORDER BY ready_at LIMIT ?)"
            " RETURNING id, due_at",
            (now + lease, now, limit),
        ).fetchall()
        claimed = [Claimed(int(r["id"]), float(r["due_at"])) for r in rows
                   if r["due_at"] is not None]
        snoozed = self.db.execute(
            "UPDATE agenda_snoozes SET ready_at = ? WHERE id IN ("
            " SELECT id FROM agenda_snoozes WHERE ready_at <= ? ORDER BY ready_at LIMIT ?)"
            " RETURNING id, event_id, due_at, occurrence",
            (now + lease, now, limit),
        ).fetchall()
        return claimed + [Claimed(int(r["event_id"]), float(r["due_at"]), int(r["id"]),
                                  float(r["occurrence"])) for r in snoozed]

    def snooze(self, team: str, event_id: int, occurrence: float, due_at: float,
               request_key: str, now: float | None = None) -> float:
        """Schedule one more reminder of occurrence `occurrence` of an event at `due_at`; the
        time stored under `request_key` (a re-run of the same click schedules nothing)."""
        now = time.time() if now is None else now
        with self.transaction() as db:
            db.execute(
                "INSERT INTO agenda_snoozes (team, event_id, occurrence, due_at, ready_at,"
                " request_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (team, request_key) DO NOTHING",
                (team, event_id, occurrence, due_at, due_at, request_key, now))
            row = db.execute("SELECT due_at FROM agenda_snoozes"
                             " WHERE team = ? AND request_key = ?",
                             (team, request_key)).fetchone()
        return float(row["due_at"])

    def snooze_delivered(self, snooze: int) -> bool:
        """Record that snoozed reminder `snooze` was posted (or dropped); False if it was
        already."""
        return self.db.execute(
            "UPDATE agenda_snoozes SET ready_at = NULL WHERE id = ? AND ready_at IS NOT NULL",
            (snooze,)).rowcount == 1

    def pending(self) -> int:
        """How many reminders wait to be delivered (for the operators)."""
        return int(self.db.execute(
            "SELECT (SELECT count(*) FROM agenda_events WHERE ready_at IS NOT NULL)"
            " + (SELECT count(*) FROM agenda_snoozes WHERE ready_at IS NOT NULL)").fetchone()[0])

    def backlog(self, now: float, late_after: float) -> tuple[int, int]:
        """Reminders not yet sent: (on time or to come, overdue), snoozed ones included."""
        cutoff = now - late_after
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM agenda_events WHERE ready_at IS NOT NULL"
            "         AND due_at > ?)"
            " + (SELECT count(*) FROM agenda_snoozes WHERE ready_at IS NOT NULL AND due_at > ?),"
            " (SELECT count(*) FROM agenda_events WHERE ready_at IS NOT NULL AND due_at <= ?)"
            " + (SELECT count(*) FROM agenda_snoozes WHERE ready_at IS NOT NULL"
            "    AND due_at <= ?)", (cutoff, cutoff, cutoff, cutoff)).fetchone()
        return int(row[0]), int(row[1])

    def advance(self, event_id: int, due_at: float, following: float | None) -> bool:
        """Record that occurrence `due_at` was delivered and schedule `following` (None: the
        event is over); False if another delivery already moved it on."""
        return self.db.execute(
            "UPDATE agenda_events SET due_at = ?, ready_at = ?, delivered = delivered + 1"
            " WHERE id = ? AND due_at = ?",
            (following, following, event_id, due_at),
        ).rowcount == 1

    # -- reading -------------------------------------------------------------------------

    def get(self, team: str, event_id: int) -> Event | None:
        """One event of `team`, cancelled or not."""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM agenda_events WHERE team = ? AND id = ?",
                              (team, event_id)).fetchone()
        return None if row is None else _event(row)

    def by_id(self, event_id: int) -> Event | None:
        """One event, for the scheduler (which works for every team)."""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM agenda_events WHERE id = ?",
                              (event_id,)).fetchone()
        return None if row is None else _event(row)

    def visible(self, team: str, user: str, channel: str, inside: str,
                until: float, text: str = "") -> list[Event]:
        """Active events `user` may see from `channel`: their own, and the channel's agenda
        (a private channel's only from inside it), starting before `until`."""
        query = (f"SELECT {_COLUMNS} FROM agenda_events WHERE team = ?"
                 " AND cancelled_at IS NULL AND start_at < ?"
                 " AND (owner = ? OR (channel = ? AND channel != '' AND (public = 1 OR ?)))")
        params: list[object] = [team, until, user, channel, int(bool(inside) and
                                                                  inside == channel)]
        for word in fold(text).split():
            query += " AND instr(folded, ?) > 0"
            params.append(word)
        rows = self.db.execute(query, params).fetchall()
        return [_event(r) for r in rows]

    def owned(self, team: str, user: str) -> list[Event]:
        """Every active event `user` added (for `export`)."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM agenda_events WHERE team = ? AND owner = ?"
            " AND cancelled_at IS NULL ORDER BY start_at", (team, user)).fetchall()
        return [_event(r) for r in rows]

    # -- users' timezones ----------------------------------------------------------------

    def cached_user(self, team: str, user: str, max_age: float) -> tuple[str, bool] | None:
        """A user's (timezone, is_admin) if fetched within `max_age` seconds."""
        row = self.db.execute(
            "SELECT tz, is_admin FROM agenda_user_zones WHERE team = ? AND user = ?"
            " AND fetched_at >= ?", (team, user, time.time() - max_age)).fetchone()
        return None if row is None else (str(row["tz"]), bool(row["is_admin"]))

    def remember_user(self, team: str, user: str, tz: str, is_admin: bool) -> None:
        """Cache a user's timezone and admin flag."""
        self.db.execute(
            "INSERT INTO agenda_user_zones (team, user, tz, is_admin, fetched_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (team, user) DO UPDATE SET"
            " tz = excluded.tz, is_admin = excluded.is_admin, fetched_at = excluded.fetched_at",
            (team, user, tz, int(is_admin), time.time()))

    def prune(self, older_than: float) -> int:
        """Forget events cancelled or over more than `older_than` seconds ago; return how many."""
        cutoff = time.time() - older_than
        self.db.execute("DELETE FROM agenda_snoozes WHERE ready_at IS NULL AND created_at < ?",
                        (cutoff,))
        return self.db.execute(
            "DELETE FROM agenda_events WHERE ready_at IS NULL AND ("
            " cancelled_at < ? OR (rrule IS NULL AND start_at < ?))", (cutoff, cutoff),
        ).rowcount

    def prune_requests(self, older_than: float) -> int:
        """Forget the idempotency records of requests made more than `older_than` seconds ago;
        return how many went."""
        return self.db.execute("DELETE FROM agenda_requests WHERE created_at < ?",
                               (time.time() - older_than,)).rowcount

