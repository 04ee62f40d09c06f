"""A worker's /metrics and /healthz, served by its main process on `METRICS_PORT`.

The pool processes count tasks and replies into the shared directory
(`estafeta.multiprocess`); the main process adds them up when scraped, and answers /healthz
from what it sees itself: its consumer's event loop ticking, its broker connection, and how
long its oldest task has run. A worker stuck on any of them is restarted by its orchestrator.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from celery import bootsteps
from celery.signals import worker_process_shutdown, worker_ready, worker_shutdown
from celery.worker import state as worker_state
from prometheus_client import multiprocess as shared
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from estafeta import metrics, multiprocess
from estafeta.metrics_http import MetricsServer

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # how often the consumer's event loop records that it runs
LOOP_STALE_AFTER = 60.0  # a loop silent this long is stuck (a blocked main process)
BROKER_GRACE = 180.0  # a broker connection down (or never up) this long: restart the worker
TASK_MARGIN = 30.0  # past the hard time limit: the pool failed to kill the task


@dataclass(frozen=True)
class Limits:
    """When a worker counts as stuck."""

    loop_stale_after: float = LOOP_STALE_AFTER
    broker_grace: float = BROKER_GRACE
    task_limit: float = 90.0 + TASK_MARGIN


@dataclass(frozen=True)
class Observed:
    """What the main process sees of itself, in seconds (None: not applicable)."""

    loop_age: float  # since the event loop last ticked (or since start)
    disconnected_for: float | None  # None while the consumer is connected
    oldest_task: float  # the longest-running task's age; 0 when idle


def verdict(seen: Observed, limits: Limits) -> str | None:
    """Why the worker is stuck, or None when it is healthy."""
    if seen.disconnected_for is not None:
        # Without a connection the loop does not run: only the outage itself counts.
        if seen.disconnected_for > limits.broker_grace:
            return (f"broker connection down for {seen.disconnected_for:.0f}s "
                    f"(limit {limits.broker_grace:.0f}s)")
        return None
    if seen.loop_age > limits.loop_stale_after:
        return (f"event loop has not run for {seen.loop_age:.0f}s "
                f"(limit {limits.loop_stale_after:.0f}s)")
    if seen.oldest_task > limits.task_limit:
        return (f"a task has run for {seen.oldest_task:.0f}s, past its hard time limit "
                f"(limit {limits.task_limit:.0f}s)")
    return None


class Liveness:
    """The main process's view of its consumer, updated from its event loop."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.wall = wall
        self.last_tick = clock()
        self.down_since: float | None = clock()  # not connected until the consumer starts

    def tick(self) -> None:
        """The event loop ran."""
        self.last_tick = self.clock()

    def connected(self) -> None:
        """The consumer is up: connected, consuming, its loop about to run."""
        self.down_since = None
        self.tick()

    def disconnected(self) -> None:
        """The consumer stopped (lost its connection, or shuts down)."""
        if self.down_since is None:
            self.down_since = self.clock()

    def oldest_task(self) -> float:
        """Seconds the longest-running task of this worker has run (0: none)."""
        for _ in range(3):  # the event loop changes the set while it is read
            try:
                starts = [r.time_start for r in list(worker_state.active_requests)
                          if r.time_start]
                break
            except RuntimeError:
                continue
        else:
            return 0.0
        return max((self.wall() - start for start in starts), default=0.0)

    def observe(self) -> Observed:
        """What /healthz and the gauges report now."""
        now = self.clock()
        down = self.down_since
        return Observed(loop_age=max(0.0, now - self.last_tick),
                        disconnected_for=None if down is None else max(0.0, now - down),
                        oldest_task=max(0.0, self.oldest_task()))


LIVENESS = Liveness()
_COLLECTORS: list[Collector] = []


def add_collector(collector: Collector) -> None:
    """Serve `collector`'s metrics on this worker's /metrics too (the agenda's reminders)."""
    _COLLECTORS.append(collector)


