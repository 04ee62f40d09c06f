"""The sentiment service's store on PostgreSQL: the `sentiment` schema, shared by every host.

The tables of SQLite (`mood_messages`, and `mood_daily` kept in step with it in the same
transaction), plus `mood_channel_daily`, the same days summed per channel, from which a
channel's `/mood` reads one row a day. Two workers storing the same message at once count it
once: the message row is inserted with `ON CONFLICT DO NOTHING`, and only the rows that insert
returned are added to the aggregates. A message that was already there is locked (`FOR UPDATE`)
before it is compared and rescored, so that concurrent edits take turns. Every aggregate row a
message touches belongs to its channel, so each transaction first takes its channels' locks,
in one order: two hosts writing the same channels wait for each other, never deadlock.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from estafeta.postgres import PostgresStore
from workers.sentiment.analysis import NEGATIVE, POSITIVE
from workers.sentiment.scores import Day, Scope, Scored, Written, day_of

Key = tuple[str, str, str]

_SUMS = ("messages", "total", "positive", "negative")


def _lock_channels(db: psycopg.Connection[Any], channels: set[tuple[str, str]]) -> None:
    """Take the transaction's lock on each (team, channel), sorted, before touching its rows."""
    for team, channel in sorted(channels):
        db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                   (f"mood\x1f{team}\x1f{channel}",))


def _added(table: str) -> str:
    """The SET list of an aggregate's upsert: the new row's sums added to the stored ones."""
    return ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in _SUMS)


# New messages in one statement: the rows the insert returned, and only those, go into their
# days (the person's and the channel's) and into their channel's language counts. Every insert
# runs in key order, so that two transactions storing overlapping batches wait for each other
# instead of deadlocking.
_INSERT_NEW = f"""
WITH incoming AS (
    SELECT * FROM unnest(%(teams)s::text[], %(channels)s::text[], %(tss)s::text[],
                         %(users)s::text[], %(scores)s::float8[], %(langs)s::text[],
                         %(ats)s::float8[], %(days)s::date[], %(publics)s::boolean[])
        AS t (team, channel, ts, "user", score, lang, at, day, public)
), inserted AS (
    INSERT INTO mood_messages (team, channel, ts, "user", score, lang, at, day, public)
    SELECT * FROM incoming ORDER BY team, channel, ts
    ON CONFLICT (team, channel, ts) DO NOTHING
    RETURNING team, channel, ts, "user", score, lang, day, public
), daily AS (
    INSERT INTO mood_daily (team, channel, "user", day, public, messages, total, positive,
                            negative)
    SELECT team, channel, "user", day, bool_and(public), count(*), sum(score),
           count(*) FILTER (WHERE score >= %(positive)s),
           count(*) FILTER (WHERE score <= %(negative)s)
    FROM inserted GROUP BY team, channel, day, "user" ORDER BY team, channel, day, "user"
    ON CONFLICT (team, channel, day, "user") DO UPDATE SET {_added("mood_daily")}
), channel_daily AS (
    INSERT INTO mood_channel_daily (team, channel, day, public, messages, total, positive,
                                    negative)
    SELECT team, channel, day, bool_and(public), count(*), sum(score),
           count(*) FILTER (WHERE score >= %(positive)s),
           count(*) FILTER (WHERE score <= %(negative)s)
    FROM inserted GROUP BY team, channel, day ORDER BY team, channel, day
    ON CONFLICT (team, channel, day) DO UPDATE SET {_added("mood_channel_daily")}
), languages AS (
    INSERT INTO mood_channel_langs (team, channel, es, en)
    SELECT team, channel, count(*) FILTER (WHERE lang = 'es'),
           count(*) FILTER (WHERE lang = 'en')
    FROM inserted WHERE lang IN ('es', 'en') GROUP BY team, channel ORDER BY team, channel
    ON CONFLICT (team, channel) DO UPDATE SET
        es = mood_channel_langs.es + excluded.es, en = mood_channel_langs.en + excluded.en
)
SELECT team, channel, ts FROM inserted
"""


def _key(item: Scored) -> Key:
    return item.team, item.channel, item.ts


