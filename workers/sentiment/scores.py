"""The sentiment service's store: one score per heard message, and daily aggregates.

`MoodStore` says what the service needs; `workers.sentiment.sqlite_scores` implements it on
SQLite (`estafeta.stores.open_stores` picks the engine). Reads over days come from daily
aggregates kept in step with the scores (a rescored edit moves its old score out and its new
one in), so that `/mood` over 90 days reads at most a few thousand rows whatever the number of
messages. Every read names its team.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from workers.replies import ServiceStores


def day_of(at: float) -> str:
    """The UTC date of a timestamp, as the aggregates key it."""
    return datetime.fromtimestamp(at, UTC).date().isoformat()


@dataclass(frozen=True)
class Scored:
    """One heard message's score, ready to store."""

    team: str
    channel: str
    ts: str
    user: str
    score: float
    lang: str
    public: bool


@dataclass(frozen=True)
class Day:
    """The mood of one day."""

    day: str
    messages: int
    average: float
    positive: int
    negative: int


@dataclass(frozen=True)
class Written:
    """A channel a person wrote in, and whether they wrote there while it was private."""

    channel: str
    private: bool
    last_day: str = ""  # the UTC date they last wrote there (YYYY-MM-DD)


@dataclass(frozen=True)
class Scope:
    """Whose messages a summary reads: a channel's, or one user's across the team."""

    team: str
    channel: str = ""
    user: str = ""
    include_private: bool = False


class MoodStore(Protocol):
    """Scores and aggregates of every team's messages."""

    def put_many(self, scored: Iterable[Scored]) -> int:
        """Store scores in one transaction (a rescored message replaces its old score, in its
        aggregate too); return how many messages changed."""

    def put(self, item: Scored) -> bool:
        """Store one score; False if the message already had exactly this score."""

    def delete(self, team: str, channel: str, ts: str) -> bool:
        """Forget a deleted message, and take it out of its day."""

    def days(self, scope: Scope, since: float, until: float) -> list[Day]:
        """Daily mood in [since, until) (whole UTC days), oldest first."""

    def most_negative(self, scope: Scope, day: str) -> tuple[str, str, float] | None:
        """(channel, ts, score) of the most negative message of one day in `scope`."""

    def recent(self, team: str, channel: str, since: float) -> tuple[int, float]:
        """(messages, average score) in one channel since `since` (for alerts)."""

    def channels_of(self, team: str, user: str, since: float, limit: int) -> list[Written]:
        """The channels of `team` where `user` wrote since `since` (whole UTC days), the most
        recently written in first, at most `limit`."""

    def usual_language(self, team: str, channel: str) -> str | None:
        """The language most of a channel's messages are written in, if any were heard."""

    def set_alerts(self, team: str, channel: str, enabled: bool, lang: str, user: str) -> None:
        """Opt a channel in to (or out of) mood alerts."""

    def alerts_language(self, team: str, channel: str) -> str | None:
        """The language alerts are posted in, or None if the channel did not opt in."""

    def take_alert_slot(self, team: str, channel: str, every: float,
                        now: float | None = None) -> bool:
        """Atomically take the right to alert `channel` now: at most one alert per `every`
        seconds, whichever worker asks."""

    def release_alert_slot(self, team: str, channel: str, taken_at: float) -> None:
        """Give back a slot taken at `taken_at` whose alert Slack did not accept."""


@dataclass(frozen=True, kw_only=True)
class SentimentStores(ServiceStores):
    """Every store of the sentiment service (`open_stores(settings, "sentiment")`)."""

    moods: MoodStore
