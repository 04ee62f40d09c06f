"""Work declared safe to drop once stale: an expired one is acknowledged, never dead-lettered.

Celery turns a task's `expires` into the AMQP per-message TTL as well, and RabbitMQ dead-letters
a message whose TTL runs out in a queue with a dead-letter exchange (every queue here has one):
an hour with no agenda worker would leave 3,600 scans among the real dead letters. So droppable
tasks are published with `expires` in the message only; the worker acknowledges and drops them
once expired (Celery's handling of expired requests), logging one INFO line per burst.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import before_task_publish
from celery.worker.request import Request

import routing

log = logging.getLogger(__name__)

# The next scan claims whatever is due, so a stale scan has nothing left to do.
DROPPABLE_TASKS = frozenset({routing.REMINDER_SCAN_TASK})
BURST_GAP = 60.0  # seconds without a drop after which the next one is a new burst


def _publish_without_broker_ttl(properties: dict[str, Any] | None = None, **_: Any) -> None:
    """Keep the broker from expiring (and so dead-lettering) a droppable task."""
    if properties is not None:
        properties.pop("expiration", None)


for _task in DROPPABLE_TASKS:
    before_task_publish.connect(_publish_without_broker_ttl, sender=_task, weak=False)


class DroppableRequest(Request):
    """A request whose task may be dropped once expired, quietly."""

    last_drop = float("-inf")  # when this worker last dropped one (monotonic)

    def revoked(self) -> bool:
        """Acknowledge and drop an expired request, with one INFO line per burst."""
        if self._already_revoked or not self.expires or not self.maybe_expire():
            return bool(super().revoked())
        now = time.monotonic()
        level = logging.INFO if now - DroppableRequest.last_drop > BURST_GAP else logging.DEBUG
        DroppableRequest.last_drop = now
        log.log(level, "dropping expired %s[%s] (and, at DEBUG, the others of this burst)",
                self.name, self.id)
        self._announce_revoked("expired", False, None, True)
        return True
