"""Confirmed, persistent publishing with publisher confirms batched across requests.

Request threads hand an `Outgoing` message to the `Publisher` and wait on its future. One
publishing thread per process drains everything that is waiting, publishes it on a single
confirm-mode channel and waits for the broker's confirms once for the whole batch. Under load,
the batch grows by itself while the previous one is being confirmed (group commit), so the
cost of a broker round trip is shared by every request in the batch; at low load a batch is a
single message and adds no delay. A 2xx is only returned once the broker has confirmed.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from kombu import Connection, Producer

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The message was not confirmed by the broker: nothing was accepted."""


@dataclass(frozen=True)
class Outgoing:
    """A message ready to publish: destination, Celery headers and JSON-serialisable body."""

    exchange: str
    routing_key: str
    body: Any
    headers: dict[str, Any]
    priority: int
    correlation_id: str


@dataclass
class _Pending:
    message: Outgoing
    future: Future[None] = field(default_factory=Future)
    returned: str | None = None


@dataclass(frozen=True)
class PublisherConfig:
    """Timeouts and limits of the publisher."""

    connect_timeout: float = 1.0
    confirm_timeout: float = 1.5
    request_timeout: float = 1.9  # a request never waits longer than this for its confirm
    retry_after_failure: float = 0.25  # fail fast for this long after the broker was unreachable
    max_batch: int = 500
    heartbeat: int = 30


class Publisher:
    """Publishes `Outgoing` messages with confirms; thread-safe, one per process."""

    def __init__(
        self,
        broker_url: str,
        declare: Callable[[Any], None],
        config: PublisherConfig | None = None,
    ) -> None:
        self.broker_url = broker_url
        self.config = config or PublisherConfig()
        self._declare = declare
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        # State below is touched by the publishing thread only.
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._next_tag = 1
        self._unconfirmed: dict[int, _Pending] = {}
        self._by_correlation: dict[str, _Pending] = {}
        self._down_until = 0.0
        self._last_error = ""

    # -- request side -------------------------------------------------------------------------

    def publish(self, message: Outgoing) -> None:
        """Publish and wait for the broker's confirm; raise `BrokerUnavailable` otherwise."""
        pending = _Pending(message)
        self._ensure_thread()
        self._queue.put(pending)
        try:
            pending.future.result(timeout=self.config.request_timeout)
        except FutureTimeout as exc:
            pending.future.cancel()
            raise BrokerUnavailable("the broker did not confirm in time") from exc

    def ping(self, timeout: float = 1.0) -> bool:
        """Whether the broker accepts a connection right now (for readiness probes)."""
        try:
            with Connection(self.broker_url, connect_timeout=timeout) as conn:
                conn.ensure_connection(max_retries=1, timeout=timeout)
            return True
        except Exception as exc:
            log.warning("broker unreachable: %s", _describe(exc))
            return False

    def close(self) -> None:
        """Stop the publishing thread after what is queued has been handled."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _ensure_thread(self) -> None:
        # A gunicorn worker is a fork of the master: threads do not survive forking.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._queue = queue.Queue()
                self._connection = None
                self._thread = threading.Thread(
                    target=self._run, name="estafeta-publisher", daemon=True
                )
                self._thread.start()

    # -- publishing thread -------------------------------------------------------------------

    def _run(self) -> None:
        idle_wait = max(1.0, self.config.heartbeat / 4)
        while True:
            try:
                first = self._queue.get(timeout=idle_wait)
            except queue.Empty:
                self._heartbeat()
                continue
            if first is None:
                self._disconnect()
                return
            batch = [first]
            while len(batch) < self.config.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            batch = [p for p in batch if p.future.set_running_or_notify_cancel()]
            if batch:
                self._publish_batch(batch)

    def _publish_batch(self, batch: list[_Pending]) -> None:
        try:
            producer = self._ensure_producer()
            for pending in batch:
                message = pending.message
                self._unconfirmed[self._next_tag] = pending
                self._by_correlation[message.correlation_id] = pending
                self._next_tag += 1
                producer.publish(
                    message.body,
                    exchange=message.exchange,
                    routing_key=message.routing_key,
                    headers=message.headers,
                    priority=message.priority,
                    correlation_id=message.correlation_id,
                    delivery_mode=2,
                    mandatory=True,
                    serializer="json",
                    retry=False,
                )
            self._wait_for_confirms()
        except Exception as exc:
            error = exc if isinstance(exc, BrokerUnavailable) else BrokerUnavailable(_describe(exc))
            if error is not exc:
                log.warning("publishing failed, will reconnect: %s", error)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            self._disconnect()
            self._down_until = time.monotonic() + self.config.retry_after_failure
            self._last_error = str(error)

    def _wait_for_confirms(self) -> None:
        assert self._connection is not None
        deadline = time.monotonic() + self.config.confirm_timeout
        while self._unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerUnavailable("the broker did not confirm in time")
            self._connection.drain_events(timeout=remaining)

    def _ensure_producer(self) -> Producer:
        if self._producer is not None:
            return self._producer
        if time.monotonic() < self._down_until:
            raise BrokerUnavailable(self._last_error or "the broker is unreachable")
        connection = Connection(
            self.broker_url,
            connect_timeout=self.config.connect_timeout,
            heartbeat=self.config.heartbeat,
        )
        connection.ensure_connection(max_retries=1, timeout=self.config.connect_timeout)
        channel = connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._declare(channel)
        self._connection = connection
        self._producer = Producer(channel, serializer="json")
        self._next_tag = 1
        log.info("connected to the broker")
        return self._producer

    def _heartbeat(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.heartbeat_check()
            self._connection.drain_events(timeout=0.001)
        except TimeoutError:
            pass
        except Exception as exc:
            log.warning("broker connection lost: %s", _describe(exc))
            self._disconnect()

    def _disconnect(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        for pending in self._unconfirmed.values():
            if not pending.future.done():
                pending.future.set_exception(BrokerUnavailable("the connection was lost"))
        self._unconfirmed.clear()
        self._by_correlation.clear()
        if connection is not None:
            try:
                connection.release()
            except Exception:  # the socket may already be gone; nothing left to clean
                log.debug("error while closing a broken connection", exc_info=True)

    def _settle(self, delivery_tag: int, multiple: bool, error: str | None) -> None:
        tags = [t for t in self._unconfirmed if t <= delivery_tag] if multiple else [delivery_tag]
        for tag in tags:
            pending = self._unconfirmed.pop(tag, None)
            if pending is None:
                continue
            self._by_correlation.pop(pending.message.correlation_id, None)
            failure = error or pending.returned
            if pending.future.done():
                continue
            if failure:
                pending.future.set_exception(BrokerUnavailable(failure))
            else:
                pending.future.set_result(None)

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, None)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, "the broker refused the message")

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        # An unroutable message is confirmed too: the return, which comes first, says it was lost.
        correlation_id = message.properties.get("correlation_id", "")
        pending = self._by_correlation.get(correlation_id)
        if pending is not None:
            pending.returned = f"no queue is bound for {exchange}/{routing_key} ({exc})"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


__all__ = ["BrokerUnavailable", "Outgoing", "Publisher", "PublisherConfig"]
