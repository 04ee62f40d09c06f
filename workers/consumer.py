"""A Celery consumer that dead-letters what it cannot read instead of dropping it."""

from __future__ import annotations

import logging
from typing import Any

from celery.worker.consumer import Consumer

from estafeta import metrics

log = logging.getLogger(__name__)


class DeadLetteringConsumer(Consumer):
    """Rejects undecodable and unknown messages without requeue: their queue dead-letters them."""

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        """Dead-letter a message that is not valid JSON (or not JSON at all)."""
        log.error(
            "dead-lettering an undecodable message (content type %r): %s",
            message.content_type,
            exc,
        )
        message.reject(requeue=False)
        self._dead_lettered("undecodable")

    def on_unknown_message(self, body: Any, message: Any) -> None:
        """Dead-letter a decodable message that is not a task message."""
        log.error("dead-lettering a message that is not a task (headers %r)", message.headers)
        message.reject(requeue=False)
        self._dead_lettered("not_a_task")

    def on_unknown_task(self, body: Any, message: Any, exc: Exception) -> None:
        """Dead-letter a task this service does not run, logging its name, never its body."""
        self._refuse(message, "unknown_task", "a task this service does not run")

    def on_invalid_task(self, body: Any, message: Any, exc: Exception) -> None:
        """Dead-letter a task message Celery cannot make sense of (its body is not logged:
        task arguments carry people's messages)."""
        self._refuse(message, "invalid_task", f"an invalid task message ({type(exc).__name__})")

    def _refuse(self, message: Any, reason: str, what: str) -> None:
        headers = message.headers or {}
        log.error("dead-lettering %s: %s[%s]", what, str(headers.get("task", "?"))[:80],
                  str(headers.get("id", "?"))[:40])
        message.reject(requeue=False)
        self._dead_lettered(reason)

    def _dead_lettered(self, reason: str) -> None:
        service = str(getattr(self.app.conf, "estafeta_service", None) or "")
        metrics.DEAD_LETTERS.labels(service, reason).inc()
