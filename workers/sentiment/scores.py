"""The sentiment service's store: one score per heard message, summarised per channel."""

from __future__ import annotations

import time
from dataclasses import dataclass

from workers.storage import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS message_scores (
    team    TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts      TEXT NOT NULL,
    user    TEXT NOT NULL,
    score   REAL NOT NULL,
    at      REAL NOT NULL,
    public  INTEGER NOT NULL,  -- 1 for public channels; others only summarised from inside
    PRIMARY KEY (team, channel, ts)
);
CREATE INDEX IF NOT EXISTS message_scores_by_channel_time
    ON message_scores (team, channel, at);
"""

POSITIVE = 0.05  # VADER's own thresholds for the compound score
NEGATIVE = -0.05


def label(score: float) -> str:
    """negative, neutral or positive."""
    if score >= POSITIVE:
        return "positive"
    if score <= NEGATIVE:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class Summary:
    """The mood of a channel over a period."""

    messages: int
    average: float
    positive_share: float
    negative_share: float


class ScoreStore(SqliteFile):
    """Scores of every team's messages; every read is confined to one team."""

    schema = SCHEMA

    def put(self, team: str, channel: str, ts: str, user: str, score: float,
            public: bool) -> None:
        """Store or replace the score of one message (edits are rescored)."""
        self.db.execute(
            "INSERT INTO message_scores (team, channel, ts, user, score, at, public)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (team, channel, ts) DO UPDATE SET score = excluded.score",
            (team, channel, ts, user, score, float(ts), int(public)),
        )

    def delete(self, team: str, channel: str, ts: str) -> None:
        """Forget a deleted message."""
        self.db.execute(
            "DELETE FROM message_scores WHERE team = ? AND channel = ? AND ts = ?",
            (team, channel, ts)
        )

    def summary(self, team: str, channel: str, days: int, include_private: bool,
                now: float | None = None) -> Summary:
        """Average score and shares over the last `days` days in one channel of one team;
        a private channel's only when asked from inside it (`include_private`)."""
        since = (now or time.time()) - days * 86400
        row = self.db.execute(
            "SELECT count(*) AS n, avg(score) AS mean,"
            " sum(score >= ?) AS pos, sum(score <= ?) AS neg"
            " FROM message_scores WHERE team = ? AND channel = ? AND at >= ?"
            " AND (public = 1 OR ?)",
            (POSITIVE, NEGATIVE, team, channel, since, int(include_private)),
        ).fetchone()
        count = int(row["n"])
        if not count:
            return Summary(0, 0.0, 0.0, 0.0)
        return Summary(count, float(row["mean"]), row["pos"] / count, row["neg"] / count)
