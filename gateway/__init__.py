"""The gateway: verifies Slack and HTTP requests, answers at once, publishes the work."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# Nothing that imports prometheus_client at module level is imported here: gunicorn's master
# imports this package on its way to `gateway.gunicorn_conf`, which must choose the metrics'
# multiprocess directory first (`estafeta.multiprocess`). The functions import what they use.
if TYPE_CHECKING:
    from celery import Celery
    from flask import Flask

    from estafeta.settings import Settings
    from gateway.dedup import GatewayStores
    from gateway.publisher import MessagePublisher
    from gateway.state import Gateway

MAX_BODY_BYTES = 1024 * 1024


def configure_logging(service: str, settings: Settings) -> None:
    """Log in `LOG_FORMAT` (`estafeta.logs`), unless this process configured its logging
    already: a gunicorn worker inherits its master's, a test runner keeps its own."""
    from estafeta import logs

    if not logging.getLogger().handlers:
        logs.configure(service, settings.log_level, settings.log_format)


def databases(settings: Settings) -> list[str]:
    """The stores the gateway needs migrated before it starts (the HTTP app and the socket)."""
    # With OAuth, the installations too: the gateway saves installs and deletes uninstalls.
    return ["gateway", "installations"] if settings.oauth_enabled else ["gateway"]


def build_gateway(settings: Settings, *, celery: Celery | None = None,
                  publisher: MessagePublisher | None = None,
                  stores: GatewayStores | None = None) -> Gateway:
    """What the gateway needs to accept Slack's requests, built from `settings` where not
    given: the HTTP app and the Socket Mode process share it."""
    import routing
    from estafeta import grammar
    from estafeta.celery_config import celery_client
    from estafeta.installations import DatabaseStateStore, EncryptedInstallationStore
    from estafeta.stores import open_stores
    from gateway.jobs import Dispatcher
    from gateway.publisher import Publisher
    from gateway.state import Gateway

    if celery is None:
        celery = celery_client(settings)
    if publisher is None:
        publisher = Publisher(settings.broker_url, declare=routing.declare_all)
    if stores is None:
        stores = open_stores(settings, "gateway")
    extra: dict[str, Any] = {}
    if settings.oauth_enabled:
        # The installations database the workers read tokens from: an uninstall deletes the
        # team's tokens there at once, so that no worker reads them again (one cached for
        # up to a minute is refused by Slack, and then forgotten).
        shared = open_stores(settings, "installations")
        installations = EncryptedInstallationStore(shared.records, settings.slack_token_keys)
        extra = {"installations": installations, "uninstall": installations.uninstall,
                 "oauth_states": DatabaseStateStore(shared.states)}
    return Gateway(
        settings=settings,
        celery=celery,
        publisher=publisher,
        dispatcher=Dispatcher(celery, publisher),
        accepted_events=stores.accepted_events,
        task_owners=stores.task_owners,
        # SLASH_COMMANDS when the Slack app names them differently, else what services declare.
        slash_commands=settings.slash_commands or grammar.slash_commands(),
        **extra,
    )


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the gateway app; `config` may set `SETTINGS`, `PUBLISHER`, `CELERY`, `STORES` and
    Flask's own.

    `PUBLISHER` (a `MessagePublisher`) and `CELERY` (the client that builds task messages and
    reads results) and `STORES` (`GatewayStores`) are built from the settings when absent:
    tests inject a recording publisher to run the gateway without a broker. `QUEUE_READER`
    replaces what `/metrics` reads queue depths with (`gateway.queues.QueueReader`).
    """
    from flask import Flask

    from estafeta import grammar
    from estafeta.settings import Settings, refuse_published_secrets
    from gateway import api, health, metrics, oauth, queues, slack
    from gateway.errors import register_error_handlers

    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    if config is not None:
        app.config.update(config)
    settings: Settings = app.config.get("SETTINGS") or Settings.from_env()
    app.config["SETTINGS"] = settings
    refuse_published_secrets(settings)
    # Every service's command declaration, checked now: a missing or clashing one stops the
    # gateway at start-up instead of failing each request.
    grammar.declarations()
    configure_logging("gateway", settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    app.extensions["estafeta"] = build_gateway(
        settings, celery=app.config.get("CELERY"), publisher=app.config.get("PUBLISHER"),
        stores=app.config.get("STORES"))
    reader = app.config.get("QUEUE_READER") or queues.broker_reader(settings.broker_url)
    app.extensions["estafeta_queues"] = queues.QueueCollector(reader)
    register_error_handlers(app)
    metrics.observe_requests(app)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(slack.bp)
    app.register_blueprint(oauth.bp)  # a browser's requests: not signed, not under slack.bp
    app.register_blueprint(api.bp)
    return app
