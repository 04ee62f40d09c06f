"""`open_stores`: the one place that picks where a service's state lives.

Every store is a Protocol in its service's own words (`workers/<svc>/store.py`,
`workers.replies.ReplyLedger`, `gateway.dedup`); the implementations live in `sqlite_*.py`
and `postgres_*.py` modules. Without `DATABASE_URL` every store is a SQLite file under
`DATA_DIR`, one per service (its reply ledger included); with it, each service has a schema of
its own in that PostgreSQL database. Implementations are imported only when asked for, so that
the gateway loads no worker code by opening its own stores.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

import routing
from estafeta.settings import Settings

if TYPE_CHECKING:
    from gateway.dedup import GatewayStores
    from workers.agenda.store import AgendaStores
    from workers.replies import ServiceStores
    from workers.search.store import SearchStores
    from workers.sentiment.scores import SentimentStores

GATEWAY = "gateway"


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
@overload
def open_stores(settings: Settings, service: str) -> ServiceStores: ...


def open_stores(settings: Settings, service: str) -> ServiceStores | GatewayStores:
    """The stores of `service` (a worker service's name, or "gateway") for these settings.

    A service without stores of its own still gets its reply ledger.
    """
    if settings.uses_postgres:
        return _postgres(settings, service)
    return _sqlite(settings.data_dir, service)


def _postgres(settings: Settings, service: str) -> ServiceStores | GatewayStores:
    """Each service in its own schema of the one database that every host shares."""
    from estafeta.postgres import Database
    pool_size = settings.database_pool_size
    if service == GATEWAY:  # every request thread may hold a connection at once
        pool_size = max(pool_size, settings.gateway_threads)
    database = Database(settings.database_url, service, pool_size)
    if service == GATEWAY:
        from gateway.dedup import GatewayStores
        from gateway.postgres_dedup import PostgresAcceptedEvents, PostgresTaskOwners
        return GatewayStores(accepted_events=PostgresAcceptedEvents(database),
                             task_owners=PostgresTaskOwners(database))
    from workers.postgres_ledger import PostgresLedger
    from workers.replies import ServiceStores
    ledger = PostgresLedger(database)
    if service == routing.SEARCH.name:
        from workers.search.postgres_store import (
            PostgresBackfillLog,
            PostgresNameCache,
            PostgresSearchState,
            PostgresSearchStore,
        )
        from workers.search.store import SearchStores
        return SearchStores(ledger=ledger, documents=PostgresSearchStore(database),
                            state=PostgresSearchState(database),
                            names=PostgresNameCache(database),
                            backfills=PostgresBackfillLog(database))
    if service == routing.AGENDA.name:
        from workers.agenda.postgres_store import PostgresAgendaStore
        from workers.agenda.store import AgendaStores
        return AgendaStores(ledger=ledger, events=PostgresAgendaStore(database))
    if service == routing.SENTIMENT.name:
        from workers.sentiment.postgres_scores import PostgresMoodStore
        from workers.sentiment.scores import SentimentStores
        return SentimentStores(ledger=ledger, moods=PostgresMoodStore(database))
    return ServiceStores(ledger=ledger)


def _sqlite(data_dir: Path, service: str) -> ServiceStores | GatewayStores:
    """Each service in its own file under `data_dir`; nobody reads another's."""
    path = data_dir / f"{service}.sqlite"
    if service == GATEWAY:
        from gateway.dedup import GatewayStores
        from gateway.sqlite_dedup import SqliteAcceptedEvents, SqliteTaskOwners
        return GatewayStores(accepted_events=SqliteAcceptedEvents(path),
                             task_owners=SqliteTaskOwners(path))
    from workers.replies import ServiceStores
    from workers.sqlite_ledger import SqliteLedger
    ledger = SqliteLedger(path)
    if service == routing.SEARCH.name:
        from workers.search.sqlite_store import (
            SqliteBackfillLog,
            SqliteNameCache,
            SqliteSearchState,
            SqliteSearchStore,
        )
        from workers.search.store import SearchStores
        return SearchStores(ledger=ledger, documents=SqliteSearchStore(path),
                            state=SqliteSearchState(path), names=SqliteNameCache(path),
                            backfills=SqliteBackfillLog(path))
    if service == routing.AGENDA.name:
        from workers.agenda.sqlite_store import SqliteAgendaStore
        from workers.agenda.store import AgendaStores
        return AgendaStores(ledger=ledger, events=SqliteAgendaStore(path))
    if service == routing.SENTIMENT.name:
        from workers.sentiment.scores import SentimentStores
        from workers.sentiment.sqlite_scores import SqliteMoodStore
        return SentimentStores(ledger=ledger, moods=SqliteMoodStore(path))
    return ServiceStores(ledger=ledger)
