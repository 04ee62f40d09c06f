"""What the gateway has accepted: Slack event ids and triggers (so that retries and replays are
not published again) and the team that owns each HTTP task (so that only it reads the task).

The stores are Protocols; `gateway.sqlite_dedup` implements them on SQLite, and
`estafeta.stores.open_stores(settings, "gateway")` picks the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from estafeta.celery_config import RESULT_EXPIRES

# Slack retries events for about an hour and a signed request is valid for 5 minutes: a day
# leaves a wide margin for both.
RETENTION = 24 * 3600
# An owner is needed as long as its task's result can still be read.
OWNER_RETENTION = RESULT_EXPIRES + 24 * 3600
PRUNE_EVERY = 1000
# Longer ids are not Slack's: they are not remembered (the request is still served).
MAX_TRIGGER_ID = 200


def trigger_key(team: str, trigger_id: object) -> str | None:
    """The accepted-events key of a slash command or interaction, None without a trigger id."""
    if not isinstance(trigger_id, str) or not trigger_id or len(trigger_id) > MAX_TRIGGER_ID:
        return None
    return f"trigger:{team}:{trigger_id}"


class AcceptedEvents(Protocol):
    """A set of event ids and trigger keys shared by every gateway process."""

    def __contains__(self, event_id: str) -> bool:
        """Whether `event_id` was accepted (within `RETENTION`)."""

    def claim(self, key: str) -> bool:
        """Remember `key`; True only for the first of concurrent or repeated claims."""

    def discard(self, key: str) -> None:
        """Forget a claim whose work was not accepted after all (the broker was down)."""


class TaskOwners(Protocol):
    """task id → team, written when the gateway accepts an HTTP command, before it publishes."""

    def record(self, task_id: str, team: str) -> None:
        """Remember that `team` asked for `task_id`."""

    def forget(self, task_id: str) -> None:
        """Drop the record of a task that was not accepted after all."""

    def owner(self, task_id: str) -> str | None:
        """The team that asked for `task_id`, or None when this gateway never accepted it."""


@dataclass(frozen=True, kw_only=True)
class GatewayStores:
    """Every store of the gateway (`open_stores(settings, "gateway")`)."""

    accepted_events: AcceptedEvents
    task_owners: TaskOwners
