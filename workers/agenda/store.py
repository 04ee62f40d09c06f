"""The agenda's store: events, their next reminder, and the scheduler's claims on them.

`AgendaStore` says what the service needs; `workers.agenda.sqlite_store` implements it on SQLite
(`estafeta.stores.open_stores` picks the engine).

A scheduler takes due reminders under a lease (`claim_due`): a reminder one scheduler holds is
invisible to every other until its lease ends.

A command's side effect (an event added, one cancelled, an import) is recorded under its
request key (the task id) in the same transaction, so a retried or redelivered task finds the
first result instead of repeating it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from workers.agenda.when import When, next_occurrence
from workers.replies import ServiceStores


@dataclass(frozen=True)
class Event:
    """One event or reminder, as stored."""

    id: int
    team: str
    channel: str
    owner: str
    title: str
    start_local: str
    tz: str
    start_at: float
    rrule: str | None
    time_given: bool
    lang: str
    notify: str
    public: bool
    uid: str | None = None
    cancelled_at: float | None = None
    due_at: float | None = None
    delivered: bool = False
    paused_at: float | None = None
    paused_reason: str | None = None

    @property
    def when(self) -> When:
        """The event's time as the parser gave it: aware local start and its rule."""
        start = datetime.fromisoformat(self.start_local).replace(tzinfo=ZoneInfo(self.tz))
        return When(start=start, rrule=self.rrule, time_given=self.time_given)

    def occurrences(self, since: datetime, until: datetime, limit: int | None = None
                    ) -> Iterator[datetime]:
        """Starts of this event within [since, until), in the event's timezone; at most
        `limit` of them, so that a listing costs the same whatever the rule."""
        when = self.when
        current: datetime | None = when.start
        found = 0
        while current is not None and current < until:
            if limit is not None and found >= limit:
                return
            if current >= since:
                found += 1
                yield current
            if when.rrule is None:
                return
            current = next_occurrence(when, max(current, since - _EPSILON))


_EPSILON = datetime.resolution * 1000  # one millisecond: `next_occurrence` is strictly after


@dataclass(frozen=True)
class NewEvent:
    """An event about to be stored."""

    team: str
    channel: str
    owner: str
    title: str
    when: When
    lang: str
    notify: str
    public: bool
    uid: str | None = None


@dataclass(frozen=True)
class Claimed:
    """A reminder a scheduler has taken: deliver occurrence `due_at` of event `event_id`; or,
    for a snoozed one (`snooze` its id), remind again at `due_at` of `occurrence`."""

    event_id: int
    due_at: float
    snooze: int = 0
    occurrence: float | None = None

    @property
    def starts_at(self) -> float:
        """The start of the occurrence this reminder is about."""
        return self.due_at if self.occurrence is None else self.occurrence

    def as_list(self) -> list[float]:
        """The JSON form carried in a delivery task."""
        if not self.snooze:
            return [self.event_id, self.due_at]
        return [self.event_id, self.due_at, self.snooze, self.starts_at]

    @classmethod
    def from_list(cls, item: list[float]) -> Claimed:
        """Rebuild from the JSON form (`[event, due]` or `[event, due, snooze, occurrence]`)."""
        if len(item) >= 4:
            return cls(int(item[0]), float(item[1]), int(item[2]), float(item[3]))
        return cls(int(item[0]), float(item[1]))


def first_due(when: When, now: float) -> float | None:
    """The first reminder of an imported event: its next start from `now` on, if any."""
    # An imported agenda's past occurrences are history, not missed reminders.
    if when.start.timestamp() >= now:
        return when.start.timestamp()
    following = next_occurrence(when, datetime.fromtimestamp(now, when.start.tzinfo))
    return None if following is None else following.timestamp()


