"""What the gateway's blueprints share: settings, the dispatcher and the accepted-event set."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery
from flask import current_app

from gateway.dedup import AcceptedEvents
from gateway.jobs import Dispatcher
from gateway.publisher import Publisher
from settings import Settings


@dataclass
class Gateway:
    """Per-app state, stored in `app.extensions["estafeta"]`."""

    settings: Settings
    celery: Celery
    publisher: Publisher
    dispatcher: Dispatcher
    accepted_events: AcceptedEvents


def gateway() -> Gateway:
    """The current app's gateway state."""
    state: Gateway = current_app.extensions["estafeta"]
    return state
