"""Reminder delivery: the beat's scan claims due reminders, delivery tasks post each one once.

Long ETA/countdown tasks are unsafe on RabbitMQ (a message held unacknowledged past the
broker's consumer timeout closes the channel, and prefetch makes workers hoard them), so the
schedule lives in the database: beat sends `agenda.scan` every few seconds, the scan claims what
is due through the store's lease and fans it out as `agenda.deliver` tasks at the system's
highest priority. A reminder is posted under a ledger key per occurrence, so a second beat, a
second worker, a redelivery or an expired lease never posts it twice.

A reminder carries "Done" and "Snooze" buttons; a snooze is one more reminder of the same
occurrence, kept in the store next to the events' own and claimed by the same scan.

Reminders of many teams share a batch: each is posted with its own team's token (`acting_for`).

Slack's answers decide what happens to a batch: a transient failure retries it (what was posted
is skipped by its key); a permanent refusal of one reminder (its channel archived or gone, the
bot removed, its user deactivated) pauses that event, tells its owner once by DM and lets the
batch go on; so does a team without an installation (paused as `not_installed`, nobody told:
there is no token to tell with). A refusal of a team's bot token skips the rest of that team's
reminders, pausing nothing, until their leases end; the other teams' go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from celery import Celery
from slack_sdk.errors import SlackApiError

import routing
from estafeta import metrics
from estafeta.mrkdwn import escape
from estafeta.payloads import ReplyTarget
from workers.agenda import blocks
from workers.agenda.store import AgendaStore, Claimed, Event
from workers.agenda.texts import channel_link
from workers.agenda.when import next_occurrence
from workers.replies import NotInstalled, Reply, SlackReplier, TransientError, acting_for
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
           "late": "\n_Late: this was due at {due}; I could not deliver it then._",
           "snoozed": ":zzz: Reminder again: *{title}* ({time})",
           "paused": ":warning: I could not post the reminder of `#{id}` *{title}* {where}: "
                     "Slack answered `{error}`. I have paused it; add it again where I can "
                     "post, or `/agenda cancel {id}`."},
    "es": {"reminder": ":alarm_clock: Recordatorio: *{title}* ({time})",
           "late": "\n_Con retraso: era para las {due}; no pude avisar a tiempo._",
           "snoozed": ":zzz: Te lo recuerdo de nuevo: *{title}* ({time})",
           "paused": ":warning: No pude publicar el recordatorio de `#{id}` *{title}* {where}: "
                     "Slack respondió `{error}`. Lo he pausado; añádelo de nuevo donde pueda "
                     "publicar, o `/agenda cancela {id}`."},
}
_WHERE = {"en": ("in {channel}", "by direct message"),
          "es": ("en {channel}", "por mensaje directo")}

# Slack errors that are about the bot's token or the request itself, not about one reminder:
# every other reminder would fail the same way, so no event is paused for them.
WORKSPACE_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "not_allowed_token_type", "ekm_access_denied", "access_denied",
    "team_access_not_granted", "org_login_required", "two_factor_setup_required",
    "enterprise_is_restricted", "invalid_arguments", "invalid_form_data", "invalid_post_type",
    "missing_post_type", "invalid_charset", "method_deprecated", "deprecated_endpoint",
    "team_added_to_org", "not_allowed",
})
# Errors Slack may answer with HTTP 200 that go away by themselves: the batch is retried.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable",
                              "request_timeout", "ratelimited"})
# Said of the token's own account (a deleted bot user or workspace) as well as of a
# deactivated user: which one it is, `auth.test` tells.
AMBIGUOUS_ERRORS = frozenset({"account_inactive"})
# The pause reason of an event whose team has no installation of the app (no token).
NOT_INSTALLED = "not_installed"


class WorkspaceError(Exception):
    """Slack refuses the bot of one team: none of its reminders can be delivered until its
    token works again (the app reinstalled, an operator acting)."""

    def __init__(self, team: str, error: str) -> None:
        super().__init__(f"team {team}: {error}")
        self.team = team
        self.error = error


def _batches(items: Sequence[Claimed], size: int) -> Iterator[Sequence[Claimed]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def reminder_text(event: Event, due_at: float, now: float,
                  late_after: float = LATE_AFTER, occurrence: float | None = None) -> str:
    """The reminder as posted, marked late when it is delivered well after its time; a
    snoozed one (`occurrence` given) says the time of the occurrence it reminds of again."""
    texts = _TEXT.get(event.lang, _TEXT["en"])
    zone = ZoneInfo(event.tz)
    due = datetime.fromtimestamp(due_at, zone)
    if occurrence is not None:
        start = datetime.fromtimestamp(occurrence, zone)
        text = texts["snoozed"].format(title=escape(event.title), time=start.strftime("%H:%M"))
    else:
        text = texts["reminder"].format(title=escape(event.title), time=due.strftime("%H:%M"))
    if now - due_at > late_after:
        text += texts["late"].format(due=due.strftime("%Y-%m-%d %H:%M"))
    return text


def reminder_reply(event: Event, claimed: Claimed, now: float,
                   late_after: float = LATE_AFTER) -> Reply:
    """The reminder message: its text, and the "Done" and "Snooze" buttons."""
    text = reminder_text(event, claimed.due_at, now, late_after,
                         occurrence=claimed.starts_at if claimed.snooze else None)
    lang = event.lang if event.lang in _TEXT else "en"
    return Reply(text, blocks=blocks.reminder(text, event.id, claimed.starts_at, lang))


def following_due(event: Event, due_at: float, now: float) -> float | None:
    """The next reminder of a recurring event: the first occurrence still to come, so that
    a recurring reminder missed several times during an outage is posted once, not in a flood."""
    if event.rrule is None:
        return None
    when = event.when
    after = datetime.fromtimestamp(max(due_at, now), when.start.tzinfo)
    following = next_occurrence(when, after)
    return None if following is None else following.timestamp()


def _slack_error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or "unknown_error")


def _refuses_the_event(replier: SlackReplier, error: str) -> bool:
    """Whether a permanent `error` is about this one reminder (True) or about the bot."""
    if error in WORKSPACE_ERRORS:
        return False
    if error in AMBIGUOUS_ERRORS:
        try:
            replier.call("auth_test")
        except (SlackApiError, NotInstalled):
            return False  # the token itself is dead (or already forgotten)
    return True


def deliver_one(store: AgendaStore, replier: SlackReplier, claimed: Claimed,
                attempt: int = 0, takeover: bool = False, late_after: float = LATE_AFTER
                ) -> bool:
    """Post one due reminder unless it is already posted, then schedule its next occurrence;
    True if posted now. A reminder Slack refuses for good pauses its event (the owner is told),
    and so does a team without an installation; `TransientError` and `WorkspaceError` leave it
    due. Posted with the token of the event's own team."""
    return _deliver(store, replier, store.by_id(claimed.event_id), claimed, attempt, takeover,
                    late_after)