class AgendaStore(Protocol):
    """Events of every team; every read is confined to one team."""

    def request(self, team: str, key: str) -> tuple[str, int | None, int | None] | None:
        """(verb, event id, count) recorded under request `key`, or None for a new request."""

    def done_event(self, team: str, key: str, verb: str) -> Event | None:
        """The event request `key` already added or cancelled (`verb`), as it is now; None for
        a new request (or one whose event is gone)."""

    def add(self, event: NewEvent, remind: bool = True, now: float | None = None,
            request_key: str = "") -> Event:
        """Store a new event; its first reminder is due at its start (if `remind`). With a
        `request_key` already used, the event stored then is returned and nothing is added."""

    def upsert_imported(self, events: Iterable[NewEvent], remind: bool,
                        now: float | None = None, request_key: str = "",
                        team: str = "") -> int:
        """Store imported events, replacing earlier imports with the same uid; return count.
        A `request_key` (of `team`) already used returns the count stored then, storing
        nothing: a re-run must not undo what happened since (an event cancelled)."""

    def cancel(self, team: str, event_id: int, now: float | None = None,
               request_key: str = "") -> bool:
        """Cancel an event and its pending reminders; False if it was not active. The
        cancellation is recorded under `request_key`, for a re-run to find."""

    def pause(self, event_id: int, due_at: float, reason: str,
              now: float | None = None) -> bool:
        """Stop the reminders of an event Slack refuses to deliver (`reason`: its error);
        False if another delivery already moved occurrence `due_at` on."""

    def claim_due(self, now: float, lease: float, limit: int) -> list[Claimed]:
        """Take up to `limit` due reminders for `lease` seconds, atomically: a reminder taken
        by one scheduler is invisible to every other until its lease ends. Snoozed reminders
        come after the events' own (up to `limit` more)."""

    def snooze(self, team: str, event_id: int, occurrence: float, due_at: float,
               request_key: str, now: float | None = None) -> float:
        """Schedule one more reminder of occurrence `occurrence` of an event at `due_at`; the
        time stored under `request_key` (a re-run of the same click schedules nothing)."""

    def snooze_delivered(self, snooze: int) -> bool:
        """Record that snoozed reminder `snooze` was posted (or dropped); False if it was
        already."""

    def pending(self) -> int:
        """How many reminders wait to be delivered (for the operators)."""

    def backlog(self, now: float, late_after: float) -> tuple[int, int]:
        """Reminders not yet sent: (due after `now - late_after`, i.e. still on time or to
        come; due longer ago than that: overdue), snoozed ones included."""

    def advance(self, event_id: int, due_at: float, following: float | None) -> bool:
        """Record that occurrence `due_at` was delivered and schedule `following` (None: the
        event is over); False if another delivery already moved it on."""

    def get(self, team: str, event_id: int) -> Event | None:
        """One event of `team`, cancelled or not."""

    def by_id(self, event_id: int) -> Event | None:
        """One event, for the scheduler (which works for every team)."""

    def visible(self, team: str, user: str, channel: str, inside: str,
                until: float, text: str = "") -> list[Event]:
        """Active events `user` may see from `channel`: their own, and the channel's agenda
        (a private channel's only from inside it), starting before `until`."""

    def owned(self, team: str, user: str) -> list[Event]:
        """Every active event `user` added (for `export`)."""

    def cached_user(self, team: str, user: str, max_age: float) -> tuple[str, bool] | None:
        """A user's (timezone, is_admin) if fetched within `max_age` seconds."""

    def remember_user(self, team: str, user: str, tz: str, is_admin: bool) -> None:
        """Cache a user's timezone and admin flag."""

    def prune(self, older_than: float) -> int:
        """Forget events cancelled or over more than `older_than` seconds ago; return how many."""

    def prune_requests(self, older_than: float) -> int:
        """Forget the idempotency records of requests made more than `older_than` seconds ago;
        return how many went."""


@dataclass(frozen=True, kw_only=True)
class AgendaStores(ServiceStores):
    """Every store of the agenda service (`open_stores(settings, "agenda")`)."""

    events: AgendaStore
