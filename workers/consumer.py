"""A Celery consumer that dead-letters what it cannot read instead of dropping it."""

from __future__ import annotations

import logging
from typing import Any

from celery.worker.consumer import Consumer

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

    def on_unknown_message(self, body: Any, message: Any) -> None:
        """Dead-letter a decodable message that is not a task message."""
        log.error("dead-lettering a message that is not a task (headers %r)", message.headers)
        message.reject(requeue=False)
