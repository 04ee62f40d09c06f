"""The sentiment service's store on SQLite: one WAL file under `DATA_DIR`.

Reads over days come from `mood_daily`, one row per (team, channel, user, UTC day), kept in
step with `mood_messages` inside the same transaction, so that `/mood` over 90 days reads at
most a few thousand rows whatever the number of messages.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from estafeta.storage import SqliteFile
from workers.sentiment.analysis import NEGATIVE, POSITIVE
from workers.sentiment.scores import Day, Scope, Scored, Written, day_of


class SqliteMoodStore(SqliteFile):
    """`MoodStore` in the sentiment service's SQLite file."""

    history = "sentiment"

    # -- writing -------------------------------------------------------------------------

    def put_many(self, scored: Iterable[Scored]) -> int:
        """Store scores in one transaction (a rescored message replaces its old score, in its
        aggregate too); return how many messages changed."""
        changed = 0
        with self.transaction() as db:
            for item in scored:
                changed += self._put(db, item)
        return changed

    def put(self, item: Scored) -> bool:
        """Store one score; False if the message already had exactly this score."""
        return self.put_many([item]) == 1

    def _put(self, db: sqlite3.Connection, item: Scored) -> int:
        at = float(item.ts)
        old = db.execute(
            "SELECT score, user, day, public FROM mood_messages"
            " WHERE team = ? AND channel = ? AND ts = ?",
            (item.team, item.channel, item.ts)).fetchone()
        if old is not None:
            if old["score"] == item.score:
                return 0  # a redelivery: nothing to do
            self._count(db, item.team, item.channel, old["user"], old["day"],
                        bool(old["public"]), old["score"], -1)
        day = day_of(at)
        db.execute(
            "INSERT INTO mood_messages (team, channel, ts, user, score, lang, at, day, public)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team, channel, ts) DO UPDATE"
            " SET score = excluded.score, lang = excluded.lang",
            (item.team, item.channel, item.ts, item.user, item.score, item.lang, at, day,
             int(item.public)))
        user = old["user"] if old is not None else item.user
        self._count(db, item.team, item.channel, user, day, item.public, item.score, +1)
        if old is None and item.lang in {"es", "en"}:  # a column name: never user input
            db.execute(
                f"INSERT INTO mood_channel_langs (team, channel, {item.lang}) VALUES (?, ?, 1)"
                f" ON CONFLICT (team, channel) DO UPDATE SET {item.lang} = {item.lang} + 1",
                (item.team, item.channel))
        return 1

    @staticmethod
    def _count(db: sqlite3.Connection, team: str, channel: str, user: str, day: str,
               public: bool, score: float, sign: int) -> None:
        db.execute(
            "INSERT INTO mood_daily (team, channel, user, day, public, messages, total,"
            " positive, negative) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (team, channel, day, user) DO UPDATE SET"
            " messages = messages + excluded.messages, total = total + excluded.total,"
            " positive = positive + excluded.positive, negative = negative + excluded.negative",
            (team, channel, user, day, int(public), sign, sign * score,
             sign * int(score >= POSITIVE), sign * int(score <= NEGATIVE)))

    def delete(self, team: str, channel: str, ts: str) -> bool:
        """Forget a deleted message, and take it out of its day."""
        with self.transaction() as db:
            old = db.execute(
                "DELETE FROM mood_messages WHERE team = ? AND channel = ? AND ts = ?"
                " RETURNING score, user, day, public", (team, channel, ts)).fetchone()
            if old is None:
                return False
            self._count(db, team, channel, old["user"], old["day"], bool(old["public"]),
                        old["score"], -1)
        return True

    # -- reading -------------------------------------------------------------------------

    def days(self, scope: Scope, since: float, until: float) -> list[Day]:
        """Daily mood in [since, until) (whole UTC days), oldest first."""
        where, params = self._where(scope)
        rows = self.db.execute(
            "SELECT day, sum(messages) AS n, sum(total) AS total, sum(positive) AS pos,"
            f" sum(negative) AS neg FROM mood_daily WHERE {where}"
            " AND day >= ? AND day <= ? GROUP BY day HAVING n > 0 ORDER BY day",
            (*params, day_of(since), day_of(until - 1e-3))).fetchall()
        return [Day(r["day"], int(r["n"]), float(r["total"]) / r["n"], int(r["pos"]),
                    int(r["neg"])) for r in rows]

    @staticmethod
    def _where(scope: Scope) -> tuple[str, tuple[object, ...]]:
        if scope.user and not scope.channel:
            # A user's own mood: their messages everywhere in the team (they wrote them).
            return "team = ? AND user = ?", (scope.team, scope.user)
        clause = "team = ? AND channel = ? AND (public = 1 OR ?)"
        params: tuple[object, ...] = (scope.team, scope.channel, int(scope.include_private))
        if scope.user:
            clause += " AND user = ?"
            params += (scope.user,)
        return clause, params

    def most_negative(self, scope: Scope, day: str) -> tuple[str, str, float] | None:
        """(channel, ts, score) of the most negative message of one day in `scope`."""
        if scope.user and not scope.channel:
            row = self.db.execute(
                "SELECT m.channel, m.ts, m.score FROM mood_daily d JOIN mood_messages m"
                " ON m.team = d.team AND m.channel = d.channel AND m.day = d.day"
                " AND m.user = d.user WHERE d.team = ? AND d.user = ? AND d.day = ?"
                " ORDER BY m.score LIMIT 1", (scope.team, scope.user, day)).fetchone()
        else:
            start = datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()
            row = self.db.execute(
                "SELECT channel, ts, score FROM mood_messages WHERE team = ? AND channel = ?"
                " AND at >= ? AND at < ? AND (public = 1 OR ?) AND (? = '' OR user = ?)"
                " ORDER BY score LIMIT 1",
                (scope.team, scope.channel, start, start + 86400, int(scope.include_private),
                 scope.user, scope.user)).fetchone()
        return None if row is None else (row["channel"], row["ts"], float(row["score"]))

    def recent(self, team: str, channel: str, since: float) -> tuple[int, float]:
        """(messages, average score) in one channel since `since` (for alerts)."""
        row = self.db.execute(
            "SELECT count(*) AS n, avg(score) AS mean FROM mood_messages"
            " WHERE team = ? AND channel = ? AND at >= ?", (team, channel, since)).fetchone()
        return int(row["n"]), float(row["mean"] or 0.0)

    def channels_of(self, team: str, user: str, since: float, limit: int) -> list[Written]:
        """The channels of `team` where `user` wrote since `since` (whole UTC days), the most
        recently written in first, at most `limit`."""
        # The person's own days (on the `mood_daily_by_user` index): where they wrote.
        rows = self.db.execute(
            "SELECT channel, min(public) AS public, max(day) AS last FROM mood_daily"
            " WHERE team = ? AND user = ? AND day >= ? AND messages > 0 GROUP BY channel"
            " ORDER BY last DESC, channel LIMIT ?",
            (team, user, day_of(since), limit)).fetchall()
        return [Written(r["channel"], not r["public"], str(r["last"])) for r in rows]

    def usual_language(self, team: str, channel: str) -> str | None:
        """The language most of a channel's messages are written in, if any were heard."""
        row = self.db.execute("SELECT es, en FROM mood_channel_langs WHERE team = ?"
                              " AND channel = ?", (team, channel)).fetchone()
        if row is None or row["es"] == row["en"]:
            return None
        return "es" if row["es"] > row["en"] else "en"

    # -- alerts --------------------------------------------------------------------------

    def set_alerts(self, team: str, channel: str, enabled: bool, lang: str, user: str) -> None:
        """Opt a channel in to (or out of) mood alerts."""
        self.db.execute(
            "INSERT INTO mood_alerts (team, channel, enabled, lang, changed_by)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (team, channel) DO UPDATE SET"
            " enabled = excluded.enabled, lang = excluded.lang,"
            " changed_by = excluded.changed_by",
            (team, channel, int(enabled), lang, user))

    def alerts_language(self, team: str, channel: str) -> str | None:
        """The language alerts are posted in, or None if the channel did not opt in."""
        row = self.db.execute("SELECT lang FROM mood_alerts WHERE team = ? AND channel = ?"
                              " AND enabled = 1", (team, channel)).fetchone()
        return None if row is None else str(row["lang"])

    def take_alert_slot(self, team: str, channel: str, every: float,
                        now: float | None = None) -> bool:
        """Atomically take the right to alert `channel` now: at most one alert per `every`
        seconds, whichever worker asks."""
        now = time.time() if now is None else now
        return self.db.execute(
            "UPDATE mood_alerts SET last_alert_at = ? WHERE team = ? AND channel = ?"
            " AND enabled = 1 AND (last_alert_at IS NULL OR last_alert_at <= ?)",
            (now, team, channel, now - every)).rowcount == 1

    def release_alert_slot(self, team: str, channel: str, taken_at: float) -> None:
        """Give back a slot taken at `taken_at` whose alert Slack did not accept."""
        self.db.execute("UPDATE mood_alerts SET last_alert_at = NULL WHERE team = ?"
                        " AND channel = ? AND last_alert_at = ?", (team, channel, taken_at))
