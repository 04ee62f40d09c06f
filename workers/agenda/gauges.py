"""The agenda's reminder backlog as gauges, read from its store when /metrics is scraped:
what alerts fire on when reminders are not going out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from estafeta import metrics
from workers.agenda.store import AgendaStore

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0  # scrapes (and several Prometheus servers) within this share one read


class ReminderGauges:
    """`estafeta_agenda_reminders_pending` and `…_overdue`; no sample while the store is
    away (logged once per outage), never an error to the scrape."""

    def __init__(self, store: AgendaStore, late_after: float,
                 clock: Callable[[], float] = time.time,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        # Its connections are per process and thread: the main process's are its own.
        self.store = store
        self.late_after = late_after
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._values: tuple[int, int] | None = None
        self._failing = False

    def describe(self) -> Iterable[Any]:
        """Nothing up front: the values are read when scraped."""
        return ()

    def backlog(self) -> tuple[int, int] | None:
        """(pending, overdue), at most `cache_seconds` old; None when the store failed."""
        with self._lock:
            now = self.clock()
            if now - self._read_at < self.cache_seconds:
                return self._values
            self._read_at = now
            try:
                self._values = self.store.backlog(now, self.late_after)
            except Exception as exc:  # a scrape must never fail on the store
                if not self._failing:
                    log.warning("reminder gauges unavailable: %s", type(exc).__name__)
                self._failing = True
                self._values = None
            else:
                self._failing = False
            return self._values

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The two gauges, or nothing when the store cannot be read."""
        values = self.backlog()
        if values is None:
            return
        pending, overdue = values
        yield GaugeMetricFamily(
            metrics.REMINDERS_PENDING,
            "Reminders not yet sent that are due in the future or just now.", value=pending)
        yield GaugeMetricFamily(
            metrics.REMINDERS_OVERDUE,
            "Reminders still not sent more than REMINDER_LATE_SECONDS after their due time.",
            value=overdue)
