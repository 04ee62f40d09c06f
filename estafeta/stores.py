"""`open_stores`: the one place that picks where a service's state lives.

Every store is a Protocol in its service's own words (`workers/<svc>/store.py`,
`workers.replies.ReplyLedger`, `gateway.dedup`, `estafeta.installations`); the implementations
live in `sqlite_*.py` and `postgres_*.py` modules. Without `DATABASE_URL` every store is a
SQLite file under `DATA_DIR`, one per service (its reply ledger included); with it, each service
has a schema of its own in that PostgreSQL database. The app's installations (OAuth) are a
database of their own, shared by the gateway and every worker. Implementations are imported
only when asked for, so that the gateway loads no worker code by opening its own stores.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import routing
from estafeta.settings import Settings

if TYPE_CHECKING:
    from estafeta.installations import InstallationStores
    from gateway.dedup import GatewayStores
    from workers.agenda.store import AgendaStores
    from workers.replies import ServiceStores
    from workers.search.store import SearchStores
    from workers.sentiment.scores import SentimentStores

GATEWAY = "gateway"
INSTALLATIONS = "installations"


class StoreUnavailable(Exception):
    """The database cannot be reached now (or asked for the transaction to be run again): a
    worker retries the task with backoff, the gateway answers `503` so that Slack retries."""

    retry_after: float | None = None


@overload
def open_stores(settings: Settings, service: Literal["search"]) -> SearchStores: ...
@overload
def open_stores(settings: Settings, service: Literal["agenda"]) -> AgendaStores: ...
@overload
def open_stores(settings: Settings, service: Literal["sentiment"]) -> SentimentStores: ...
# "gateway" names no worker service: the catch-all below never means it.
@overload
def open_stores(  # type: ignore[overload-overlap]
    settings: Settings, service: Literal["gateway"]) -> GatewayStores: ...
# Nor does "installations": the database the gateway and every worker share.
@overload
def open_stores(  # type: ignore[overload-overlap]
    settings: Settings, service: Literal["installations"]) -> InstallationStores: ...
@overload
def open_stores(settings: Settings, service: str) -> ServiceStores: ...


def open_stores(settings: Settings, service: str
                ) -> ServiceStores | GatewayStores | InstallationStores:
    """The stores of `service` (a worker service's name, "gateway" or "installations") for
    these settings.

    A service without stores of its own still gets its reply ledger.
    """
    if settings.uses_postgres:
        from estafeta.postgres import Database
        pool_size = settings.database_pool_size
        if service == GATEWAY:  # every request thread may hold a connection at once
            pool_size = max(pool_size, settings.gateway_threads)
        # Each service in its own schema of the one database that every host shares.
        return _build("postgres", service,
                      Database(settings.database_url, service, pool_size))
    # Each service in its own file under `DATA_DIR`; nobody reads another's.
    return _build("sqlite", service, sqlite_path(settings, service))


def sqlite_path(settings: Settings, service: str) -> Path:
    """The SQLite file of `service` (or the gateway) under `DATA_DIR`."""
    return settings.data_dir / f"{service}.sqlite"


# What each service's stores are: the dataclass that holds them, and for each of its fields
# the module and class of the implementation, named the same on every engine but for the
# engine's prefix (`workers/search/sqlite_store.py:SqliteSearchStore`, `…/postgres_store.py:
# PostgresSearchStore`). A service not listed here has its reply ledger only.
_LEDGER = ("workers.{engine}_ledger", "Ledger")
_STORES: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    GATEWAY: ("gateway.dedup:GatewayStores", {
        "accepted_events": ("gateway.{engine}_dedup", "AcceptedEvents"),
        "task_owners": ("gateway.{engine}_dedup", "TaskOwners"),
    }),
    INSTALLATIONS: ("estafeta.installations:InstallationStores", {
        "records": ("estafeta.{engine}_installations", "InstallationRecords"),
        "states": ("estafeta.{engine}_installations", "OAuthStates"),
    }),
    routing.SEARCH.name: ("workers.search.store:SearchStores", {
        "ledger": _LEDGER,
        "documents": ("workers.search.{engine}_store", "SearchStore"),
        "state": ("workers.search.{engine}_store", "SearchState"),
        "names": ("workers.search.{engine}_store", "NameCache"),
        "backfills": ("workers.search.{engine}_store", "BackfillLog"),
    }),
    routing.AGENDA.name: ("workers.agenda.store:AgendaStores", {
        "ledger": _LEDGER,
        "events": ("workers.agenda.{engine}_store", "AgendaStore"),
    }),
    routing.SENTIMENT.name: ("workers.sentiment.scores:SentimentStores", {
        "ledger": _LEDGER,
        "moods": ("workers.sentiment.{engine}_scores", "MoodStore"),
    }),
}
_ONLY_A_LEDGER = ("workers.replies:ServiceStores", {"ledger": _LEDGER})
_PREFIX = {"sqlite": "Sqlite", "postgres": "Postgres"}


def _build(engine: str, service: str, where: object) -> Any:
    """`service`'s stores on `engine`, each opened on `where` (a file, or a database)."""
    holder, fields = _STORES.get(service, _ONLY_A_LEDGER)
    stores = {name: _class(module.format(engine=engine), _PREFIX[engine] + role)(where)
              for name, (module, role) in fields.items()}
    module, _, name = holder.partition(":")
    return _class(module, name)(**stores)


def _class(module: str, name: str) -> Any:
    # Imported only when asked for: the gateway loads no worker code by opening its stores.
    return getattr(importlib.import_module(module), name)
