"""Confirmed, persistent publishing, with publisher confirms pipelined across requests.

Every gunicorn process keeps one connection with one confirm-mode channel. A request thread
publishes on it directly (under a lock, for the few microseconds a publish takes) and then
waits for its own confirm; it never waits for anybody else's. A reader thread collects the
broker's acks, which usually confirm many messages at once (`multiple`), and wakes the waiting
requests. Publishing never stops to wait for confirms, so one broker round trip is shared by
every request in flight; at low load a message goes out at once with no added delay.

A 2xx is only returned once the broker has confirmed the message; an unroutable, refused or
unconfirmed message is an error, reported as `BrokerUnavailable`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kombu import Connection, Producer

from estafeta.metrics import PUBLISH_CONFIRM, child

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


class MessagePublisher(Protocol):
    """What the gateway publishes through: a `Publisher`, or a test's `RecordingPublisher`."""

    def publish(self, message: Outgoing) -> None:
        """Return once the message is accepted; raise `BrokerUnavailable` otherwise."""

    def ping(self, timeout: float = 1.0) -> bool:
        """Whether publishing can work now (what `/readyz` reports)."""

    def close(self) -> None:
        """Stop publishing; what is not accepted yet fails."""


class _Pending:
    """A published message waiting for its confirm: a lock held until the confirm arrives.

    A bare lock is the cheapest thing a thread can block on in CPython, and there is one of
    these per request on the hot path.
    """

    __slots__ = ("_done", "error", "message", "returned")

    def __init__(self, message: Outgoing) -> None:
        self.message = message
        self.returned: str | None = None
        self.error: BrokerUnavailable | None = None
        self._done = threading.Lock()
        self._done.acquire()

    def wait(self, timeout: float) -> bool:
        """Wait for the outcome; False if none came within `timeout` seconds."""
        return self._done.acquire(timeout=timeout)

    def settle(self, error: BrokerUnavailable | None = None) -> None:
        """Record the outcome (once) and wake the waiting request."""
        if self._done.locked() and self.error is None:
            self.error = error
            with contextlib.suppress(RuntimeError):  # settled twice: the first outcome stands
                self._done.release()


@dataclass(frozen=True)
class PublisherConfig:
    """Timeouts of the publisher."""

    connect_timeout: float = 1.0
    confirm_timeout: float = 1.5  # a request never waits longer than this for its confirm
    # After a failed connection attempt, fail fast for this long instead of trying again:
    # at most one request per process pays for a connection attempt at a time.
    retry_after_failure: float = 1.0
    heartbeat: int = 30