class LoopTick(bootsteps.StartStopStep):
    """A consumer step: a timer on the worker's event loop records that the loop runs; its
    start and stop say when the consumer is connected (Celery restarts the consumer's steps
    when the broker connection is lost)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        """Start ticking: the consumer is connected and consuming."""
        LIVENESS.connected()
        self.tref = parent.timer.call_repeatedly(TICK_SECONDS, LIVENESS.tick)

    def stop(self, parent: Any) -> None:
        """Stop ticking: the connection is lost, or the worker stops."""
        LIVENESS.disconnected()
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop


class WorkerGauges:
    """The loop age and the oldest task's age, read when scraped."""

    def __init__(self, service: str, liveness: Liveness = LIVENESS) -> None:
        self.service = service
        self.liveness = liveness

    def describe(self) -> Iterable[Any]:
        """Nothing up front: the values exist only when scraped."""
        return ()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Three gauges, labelled by service."""
        seen = self.liveness.observe()
        loop = GaugeMetricFamily(metrics.WORKER_LOOP_AGE,
                                 "Seconds since the worker's event loop last ran.",
                                 labels=["service"])
        loop.add_metric([self.service], seen.loop_age)
        oldest = GaugeMetricFamily(metrics.WORKER_OLDEST_TASK,
                                   "Seconds the worker's longest-running task has run.",
                                   labels=["service"])
        oldest.add_metric([self.service], seen.oldest_task)
        # Without a connection the loop does not run at all: the loop's age says "stuck" only
        # while this says connected (what /healthz decides too).
        connected = GaugeMetricFamily(metrics.WORKER_CONNECTED,
                                      "1 while the worker's consumer is connected to the "
                                      "broker, else 0.", labels=["service"])
        connected.add_metric([self.service], 1.0 if seen.disconnected_for is None else 0.0)
        yield loop
        yield oldest
        yield connected


def health(service: str, liveness: Liveness, limits: Limits) -> tuple[int, dict[str, Any]]:
    """The /healthz answer: (HTTP status, JSON body)."""
    seen = liveness.observe()
    reason = verdict(seen, limits)
    body: dict[str, Any] = {
        "status": "ok" if reason is None else "stuck", "service": service,
        "loop_age_seconds": round(seen.loop_age, 3),
        "connected": seen.disconnected_for is None,
        "oldest_task_seconds": round(seen.oldest_task, 3),
    }
    if reason is not None:
        body["reason"] = reason
    return (200 if reason is None else 503), body


def metrics_server(service: str, port: int, limits: Limits, liveness: Liveness = LIVENESS,
                   host: str = "0.0.0.0") -> MetricsServer:
    """This worker's /metrics (its pool's figures added up, its gauges, the service's own
    collectors) and /healthz (`health`), not started yet."""
    return MetricsServer(port, host, collectors=[WorkerGauges(service, liveness), *_COLLECTORS],
                         health=lambda: health(service, liveness, limits))


_SERVER: dict[str, MetricsServer] = {}


def serve(service: str, port: int, limits: Limits) -> MetricsServer | None:
    """Start the server; a port already taken logs one warning and the worker runs on."""
    try:
        server = metrics_server(service, port, limits).start()
    except OSError as exc:
        log.warning("metrics port %d unavailable (%s); this worker serves no /metrics "
                    "or /healthz", port, exc)
        return None
    log.info("serving /metrics and /healthz on port %d", server.port)
    return server


@worker_ready.connect
def _start_server(sender: Any = None, **_: Any) -> None:
    """In the worker's main process, once it consumes: serve /metrics and /healthz."""
    app = sender.app
    service = getattr(app.conf, "estafeta_service", None)
    if service is None or "server" in _SERVER:
        return
    port = app.conf.estafeta_settings.metrics_port
    if port <= 0:
        return
    limits = Limits(task_limit=float(app.conf.task_time_limit) + TASK_MARGIN)
    server = serve(service, port, limits)
    if server is not None:
        _SERVER["server"] = server


@worker_shutdown.connect
def _stop_server(**_: Any) -> None:
    """At the end of the main process: free the port, delete the shared directory."""
    server = _SERVER.pop("server", None)
    if server is not None:
        server.stop()
    multiprocess.remove_directory()


@worker_process_shutdown.connect
def _mark_dead(pid: int | None = None, **_: Any) -> None:
    """A pool process exits (sent inside it): its live gauges no longer count."""
    if multiprocess.enabled() and pid is not None:
        shared.mark_process_dead(pid)
