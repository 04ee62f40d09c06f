"""A publisher that keeps what it is given instead of sending it: the gateway without a broker.

`create_app({"PUBLISHER": RecordingPublisher(), ...})` runs every endpoint as in production,
except that an accepted message is recorded here. Where a message would land is computed from
`routing`'s own bindings, so a test can still say "one message on the search queue". `fail()`
makes it behave like a broker that is down: publishing raises `BrokerUnavailable` and `ping()`
is False, so `/readyz` answers 503.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

import routing
from gateway.publisher import BrokerUnavailable, Outgoing


def topic_matches(pattern: str, routing_key: str) -> bool:
    """Whether an AMQP topic binding `pattern` (`*` one word, `#` any words) takes the key."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[skip:]) for skip in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _match(rest, words[1:])


def bound_queues(exchange: str, routing_key: str) -> list[str]:
    """The queues of `routing` that a message to `exchange` with `routing_key` reaches."""
    reached = []
    for queue in routing.all_queues():
        bound = queue.exchange
        if bound is None or bound.name != exchange:
            continue
        if bound.type == "fanout" or (
            bound.type == "topic" and topic_matches(queue.routing_key, routing_key)
        ) or (bound.type == "direct" and queue.routing_key == routing_key):
            reached.append(queue.name)
    return reached


class RecordingPublisher:
    """Records every `Outgoing` it accepts, in order; thread-safe like `Publisher`."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.unavailable: str | None = None  # why publishing fails, while it does
        self.closed = False
        self._lock = threading.Lock()

    def publish(self, message: Outgoing) -> None:
        """Record the message, or raise `BrokerUnavailable` as the real publisher would."""
        with self._lock:
            if self.closed:
                raise BrokerUnavailable("the publisher was closed")
            if self.unavailable is not None:
                raise BrokerUnavailable(self.unavailable)
            if not bound_queues(message.exchange, message.routing_key):
                # The real publisher publishes `mandatory`: the broker returns such a message.
                raise BrokerUnavailable(
                    f"no queue is bound for {message.exchange}/{message.routing_key}")
            json.dumps(message.body)  # what the real one could not serialise is no success here
            self.sent.append(message)

    def ping(self, timeout: float = 1.0) -> bool:
        """Ready unless told the broker is down (`fail`) or closed."""
        return not self.closed and self.unavailable is None

    def close(self) -> None:
        """Refuse every later publish, like a closed `Publisher`."""
        self.closed = True

    def fail(self, reason: str = "the broker is unreachable") -> None:
        """Act as a broker that is down until `recover()`."""
        self.unavailable = reason

    def recover(self) -> None:
        """Accept messages again."""
        self.unavailable = None

    def clear(self) -> None:
        """Forget what was recorded."""
        with self._lock:
            self.sent.clear()

    def depths(self) -> Counter[str]:
        """How many recorded messages each queue would hold (a heard message is in several)."""
        with self._lock:
            sent = list(self.sent)
        return Counter(name for message in sent
                       for name in bound_queues(message.exchange, message.routing_key))

    def depth(self, queue_name: str) -> int:
        """How many recorded messages `queue_name` would hold."""
        return self.depths()[queue_name]

    def total_depth(self) -> int:
        """Messages every queue of the system would hold, added up."""
        return sum(self.depths().values())