class _Link:
    """One connection and confirm-mode channel, and the messages it has not confirmed yet."""

    def __init__(self, connection: Connection, producer: Producer) -> None:
        self.connection = connection
        self.producer = producer
        self.next_tag = 1
        self.unconfirmed: dict[int, _Pending] = {}
        self.by_correlation: dict[str, _Pending] = {}
        self.socket = connection.connection.sock
        self.broken = False
        self.blocked = ""  # why the broker blocks publishers (a resource alarm), if it does


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
        self._lock = threading.Lock()  # every use of the connection happens under it
        self._connected = threading.Condition(self._lock)
        self._link: _Link | None = None
        self._reader: threading.Thread | None = None
        self._pid = os.getpid()
        self._down_until = 0.0
        self._last_error = ""
        self._closed = False

    def publish(self, message: Outgoing) -> None:
        """Publish and wait for the broker's confirm; raise `BrokerUnavailable` otherwise."""
        pending = _Pending(message)
        # Serialised here, outside the lock: kombu then sends the bytes as they are.
        body = json.dumps(message.body, separators=(",", ":")).encode()
        with self._lock:
            link = self._ensure_link()
            if link.blocked:
                # A broker in a resource alarm holds publishes without confirming them.
                raise BrokerUnavailable(f"the broker blocks publishers: {link.blocked}")
            tag = link.next_tag
            link.next_tag += 1
            link.unconfirmed[tag] = pending
            link.by_correlation[message.correlation_id] = pending
            handed_over = time.perf_counter()
            try:
                link.producer.publish(
                    body,
                    exchange=message.exchange,
                    routing_key=message.routing_key,
                    headers=message.headers,
                    priority=message.priority,
                    correlation_id=message.correlation_id,
                    delivery_mode=2,
                    mandatory=True,
                    content_type="application/json",
                    content_encoding="utf-8",
                    retry=False,
                )
            except Exception as exc:
                self._break(link, exc)
        if not pending.wait(self.config.confirm_timeout):
            with self._lock:
                # The confirm may have come in while this thread waited for the lock.
                if not pending.wait(0):
                    # Only this message is given up: the others on the link may still be
                    # confirmed, and a dead link is noticed by the reader (heartbeats, errors).
                    for tag_, waiting in list(link.unconfirmed.items()):
                        if waiting is pending:
                            del link.unconfirmed[tag_]
                    link.by_correlation.pop(message.correlation_id, None)
                    raise BrokerUnavailable("the broker did not confirm in time")
        if pending.error is not None:
            raise pending.error
        child(PUBLISH_CONFIRM, message.exchange).observe(time.perf_counter() - handed_over)

    def ping(self, timeout: float = 1.0) -> bool:
        """Whether publishing can work now: not failing fast, not blocked, broker reachable."""
        with self._lock:
            link = self._link if os.getpid() == self._pid else None
            if time.monotonic() < self._down_until or (link is not None and link.blocked):
                return False
        try:
            with Connection(self.broker_url, connect_timeout=timeout) as conn:
                conn.ensure_connection(max_retries=0)  # one attempt: answer fast
            return True
        except Exception as exc:
            log.warning("broker unreachable: %s", _describe(exc))
            return False

    def close(self) -> None:
        """Close the connection; unconfirmed messages fail."""
        with self._lock:
            self._closed = True
            if self._link is not None:
                self._break(self._link, BrokerUnavailable("the publisher was closed"))
            self._connected.notify_all()

    # -- connection (all under self._lock) ---------------------------------------------------

    def _ensure_link(self) -> _Link:
        if os.getpid() != self._pid:
            # A gunicorn worker is a fork of the master: never share its parent's socket.
            self._pid, self._link, self._reader = os.getpid(), None, None
        if self._link is not None:
            return self._link
        if self._closed:
            raise BrokerUnavailable("the publisher was closed")
        if time.monotonic() < self._down_until:
            raise BrokerUnavailable(self._last_error or "the broker is unreachable")
        holder: list[_Link] = []

        def blocked(reason: str = "resource alarm") -> None:
            if holder:
                holder[0].blocked = reason or "resource alarm"

        def unblocked() -> None:
            if holder:
                holder[0].blocked = ""

        connection = Connection(
            self.broker_url, connect_timeout=self.config.connect_timeout,
            heartbeat=self.config.heartbeat,
            transport_options={
                # A broker that stops reading must not hang a request thread in sendall.
                "write_timeout": self.config.confirm_timeout,
                "on_blocked": blocked,
                "on_unblocked": unblocked,
            },
        )
        try:
            # One attempt, bounded by connect_timeout: a request must never wait on retries.
            connection.ensure_connection(max_retries=0)
            channel = connection.channel()
            channel.confirm_select()
            self._declare(channel)
        except Exception as exc:
            connection.collect()
            self._down_until = time.monotonic() + self.config.retry_after_failure
            self._last_error = _describe(exc)
            log.warning("cannot connect to the broker: %s", self._last_error)
            raise BrokerUnavailable(self._last_error) from exc
        link = _Link(connection, Producer(channel, serializer="json"))
        holder.append(link)
        channel.events["basic_ack"].add(lambda tag, multiple: self._settle(link, tag, multiple))
        channel.events["basic_nack"].add(
            lambda tag, multiple: self._settle(link, tag, multiple, "the broker refused it"))
        channel.events["basic_return"].add(
            lambda exc, exchange, key, message: self._returned(link, exchange, key, message))
        self._link = link
        if self._reader is None or not self._reader.is_alive():
            self._reader = threading.Thread(target=self._read_acks, name="estafeta-confirms",
                                            daemon=True)
            self._reader.start()
        self._connected.notify_all()
        log.info("connected to the broker")
        return link

    def _break(self, link: _Link, exc: Exception) -> None:
        """Fail what `link` has not confirmed, and drop it; the next publish reconnects."""
        error = exc if isinstance(exc, BrokerUnavailable) else BrokerUnavailable(_describe(exc))
        if not link.broken:
            link.broken = True
            if error is not exc:
                log.warning("lost the broker connection: %s", error)
            for pending in link.unconfirmed.values():
                pending.settle(error)
            link.unconfirmed.clear()
            link.by_correlation.clear()
            # Close the socket without the AMQP close handshake: a stalled broker would never
            # answer it, and this runs under the lock every request needs.
            link.connection.collect()
        if self._link is link:
            self._link = None
            self._down_until = time.monotonic() + self.config.retry_after_failure
            self._last_error = str(error)

    # -- confirms (reader thread; handlers run under self._lock from drain_events) ------------

    def _read_acks(self) -> None:
        idle = max(1.0, self.config.heartbeat / 4)
        while True:
            with self._lock:
                while self._link is None and not self._closed:
                    self._connected.wait()
                if self._closed:
                    return
                link = self._link
                assert link is not None
            try:
                readable, _, _ = select.select([link.socket], [], [], idle)
            except (OSError, ValueError):  # closed under us by a publisher that broke the link
                readable = []
            with self._lock:
                if link.broken:
                    continue
                try:
                    if readable:
                        while True:  # every frame already here; one ack may confirm many
                            link.connection.drain_events(timeout=0)
                    else:
                        link.connection.heartbeat_check()
                except TimeoutError:
                    pass
                except Exception as exc:
                    self._break(link, exc)

    def _settle(self, link: _Link, delivery_tag: int, multiple: bool,
                error: str | None = None) -> None:
        tags = [t for t in link.unconfirmed if t <= delivery_tag] if multiple else [delivery_tag]
        for tag in tags:
            pending = link.unconfirmed.pop(tag, None)
            if pending is None:
                continue
            link.by_correlation.pop(pending.message.correlation_id, None)
            failure = error or pending.returned
            pending.settle(BrokerUnavailable(failure) if failure else None)

    def _returned(self, link: _Link, exchange: str, routing_key: str, message: Any) -> None:
        # An unroutable message is confirmed too: the return, which comes first, says it was lost.
        pending = link.by_correlation.get(message.properties.get("correlation_id", ""))
        if pending is not None:
            pending.returned = f"no queue is bound for {exchange}/{routing_key}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


__all__ = ["BrokerUnavailable", "MessagePublisher", "Outgoing", "Publisher", "PublisherConfig"]