def _deliver(store: AgendaStore, replier: SlackReplier, event: Event | None, claimed: Claimed,
             attempt: int, takeover: bool, late_after: float) -> bool:
    if claimed.snooze:
        if event is None or event.cancelled_at is not None:
            store.snooze_delivered(claimed.snooze)
            return False
        with acting_for(event.team):
            return _deliver_snoozed(store, replier, event, claimed, attempt, takeover,
                                    late_after)
    if event is None or event.cancelled_at is not None or event.due_at != claimed.due_at:
        return False  # cancelled, or this occurrence was delivered and moved on already
    with acting_for(event.team):
        return _deliver_due(store, replier, event, claimed, attempt, takeover, late_after)


def _post(replier: SlackReplier, event: Event, claimed: Claimed, key: str, now: float,
          attempt: int, takeover: bool, late_after: float) -> tuple[bool, str]:
    """Post the reminder under `key`: (posted now, ""), or (False, why) when this reminder can
    never be posted: Slack's error for it, or `NOT_INSTALLED`. Raises `TransientError` (try
    again) and `WorkspaceError` (Slack refuses the bot of the event's team)."""
    try:
        posted = replier.deliver(
            ReplyTarget(kind="channel", channel=event.notify), key=key,
            reply=reminder_reply(event, claimed, now, late_after),
            attempt=attempt, takeover=takeover,
        )
    except NotInstalled:
        replier.ledger.release(key)  # no token, so nothing was sent
        return False, NOT_INSTALLED
    except SlackApiError as exc:
        error = _slack_error(exc)
        if error in TRANSIENT_ERRORS:
            raise TransientError(f"Slack answered {error}") from exc
        if not _refuses_the_event(replier, error):
            raise WorkspaceError(event.team, error) from exc
        replier.ledger.release(key)  # Slack refused it: it was certainly not posted
        return False, error
    return posted, ""


def _deliver_snoozed(store: AgendaStore, replier: SlackReplier, event: Event,
                     claimed: Claimed, attempt: int, takeover: bool, late_after: float
                     ) -> bool:
    """Post a snoozed reminder once; one Slack refuses for good is dropped (the event's own
    reminders, which may well still work elsewhere, go on). Without an installation nothing
    of the team's can be posted: the event is paused too."""
    posted, refused = _post(replier, event, claimed, f"snooze:{claimed.snooze}", time.time(),
                            attempt, takeover, late_after)
    if refused == NOT_INSTALLED:
        log.warning("snoozed reminder of event %d dropped: team %s has no installation",
                    event.id, event.team)
        if event.due_at is not None:
            store.pause(event.id, event.due_at, NOT_INSTALLED)
    elif refused:
        log.warning("snoozed reminder of event %d refused by Slack (%s); dropped",
                    event.id, refused)
    store.snooze_delivered(claimed.snooze)
    if posted:
        _observe_lateness(claimed)
    return posted


