"""Reminder delivery: the beat's scan claims due reminders, delivery tasks post each one once.

Long ETA/countdown tasks are unsafe on RabbitMQ (a message held unacknowledged past the
broker's consumer timeout closes the channel, and prefetch makes workers hoard them), so the
schedule lives in the database: beat sends `agenda.scan` every few seconds, the scan claims what
is due through the store's lease and fans it out as `agenda.deliver` tasks at the system's
highest priority. A reminder is posted under a ledger key per occurrence, so a second beat, a
second worker, a redelivery or an expired lease never posts it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from celery import Celery

import routing
from payloads import ReplyTarget
from workers.agenda.store import AgendaStore, Claimed, Event
from workers.agenda.when import next_occurrence
from workers.replies import Reply, SlackReplier, TransientError
from workers.service import ServiceTask

log = logging.getLogger(__name__)

DELIVER_TASK = "agenda.deliver"
LEASE = 120.0  # seconds a scan's claim lasts: longer than a delivery task's hard time limit
SCAN_LIMIT = 1000  # reminders claimed per statement
SCAN_ROUNDS = 20  # statements per scan: a burst of 20,000 due at once is fanned out in one go
BATCH = 20  # reminders per delivery task: fewer messages, still spread over every worker
LATE_AFTER = 60.0  # default REMINDER_LATE_SECONDS: later than this, a reminder says so
REMINDER = int(routing.Priority.REMINDER)

_TEXT = {
    "en": {"reminder": ":alarm_clock: Reminder: *{title}* ({time})",
           "late": "\n_Late: this was due at {due}; I could not deliver it then._"},
    "es": {"reminder": ":alarm_clock: Recordatorio: *{title}* ({time})",
           "late": "\n_Con retraso: era para las {due}; no pude avisar a tiempo._"},
}


def _batches(items: Sequence[Claimed], size: int) -> Iterator[Sequence[Claimed]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def reminder_text(event: Event, due_at: float, now: float,
                  late_after: float = LATE_AFTER) -> str:
    """The reminder as posted, marked late when it is delivered well after its time."""
    texts = _TEXT.get(event.lang, _TEXT["en"])
    due = datetime.fromtimestamp(due_at, ZoneInfo(event.tz))
    text = texts["reminder"].format(title=event.title, time=due.strftime("%H:%M"))
    if now - due_at > late_after:
        text += texts["late"].format(due=due.strftime("%Y-%m-%d %H:%M"))
    return text


def following_due(event: Event, due_at: float, now: float) -> float | None:
    """The next reminder of a recurring event: the first occurrence still to come, so that
    a recurring reminder missed several times during an outage is posted once, not in a flood."""
    if event.rrule is None:
        return None
    when = event.when
    after = datetime.fromtimestamp(max(due_at, now), when.start.tzinfo)
    following = next_occurrence(when, after)
    return None if following is None else following.timestamp()


def deliver_one(store: AgendaStore, replier: SlackReplier, claimed: Claimed,
                attempt: int = 0, takeover: bool = False, late_after: float = LATE_AFTER
                ) -> bool:
    """Post one due reminder unless it is already posted, then schedule its next occurrence;
    True if posted now."""
    event = store.by_id(claimed.event_id)
    if event is None or event.cancelled_at is not None or event.due_at != claimed.due_at:
        return False  # cancelled, or this occurrence was delivered and moved on already
    now = time.time()
    key = f"reminder:{event.id}:{claimed.due_at:.3f}"
    posted = replier.deliver(
        ReplyTarget(kind="channel", channel=event.notify), key=key,
        reply=Reply(reminder_text(event, claimed.due_at, now, late_after)),
        attempt=attempt, takeover=takeover,
    )
    store.advance(event.id, claimed.due_at, following_due(event, claimed.due_at, now))
    return posted


def register_reminders(app: Celery, base: type[ServiceTask], store: AgendaStore,
                       replier: SlackReplier, late_after: float = LATE_AFTER) -> None:
    """Register `agenda.scan` (sent by beat) and `agenda.deliver`."""

    @app.task(name=DELIVER_TASK, bind=True, base=base, shared=False, ignore_result=True)
    def deliver(self: ServiceTask, reminders: list[list[float]]) -> None:
        """Post a batch of due reminders, each exactly once."""
        self.guard_redelivery()
        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        for event_id, due_at in reminders:
            try:
                deliver_one(store, replier, Claimed(int(event_id), float(due_at)),
                            attempt=self.request.retries or 0, takeover=redelivered,
                            late_after=late_after)
            except TransientError as exc:
                # The ones already posted are skipped on the retry by their ledger keys.
                raise self.retry_later(exc) from exc

    @app.task(name=routing.REMINDER_SCAN_TASK, bind=True, base=base, shared=False,
              ignore_result=True)
    def scan(self: ServiceTask) -> dict[str, Any]:
        """Claim every reminder due now and send it for delivery."""
        sent = 0
        for _ in range(SCAN_ROUNDS):
            claimed = store.claim_due(time.time(), LEASE, SCAN_LIMIT)
            for batch in _batches(claimed, BATCH):
                deliver.apply_async(([[c.event_id, c.due_at] for c in batch],),
                                    priority=REMINDER)
            sent += len(claimed)
            if len(claimed) < SCAN_LIMIT:
                break
        if sent:
            log.info("scan sent %d due reminder(s) for delivery", sent)
        return {"sent": sent}
