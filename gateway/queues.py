"""Every queue's depth and consumers, read from the broker when `/metrics` is scraped.

A custom `prometheus_client` collector: the values are the broker's, not counted here. One
short-lived connection reads every queue with a passive `queue_declare` (which changes
nothing), and the answer is kept for a few seconds, so that concurrent scrapes (and every
gunicorn process scraped in turn) cost the broker one read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from amqp.exceptions import NotFound
from kombu import Connection
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import routing
from estafeta.metrics import BROKER_UP, QUEUE_CONSUMERS, QUEUE_MESSAGES

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
CONNECT_TIMEOUT = 1.0
LABELS = ("queue", "service", "kind")


@dataclass(frozen=True)
class QueueDepth:
    """What the broker says of one queue: messages ready, and consumers attached."""

    messages: int
    consumers: int


# Reads every queue named; raises when the broker cannot be read.
QueueReader = Callable[[list[str]], Mapping[str, QueueDepth]]


def kind_of(queue_name: str) -> tuple[str, str]:
    """The service a queue of `routing` belongs to, and its kind: command, heard or dead."""
    service = routing.service_of_queue(queue_name)
    if queue_name == service.dead_queue.name:
        return service.name, "dead"
    heard = service.heard_queue
    if heard is not None and queue_name == heard.name:
        return service.name, "heard"
    return service.name, "command"


def broker_reader(broker_url: str, timeout: float = CONNECT_TIMEOUT) -> QueueReader:
    """A reader that asks the broker at `broker_url`, on one connection per read."""

    def read(names: list[str]) -> Mapping[str, QueueDepth]:
        depths: dict[str, QueueDepth] = {}
        # Socket timeouts too: a broker that accepts the connection and then stalls must not
        # hold the scrape (and every scrape waiting on the cache's lock) for long.
        with Connection(broker_url, connect_timeout=timeout,
                        transport_options={"read_timeout": 2 * timeout,
                                           "write_timeout": 2 * timeout}) as connection:
            connection.ensure_connection(max_retries=0)
            channel = connection.channel()
            for name in names:
                try:
                    _, messages, consumers = channel.queue_declare(queue=name, passive=True)
                except NotFound:
                    # Not declared yet: nothing can wait in it (a message for it is returned
                    # unroutable) and nobody consumes it. The broker closed the channel.
                    depths[name] = QueueDepth(0, 0)
                    channel = connection.channel()
                    continue
                depths[name] = QueueDepth(int(messages), int(consumers))
        return depths

    return read


class QueueCollector(Collector):
    """Yields `estafeta_queue_messages`, `estafeta_queue_consumers` (every queue of
    `routing.all_queues()`) and `estafeta_broker_up`; never raises."""

    def __init__(self, reader: QueueReader, cache_seconds: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._reader = reader
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._depths: Mapping[str, QueueDepth] | None = None
        self._names = [queue.name for queue in routing.all_queues()]
        self._labels = {name: (name, *kind_of(name)) for name in self._names}

    def depths(self) -> Mapping[str, QueueDepth] | None:
        """Every queue's depth, at most `cache_seconds` old; None while the broker is down."""
        with self._lock:  # a scrape that comes while another reads waits for its answer
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._cache_seconds:
                was_up = self._read_at is None or self._depths is not None
                try:
                    self._depths = self._reader(list(self._names))
                except Exception as exc:
                    self._depths = None
                    if was_up:  # said once when it goes down, not on every scrape
                        log.warning("cannot read queue depths from the broker: %s",
                                    type(exc).__name__)
                self._read_at = self._clock()
            return self._depths

    def describe(self) -> Iterator[Metric]:
        """The families, without samples: registering the collector reads nothing."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """Read (or reuse) the depths and yield them."""
        depths = self.depths()
        messages, consumers, up = self._families()
        up.add_metric([], 1.0 if depths is not None else 0.0)
        if depths is not None:
            for name in self._names:
                depth = depths.get(name)
                if depth is None:
                    continue  # a reader that skipped a queue: no sample rather than a guess
                labels = list(self._labels[name])
                messages.add_metric(labels, depth.messages)
                consumers.add_metric(labels, depth.consumers)
        yield from (messages, consumers, up)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(QUEUE_MESSAGES, "Messages ready in a queue, by queue, service "
                              "and kind (command, heard, dead).", labels=LABELS),
            GaugeMetricFamily(QUEUE_CONSUMERS, "Consumers attached to a queue.",
                              labels=LABELS),
            GaugeMetricFamily(BROKER_UP, "Whether the gateway could read the broker's "
                              "queues (1) or not (0)."),
        )
