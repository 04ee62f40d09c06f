"""Imported agendas: the bulk task that loads an .ics or JSON catalogue into a channel."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.exceptions import Reject

from workers.agenda.calendar import ImportedEvent
from workers.agenda.store import AgendaStore
from workers.service import ServiceTask

log = logging.getLogger(__name__)

IMPORT_TASK = "agenda.import_events"


def register_import(app: Celery, base: type[ServiceTask], store: AgendaStore) -> None:
    """Register `agenda.import_events` (sent by `estafeta import-agenda`)."""

    @app.task(name=IMPORT_TASK, bind=True, base=base, shared=False)
    def import_events(self: ServiceTask, team: str, channel: str, events: list[dict[str, Any]],
                      remind: bool = False, public: bool = True) -> dict[str, Any]:
        """Store a chunk of imported events in `channel`'s agenda (idempotent by uid, and by
        task id: a re-run stores nothing again); events whose rule is refused are listed."""
        self.guard_redelivery()
        try:
            parsed = [ImportedEvent.from_dict(item) for item in events]
        except (KeyError, TypeError, ValueError) as exc:
            # A malformed chunk will not get better: dead-letter it for an operator to see.
            raise Reject(f"malformed agenda import: {exc}", requeue=False) from exc
        accepted, refused = check_imported(parsed)
        stored = store.upsert_imported(
            (event.to_new_event(team, channel, remind, public) for event in accepted),
            remind=remind, request_key=self.request.id or "", team=team)
        log.info("imported %d event(s) into the agenda of %s/%s (%d refused)", stored, team,
                 channel, len(refused))
        return {"team": team, "channel": channel, "imported": stored, "refused": refused}


def check_imported(events: list[ImportedEvent]
                   ) -> tuple[list[ImportedEvent], list[dict[str, str]]]:
    """The events that may be imported, and the others with the reason for each."""
    accepted: list[ImportedEvent] = []
    refused: list[dict[str, str]] = []
    for event in events:
        problem = event.problem()
        if problem is None:
            accepted.append(event)
        else:
            log.warning("agenda import: an event was refused: %s", problem)
            refused.append({"uid": event.uid, "error": problem})
    return accepted, refused
