"""What the gateway's blueprints share: settings, the dispatcher and what it has accepted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from celery import Celery
from flask import current_app

from estafeta.installations import DatabaseStateStore, EncryptedInstallationStore
from estafeta.settings import Settings
from gateway.dedup import AcceptedEvents, TaskOwners
from gateway.jobs import Dispatcher
from gateway.publisher import MessagePublisher

log = logging.getLogger(__name__)


def _no_installations(team: str, enterprise: str) -> None:
    log.info("team %s uninstalled the app; no installations are stored here", team)


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
    # Deletes a team's stored tokens (`app_uninstalled`, `tokens_revoked`).
    uninstall: Callable[[str, str], None] = _no_installations
    # Installs into many workspaces (OAuth, `SLACK_CLIENT_ID`): None in one workspace's mode.
    installations: EncryptedInstallationStore | None = None
    oauth_states: DatabaseStateStore | None = None


def gateway() -> Gateway:
    """The current app's gateway state."""
    state: Gateway = current_app.extensions["estafeta"]
    return state
