"""SQLite helpers: each service keeps its own files under `DATA_DIR`, opened in WAL mode and
brought up to date by the store's migrations (`estafeta.migrate`) when first opened.

A writer waits up to `BUSY_TIMEOUT` seconds for another's write lock on the file; one that
waited longer gets `StoreUnavailable`, as on PostgreSQL (workers retry the task with backoff,
the gateway answers `503`), never a raw "database is locked".
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from estafeta.stores import StoreUnavailable

BUSY_TIMEOUT = 10.0  # seconds a statement waits for another connection's write lock
# What SQLite answers when the lock was not had in time (`SQLITE_BUSY` and its extended codes).
_BUSY_MESSAGES = ("database is locked", "database is busy")

_local = threading.local()
# (pid, file, history) already brought up to date: once per process, not once per thread.
_migrated: set[tuple[int, str, str]] = set()
_migrated_lock = threading.Lock()


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether `exc` says another connection held the lock too long (a retry can succeed)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == sqlite3.SQLITE_BUSY  # the primary code of an extended one
    return str(exc).startswith(_BUSY_MESSAGES)


@contextmanager
def unavailable_when_busy() -> Iterator[None]:
    """Turn a lock not had in time into `StoreUnavailable` (no SQL or values in it)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise
        name = getattr(exc, "sqlite_errorname", "SQLITE_BUSY")
        raise StoreUnavailable(f"SQLite file locked by another writer ({name})") from exc


class _Connection(sqlite3.Connection):
    """A connection whose statements raise `StoreUnavailable` when the file stayed locked:
    every store, in a transaction or not, without a check of its own."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        with unavailable_when_busy():
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        with unavailable_when_busy():
            return super().executemany(sql, parameters)


def open_database(path: Path, history: str) -> sqlite3.Connection:
    """A connection to `path` for this process and thread, the tables of `history` migrated."""
    cache: dict[tuple[int, str], sqlite3.Connection]
    cache = getattr(_local, "connections", None) or {}
    _local.connections = cache
    key = (os.getpid(), str(path))  # a forked pool process must not reuse its parent's handle
    migrated = (*key, history)
    if migrated not in _migrated:  # several stores share one file: the ledger's and the service's
        with _migrated_lock:
            if migrated not in _migrated:
                from estafeta.migrate import upgrade_sqlite  # alembic, only once a file is opened
                upgrade_sqlite(path, [history])
                _migrated.add(migrated)
    connection = cache.get(key)
    if connection is None:
        # Under the file's lock: switching a new file to WAL needs it to itself (SQLite does
        # not wait for that), and a migration of the file by another process or thread holds it.
        with file_lock(path):
            # isolation_level=None: autocommit, with explicit transactions where they matter.
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                         factory=_Connection)
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            # WAL lets several worker processes and containers on one volume read while one
            # writes.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA cache_size=-65536")  # 64 MiB: indexes stay in memory
        cache[key] = connection
    return connection


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold `path`'s lock file: whoever creates, converts or migrates it goes alone (across
    processes and threads), and the others then find it done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class SqliteFile:
    """Base of the small stores: a SQLite file under `DATA_DIR` and the migration history of
    its tables (`estafeta.migrate`)."""

    history = ""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def db(self) -> sqlite3.Connection:
        """This process's (and thread's) connection, with the file migrated."""
        return open_database(self.path, self.history)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), committed or rolled back;
        `StoreUnavailable` when another connection kept the file locked for too long."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # not after an error SQLite rolled back itself
                db.execute("ROLLBACK")
            raise
