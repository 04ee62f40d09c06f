"""PostgreSQL for the stores: one connection pool per process and schema, opened after fork.

Each service keeps its tables in a schema of its own (`search`, `agenda`, ...; the gateway's in
`gateway`), so that no service reads another's and every SQL statement is the same as on
SQLite's one-file-per-service. Errors that a retry can cure (the connection lost, the server
restarting, a serialization failure, a deadlock, a statement timeout) become
`StoreUnavailable`: workers retry the task with backoff, the gateway answers `503`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from estafeta.stores import StoreUnavailable

# A statement that runs longer is cancelled (and retried): one slow query must not hold a
# worker, or a gateway thread that Slack expects to answer within 3 seconds.
STATEMENT_TIMEOUT_MS = 5_000
LOCK_TIMEOUT_MS = 3_000
IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT = 3  # seconds, per connection attempt
POOL_TIMEOUT = 5.0  # seconds a caller waits for a connection before the store is "unavailable"
DEFAULT_POOL_SIZE = 4

_SCHEMA_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_pools: dict[tuple[int, str, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def schema_name(service: str) -> str:
    """The PostgreSQL schema of `service`'s tables (its name, checked to be a plain identifier)."""
    if not _SCHEMA_NAME.fullmatch(service):
        raise ValueError(f"service name {service!r} cannot name a PostgreSQL schema")
    return service


def session_options(schema: str) -> str:
    """The `options` of every connection: the service's schema first, and the timeouts."""
    return (f"-c search_path={schema},public -c statement_timeout={STATEMENT_TIMEOUT_MS}"
            f" -c lock_timeout={LOCK_TIMEOUT_MS}"
            f" -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}")


def connect(url: str, schema: str = "public", **kwargs: Any) -> psycopg.Connection[Any]:
    """One connection outside any pool (migrations, checks, tests)."""
    return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT,
                           options=session_options(schema), **kwargs)


@contextmanager
def unavailable_on_failure() -> Iterator[None]:
    """Turn the errors a retry can cure into `StoreUnavailable` (no SQL or values in it)."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        # OperationalError covers the connection lost, the server shutting down, too many
        # connections, serialization failures, deadlocks and cancelled statements.
        state = getattr(exc, "sqlstate", None) or "no sqlstate"
        raise StoreUnavailable(f"PostgreSQL unavailable ({type(exc).__name__}, {state})") from exc


class Database:
    """A service's schema in PostgreSQL, reached through this process's pool."""

    def __init__(self, url: str, schema: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.schema = schema_name(schema)
        self.pool_size = pool_size

    def _pool(self) -> ConnectionPool:
        # Keyed by pid: a pool opened before a fork (Celery prefork, gunicorn) has threads and
        # sockets the child must not share, so each process opens its own on first use.
        key = (os.getpid(), self.url, self.schema)
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = ConnectionPool(
                        self.url, min_size=1, max_size=max(1, self.pool_size), open=False,
                        timeout=POOL_TIMEOUT, name=f"estafeta-{self.schema}",
                        # A connection the server dropped (a restart) is replaced, not used.
                        check=ConnectionPool.check_connection,
                        kwargs={"autocommit": True, "row_factory": dict_row,
                                "connect_timeout": CONNECT_TIMEOUT,
                                "options": session_options(self.schema)},
                    )
                    # wait=False: a database that is down now makes calls unavailable (and
                    # retried), it does not stop the process; the pool reconnects by itself.
                    pool.open(wait=False)
                    _pools[key] = pool
        return pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in autocommit mode: each statement is its own transaction."""
        with unavailable_on_failure(), self._pool().connection() as connection:
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction, committed when the block ends, rolled back if it raises."""
        with self.connection() as connection, connection.transaction():
            yield connection


class PostgresStore:
    """Base of the PostgreSQL stores: a service's schema and this process's pool."""

    def __init__(self, database: Database) -> None:
        self.database = database


def close_pools() -> None:
    """Close this process's pools (tests, and a clean exit)."""
    with _pools_lock:
        for key, pool in list(_pools.items()):
            if key[0] == os.getpid():
                pool.close()
                del _pools[key]
