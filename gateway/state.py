"""What the gateway's blueprints share: settings, the dispatcher and what it has accepted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from celery import Celery
from flask import current_app

from estafeta.settings import Settings
from gateway.dedup import AcceptedEvents, TaskOwners
from gateway.jobs import Dispatcher
from gateway.publisher import MessagePublisher


@dataclass
class Gateway:
    """Per-app state, stored in `app.extensions["estafeta"]`."""

    settings: Settings
    celery: Celery
    publisher: MessagePublisher
    dispatcher: Dispatcher
    accepted_events: AcceptedEvents
    task_owners: TaskOwners
    slash_commands: Mapping[str, str]  # slash command → service, fixed at start-up


def gateway() -> Gateway:
    """The current app's gateway state."""
    state: Gateway = current_app.extensions["estafeta"]
    return state
