"""The gateway with the textbook publisher: a pooled producer waiting for each confirm alone."""

from __future__ import annotations

from flask import Flask
from kombu import Connection
from kombu.pools import producers

import routing
from gateway import create_app as create_gateway
from gateway.publisher import Outgoing


class SyncConfirmPublisher:
    """Publishes one message per request and blocks on its own confirm (no batching)."""

    def __init__(self, broker_url: str) -> None:
        self.connection = Connection(broker_url, transport_options={"confirm_publish": True})
        with self.connection.channel() as channel:
            routing.declare_all(channel)

    def publish(self, message: Outgoing) -> None:
        with producers[self.connection].acquire(block=True, timeout=2) as producer:
            producer.publish(
                message.body, exchange=message.exchange, routing_key=message.routing_key,
                headers=message.headers, priority=message.priority,
                correlation_id=message.correlation_id, delivery_mode=2, mandatory=True,
                serializer="json", retry=False,
            )


def create_app() -> Flask:
    """The real gateway, its publisher swapped for `SyncConfirmPublisher`."""
    app = create_gateway()
    state = app.extensions["estafeta"]
    state.dispatcher.publisher = SyncConfirmPublisher(state.settings.broker_url)
    return app
