"""The gateway: verifies Slack and HTTP requests, answers at once, publishes the work."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

import routing
from estafeta.settings import Settings, refuse_published_secrets
from gateway import api, health, slack
from gateway.dedup import AcceptedEvents, TaskOwners
from gateway.errors import register_error_handlers
from gateway.jobs import Dispatcher
from gateway.publisher import Publisher
from gateway.state import Gateway
from workers.app import celery_client

MAX_BODY_BYTES = 1024 * 1024


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the gateway app; `config` may override `SETTINGS` and Flask settings."""
    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    if config is not None:
        app.config.update(config)
    settings: Settings = app.config.get("SETTINGS") or Settings.from_env()
    app.config["SETTINGS"] = settings
    refuse_published_secrets(settings)
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    celery = celery_client(settings)
    publisher = Publisher(settings.broker_url, declare=routing.declare_all)
    app.extensions["estafeta"] = Gateway(
        settings=settings,
        celery=celery,
        publisher=publisher,
        dispatcher=Dispatcher(celery, publisher),
        accepted_events=AcceptedEvents(settings.data_dir / "gateway.sqlite"),
        task_owners=TaskOwners(settings.data_dir / "gateway.sqlite"),
    )
    register_error_handlers(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(slack.bp)
    app.register_blueprint(api.bp)
    return app