def _deliver_due(store: AgendaStore, replier: SlackReplier, event: Event, claimed: Claimed,
                 attempt: int, takeover: bool, late_after: float) -> bool:
    now = time.time()
    posted, refused = _post(replier, event, claimed, f"reminder:{event.id}:{claimed.due_at:.3f}",
                            now, attempt, takeover, late_after)
    if refused:
        if store.pause(event.id, claimed.due_at, refused):
            if refused == NOT_INSTALLED:
                # No token: there is no way to tell its owner either.
                log.warning("reminder of event %d not posted: team %s has no installation;"
                            " event paused", event.id, event.team)
            else:
                log.warning("reminder of event %d refused by Slack (%s); event paused",
                            event.id, refused)
                tell_owner(replier, event, claimed.due_at, refused)
        return False
    store.advance(event.id, claimed.due_at, following_due(event, claimed.due_at, now))
    if posted:
        _observe_lateness(claimed)
    return posted


def _observe_lateness(claimed: Claimed) -> None:
    """How long after its due time a reminder went out (early scans count as on time)."""
    metrics.REMINDER_LATENESS.observe(max(0.0, time.time() - claimed.due_at))


def tell_owner(replier: SlackReplier, event: Event, due_at: float, error: str) -> bool:
    """DM the owner of a paused event, once (ledger key); True if posted now. A failure only
    means the owner is not told: it never stops the batch."""
    if not event.owner:
        return False  # an imported event has no owner to tell
    lang = event.lang if event.lang in _TEXT else "en"
    in_channel, by_dm = _WHERE[lang]
    where = in_channel.format(channel=channel_link(event.notify)) if event.channel else by_dm
    text = _TEXT[lang]["paused"].format(id=event.id, title=escape(event.title), where=where,
                                        error=escape(error))
    try:
        channel = replier.open_direct(event.owner)
        return replier.deliver(ReplyTarget(kind="channel", channel=channel),
                               key=f"paused:{event.id}:{due_at:.3f}", reply=Reply(text))
    except (SlackApiError, TransientError, NotInstalled) as exc:
        log.warning("could not tell the owner of paused event %d: %s", event.id,
                    type(exc).__name__)
        return False


def deliver_batch(store: AgendaStore, replier: SlackReplier, reminders: list[list[float]],
                  attempt: int = 0, takeover: bool = False, late_after: float = LATE_AFTER
                  ) -> int:
    """Deliver a batch of due reminders, of any teams; return how many were posted now.
    Raises `TransientError` (retry the batch); a team whose bot Slack refuses has the rest of
    its reminders left for later, the other teams' go on."""
    posted = 0
    refusing: set[str] = set()  # teams whose bot token Slack refused in this batch
    for item in reminders:
        claimed = Claimed.from_list(item)
        event = store.by_id(claimed.event_id)
        if event is not None and event.team in refusing:
            continue  # it would fail alike: left to its lease
        try:
            posted += _deliver(store, replier, event, claimed, attempt, takeover, late_after)
        except WorkspaceError as exc:
            # Retrying cannot help and no event is at fault: the leases bring these back
            # (at most every LEASE seconds) until the team's token works again.
            log.error("Slack refuses the bot of team %s (%s); its reminders wait", exc.team,
                      exc.error)
            refusing.add(exc.team)
    return posted


def register_reminders(app: Celery, base: type[ServiceTask], store: AgendaStore,
                       replier: SlackReplier, late_after: float = LATE_AFTER) -> None:
    """Register `agenda.scan` (sent by beat) and `agenda.deliver`."""

    @app.task(name=DELIVER_TASK, bind=True, base=base, shared=False, ignore_result=True)
    def deliver(self: ServiceTask, reminders: list[list[float]]) -> None:
        """Post a batch of due reminders, each exactly once."""
        self.guard_redelivery()
        try:
            deliver_batch(store, replier, reminders, attempt=self.request.retries or 0,
                          takeover=self.redelivered, late_after=late_after)
        except TransientError as exc:
            # The ones already posted are skipped on the retry by their ledger keys.
            raise self.retry_later(exc) from exc

    # Declared droppable: a scan that expired waiting (workers down) is acknowledged, not
    # dead-lettered; the next scan claims whatever is due.
    @app.task(name=routing.REMINDER_SCAN_TASK, bind=True, base=base, shared=False,
              ignore_result=True, Request="workers.droppable:DroppableRequest")
    def scan(self: ServiceTask) -> dict[str, Any]:
        """Claim every reminder due now and send it for delivery."""
        sent = 0
        for _ in range(SCAN_ROUNDS):
            claimed = store.claim_due(time.time(), LEASE, SCAN_LIMIT)
            for batch in _batches(claimed, BATCH):
                deliver.apply_async(([c.as_list() for c in batch],),
                                    priority=REMINDER)
            sent += len(claimed)
            if len(claimed) < SCAN_LIMIT:
                break
        if sent:
            log.info("scan sent %d due reminder(s) for delivery", sent)
        return {"sent": sent}
