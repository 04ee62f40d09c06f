"""SQLite helpers: each service keeps its own files under `DATA_DIR`, opened in WAL mode and
brought up to date by the store's migrations (`estafeta.migrate`) when first opened."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_local = threading.local()
# (pid, file, history) already brought up to date: once per process, not once per thread.
_migrated: set[tuple[int, str, str]] = set()
_migrated_lock = threading.Lock()


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
            connection = sqlite3.connect(path, timeout=10, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA busy_timeout=10000")
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
        """One write transaction, taken at once (BEGIN IMMEDIATE), committed or rolled back."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