def _start_of(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


class PostgresMoodStore(PostgresStore):
    """`MoodStore` in the sentiment service's PostgreSQL schema."""

    # -- writing -------------------------------------------------------------------------

    def put_many(self, scored: Iterable[Scored]) -> int:
        """Store scores in one transaction (a rescored message replaces its old score, in its
        aggregate too); return how many messages changed."""
        items = list(scored)
        if not items:
            return 0
        firsts: dict[Key, Scored] = {}
        for item in items:
            firsts.setdefault(_key(item), item)
        with self.database.transaction() as db:
            _lock_channels(db, {(item.team, item.channel) for item in items})
            new = self._insert(db, list(firsts.values()))
            changed = len(new)
            again = []
            for item in items:
                if _key(item) in new:
                    new.discard(_key(item))  # its first copy was just stored
                else:
                    again.append(item)
            # Each is compared with what is stored now and rescored; in key order, like the
            # inserts (against deadlocks), and a message's copies in the order given (the
            # last one stays, as one by one).
            changed += sum(self._rescore(db, item) for item in sorted(again, key=_key))
        return changed

    def put(self, item: Scored) -> bool:
        """Store one score; False if the message already had exactly this score."""
        return self.put_many([item]) == 1

    @staticmethod
    def _insert(db: psycopg.Connection[Any], items: list[Scored]) -> set[Key]:
        """Insert the messages not stored yet (and count them in); return their keys."""
        rows = db.execute(_INSERT_NEW, {
            "teams": [i.team for i in items], "channels": [i.channel for i in items],
            "tss": [i.ts for i in items], "users": [i.user for i in items],
            "scores": [i.score for i in items], "langs": [i.lang for i in items],
            "ats": [float(i.ts) for i in items],
            "days": [date.fromisoformat(day_of(float(i.ts))) for i in items],
            "publics": [i.public for i in items],
            "positive": POSITIVE, "negative": NEGATIVE,
        }).fetchall()
        return {(row["team"], row["channel"], row["ts"]) for row in rows}

    def _rescore(self, db: psycopg.Connection[Any], item: Scored) -> int:
        """Compare a stored message with its new score and move it if it changed."""
        old = db.execute(
            'SELECT score, "user", day, public FROM mood_messages'
            " WHERE team = %s AND channel = %s AND ts = %s FOR UPDATE", _key(item)).fetchone()
        if old is None:  # deleted since the insert found it: store it anew
            return len(self._insert(db, [item]))
        if old["score"] == item.score:
            return 0  # a redelivery: nothing to do
        db.execute("UPDATE mood_messages SET score = %s, lang = %s"
                   " WHERE team = %s AND channel = %s AND ts = %s",
                   (item.score, item.lang, *_key(item)))
        # The message stays in its day and with its author: only the score moves.
        self._count(db, item.team, item.channel, old["user"], old["day"], old["public"],
                    messages=0, total=item.score - old["score"],
                    positive=int(item.score >= POSITIVE) - int(old["score"] >= POSITIVE),
                    negative=int(item.score <= NEGATIVE) - int(old["score"] <= NEGATIVE))
        return 1

    @staticmethod
    def _count(db: psycopg.Connection[Any], team: str, channel: str, user: str, day: date,
               public: bool, *, messages: int, total: float, positive: int,
               negative: int) -> None:
        """Add one message's change to its person's day and to its channel's day."""
        sums = (public, messages, total, positive, negative)
        db.execute(
            'INSERT INTO mood_daily (team, channel, "user", day, public, messages, total,'
            " positive, negative) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            f' ON CONFLICT (team, channel, day, "user") DO UPDATE SET {_added("mood_daily")}',
            (team, channel, user, day, *sums))
        db.execute(
            "INSERT INTO mood_channel_daily (team, channel, day, public, messages, total,"
            " positive, negative) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (team, channel, day) DO UPDATE SET"
            f" {_added('mood_channel_daily')}", (team, channel, day, *sums))

    def delete(self, team: str, channel: str, ts: str) -> bool:
        """Forget a deleted message, and take it out of its day."""
        with self.database.transaction() as db:
            _lock_channels(db, {(team, channel)})
            old = db.execute(
                "DELETE FROM mood_messages WHERE team = %s AND channel = %s AND ts = %s"
                ' RETURNING score, "user", day, public', (team, channel, ts)).fetchone()
            if old is None:
                return False
            score = old["score"]
            self._count(db, team, channel, old["user"], old["day"], old["public"],
                        messages=-1, total=-score, positive=-int(score >= POSITIVE),
                        negative=-int(score <= NEGATIVE))
        return True

    # -- reading -------------------------------------------------------------------------

    def days(self, scope: Scope, since: float, until: float) -> list[Day]:
        """Daily mood in [since, until) (whole UTC days), oldest first."""
        where, params = self._where(scope)
        # A whole channel's days are summed already; a person's are summed here.
        table = "mood_daily" if scope.user else "mood_channel_daily"
        first, last = date.fromisoformat(day_of(since)), date.fromisoformat(day_of(until - 1e-3))
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT day, sum(messages) AS n, sum(total) AS total, sum(positive) AS pos,"
                f" sum(negative) AS neg FROM {table} WHERE {where}"
                " AND day >= %s AND day <= %s GROUP BY day HAVING sum(messages) > 0"
                " ORDER BY day", (*params, first, last)).fetchall()
        return [Day(r["day"].isoformat(), int(r["n"]), float(r["total"]) / r["n"],
                    int(r["pos"]), int(r["neg"])) for r in rows]

    @staticmethod
    def _where(scope: Scope) -> tuple[str, tuple[object, ...]]:
        if scope.user and not scope.channel:
            # A user's own mood: their messages everywhere in the team (they wrote them).
            return 'team = %s AND "user" = %s', (scope.team, scope.user)
        clause = "team = %s AND channel = %s AND (public OR %s)"
        params: tuple[object, ...] = (scope.team, scope.channel, scope.include_private)
        if scope.user:
            clause += ' AND "user" = %s'
            params += (scope.user,)
        return clause, params

    def most_negative(self, scope: Scope, day: str) -> tuple[str, str, float] | None:
        """(channel, ts, score) of the most negative message of one day in `scope`."""
        start = _start_of(day)
        with self.database.connection() as db:
            if scope.user and not scope.channel:
                # The user's days name the channels they wrote in; the time range keeps each
                # channel's lookup on its (team, channel, at) index.
                row = db.execute(
                    "SELECT m.channel, m.ts, m.score FROM mood_daily d JOIN mood_messages m"
                    " ON m.team = d.team AND m.channel = d.channel AND m.day = d.day"
                    ' AND m."user" = d."user" AND m.at >= %s AND m.at < %s'
                    ' WHERE d.team = %s AND d."user" = %s AND d.day = %s'
                    " ORDER BY m.score, m.channel, m.ts LIMIT 1",
                    (start, start + 86400, scope.team, scope.user,
                     date.fromisoformat(day))).fetchone()
            else:
                by_user = ' AND "user" = %s' if scope.user else ""
                row = db.execute(
                    "SELECT channel, ts, score FROM mood_messages WHERE team = %s"
                    " AND channel = %s AND at >= %s AND at < %s AND (public OR %s)"
                    f"{by_user} ORDER BY score, ts LIMIT 1",
                    (scope.team, scope.channel, start, start + 86400, scope.include_private,
                     *((scope.user,) if scope.user else ()))).fetchone()
        return None if row is None else (row["channel"], row["ts"], float(row["score"]))

    def recent(self, team: str, channel: str, since: float) -> tuple[int, float]:
        """(messages, average score) in one channel since `since` (for alerts)."""
        with self.database.connection() as db:
            row = db.execute(
                "SELECT count(*) AS n, avg(score) AS mean FROM mood_messages"
                " WHERE team = %s AND channel = %s AND at >= %s",
                (team, channel, since)).fetchone()
        assert row is not None
        return int(row["n"]), float(row["mean"] or 0.0)

    def channels_of(self, team: str, user: str, since: float, limit: int) -> list[Written]:
        """The channels of `team` where `user` wrote since `since` (whole UTC days), the most
        recently written in first, at most `limit`."""
        # The person's own days (on the `mood_daily_by_user` index): where they wrote.
        with self.database.connection() as db:
            rows = db.execute(
                "SELECT channel, bool_and(public) AS public, max(day) AS last FROM mood_daily"
                ' WHERE team = %s AND "user" = %s AND day >= %s AND messages > 0'
                " GROUP BY channel ORDER BY last DESC, channel LIMIT %s",
                (team, user, date.fromisoformat(day_of(since)), limit)).fetchall()
        return [Written(r["channel"], not r["public"], r["last"].isoformat()) for r in rows]

    def usual_language(self, team: str, channel: str) -> str | None:
        """The language most of a channel's messages are written in, if any were heard."""
        with self.database.connection() as db:
            row = db.execute("SELECT es, en FROM mood_channel_langs WHERE team = %s"
                             " AND channel = %s", (team, channel)).fetchone()
        if row is None or row["es"] == row["en"]:
            return None
        return "es" if row["es"] > row["en"] else "en"

    # -- alerts --------------------------------------------------------------------------

    def set_alerts(self, team: str, channel: str, enabled: bool, lang: str, user: str) -> None:
        """Opt a channel in to (or out of) mood alerts."""
        with self.database.connection() as db:
            db.execute(
                "INSERT INTO mood_alerts (team, channel, enabled, lang, changed_by)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (team, channel) DO UPDATE SET"
                " enabled = excluded.enabled, lang = excluded.lang,"
                " changed_by = excluded.changed_by",
                (team, channel, enabled, lang, user))

    def alerts_language(self, team: str, channel: str) -> str | None:
        """The language alerts are posted in, or None if the channel did not opt in."""
        with self.database.connection() as db:
            row = db.execute("SELECT lang FROM mood_alerts WHERE team = %s AND channel = %s"
                             " AND enabled", (team, channel)).fetchone()
        return None if row is None else str(row["lang"])

    def take_alert_slot(self, team: str, channel: str, every: float,
                        now: float | None = None) -> bool:
        """Atomically take the right to alert `channel` now: at most one alert per `every`
        seconds, whichever worker asks."""
        now = time.time() if now is None else now
        # One conditional UPDATE: a second worker waits for the first one's row lock, then
        # re-reads the row it changed, finds the slot taken and updates nothing.
        with self.database.connection() as db:
            row = db.execute(
                "UPDATE mood_alerts SET last_alert_at = %s WHERE team = %s AND channel = %s"
                " AND enabled AND (last_alert_at IS NULL OR last_alert_at <= %s)"
                " RETURNING last_alert_at", (now, team, channel, now - every)).fetchone()
        return row is not None

    def release_alert_slot(self, team: str, channel: str, taken_at: float) -> None:
        """Give back a slot taken at `taken_at` whose alert Slack did not accept."""
        with self.database.connection() as db:
            db.execute("UPDATE mood_alerts SET last_alert_at = NULL WHERE team = %s"
                       " AND channel = %s AND last_alert_at = %s", (team, channel, taken_at))
