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
import secrets
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.abc import Buffer
from psycopg.rows import dict_row
from psycopg.types.string import StrBinaryDumper, StrDumperUnknown
from psycopg_pool import ConnectionPool, PoolTimeout

from estafeta.stores import StoreUnavailable

# A statement that runs longer is cancelled (and retried): one slow query must not hold a
# worker, or a gateway thread that Slack expects to answer within 3 seconds.
STATEMENT_TIMEOUT_MS = 5_000
LOCK_TIMEOUT_MS = 3_000
IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT = 3  # seconds, per connection attempt
# Seconds a caller waits for a connection before the store is "unavailable": well within
# Slack's 3 seconds, so that the gateway's 503 (which Slack retries) reaches it in time.
POOL_TIMEOUT = 1.5
DEFAULT_POOL_SIZE = 4
PRUNE_BATCH = 5_000  # rows per pruning statement
# A server gone for longer is retried this often at least: the pool's own default (5 minutes
# of growing backoff) would keep a process "unavailable" long after the database is back.
RECONNECT_TIMEOUT = 10.0
# A connection idle for longer is probed before use (the server may have restarted since);
# one just returned is not, which halves the round trips of a busy worker.
PROBE_IDLE_AFTER = 5.0
# A network that silently drops packets must not hang a caller: TCP gives up after 5 s.
TCP_OPTIONS: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                               "keepalives_count": 3, "tcp_user_timeout": 5_000}
# What a retry cures, by SQLSTATE class or code: the connection (08), the server's resources
# (53), its shutting down or starting (57P01-57P03), serialization failures and deadlocks
# (40001, 40P01), a lock not granted in time (55P03), a read-only server after a failover
# (25006) and sessions the server ended (25P03, 25P04). Anything else is a bug or bad data.
TRANSIENT_CLASSES = frozenset({"08", "53"})
TRANSIENT_STATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01", "55P03", "25006",
                              "25P03", "25P04"})

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
    return (f"-c search_path={schema} -c statement_timeout={STATEMENT_TIMEOUT_MS}"
            f" -c lock_timeout={LOCK_TIMEOUT_MS}"
            f" -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}")


def connect(url: str, schema: str = "public", **kwargs: Any) -> psycopg.Connection[Any]:
    """One connection outside any pool (migrations, checks, tests)."""
    return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT,
                           options=session_options(schema), **TCP_OPTIONS, **kwargs)


def is_transient(exc: BaseException) -> bool:
    """Whether running the same work again later can succeed."""
    if isinstance(exc, PoolTimeout):  # no connection could be made or had in time
        return True
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate
    if state is None:  # raised by the client: the connection broke, or was never made
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return state[:2] in TRANSIENT_CLASSES or state in TRANSIENT_STATES


@contextmanager
def unavailable_on_failure() -> Iterator[None]:
    """Turn the errors a retry can cure into `StoreUnavailable` (no SQL or values in it)."""
    try:
        yield
    except psycopg.Error as exc:
        if not is_transient(exc):
            raise
        state = exc.sqlstate or "no sqlstate"
        raise StoreUnavailable(f"PostgreSQL unavailable ({type(exc).__name__}, {state})") from exc


class _NulSafeText(StrDumperUnknown):
    """PostgreSQL text cannot hold NUL, which Slack text and JSON may carry: it becomes
    U+FFFD, as on SQLite's side of the search index, instead of a failed statement."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace("\x00", "\ufffd"))


class _NulSafeBinary(StrBinaryDumper):
    """The same, for parameters sent in binary."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace("\x00", "\ufffd"))


def configure(connection: psycopg.Connection[Any]) -> None:
    """Set up a new connection: strings with NUL are stored, not refused."""
    connection.adapters.register_dumper(str, _NulSafeText)
    connection.adapters.register_dumper(str, _NulSafeBinary)


_returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
    weakref.WeakKeyDictionary())


def _probe_if_idle(connection: psycopg.Connection[Any]) -> None:
    """Before a connection is handed out: probe it if it sat idle (the pool drops it if dead)."""
    if time.monotonic() - _returned.get(connection, 0.0) > PROBE_IDLE_AFTER:
        ConnectionPool.check_connection(connection)


def _note_returned(connection: psycopg.Connection[Any]) -> None:
    _returned[connection] = time.monotonic()


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
                        reconnect_timeout=RECONNECT_TIMEOUT,
                        # A connection the server dropped (a restart) is replaced, not used.
                        check=_probe_if_idle, reset=_note_returned, configure=configure,
                        kwargs={"autocommit": True, "row_factory": dict_row,
                                "connect_timeout": CONNECT_TIMEOUT,
                                "options": session_options(self.schema), **TCP_OPTIONS},
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

    def delete_in_batches(self, table: str, where: str, params: tuple[Any, ...],
                          batches: int | None = None) -> int:
        """Delete the rows of `table` matching `where`, `PRUNE_BATCH` per statement (each well
        inside the statement timeout, however large the backlog); return how many went."""
        removed = 0
        while batches is None or batches > 0:
            with self.database.connection() as db:
                # ctid = ANY(ARRAY(...)): the generic plan of `IN (SELECT ...)` scans the table.
                gone = db.execute(
                    f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
                    f"SELECT ctid FROM {table} WHERE {where} LIMIT {PRUNE_BATCH}))",
                    params).rowcount
            removed += gone
            if gone < PRUNE_BATCH:
                break
            if batches is not None:
                batches -= 1
        return removed


def close_pools() -> None:
    """Close this process's pools (tests, and a clean exit)."""
    with _pools_lock:
        for key, pool in list(_pools.items()):
            if key[0] == os.getpid():
                pool.close()
                del _pools[key]


@contextmanager
def scratch_database(admin_url: str, prefix: str = "estafeta_scratch") -> Iterator[str]:
    """The URL of a new, empty database on the server of `admin_url`, dropped afterwards
    (tests and benchmarks: each run works in a database of its own)."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    finally:
        close_pools()
        with connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
