"""SQLite helpers: each service keeps its own files under `DATA_DIR`, opened in WAL mode."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

_local = threading.local()


def open_database(path: Path, schema: str) -> sqlite3.Connection:
    """A connection to `path` for this process and thread, with `schema` applied once."""
    key = (os.getpid(), str(path))
    cache: dict[tuple[int, str], sqlite3.Connection] = getattr(_local, "connections", {})
    _local.connections = cache
    connection = cache.get(key)
    if connection is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: explicit BEGIN IMMEDIATE where a claim must be atomic.
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
        connection.row_factory = sqlite3.Row
        # WAL lets several worker processes and containers on one volume read while one writes.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=10000")
        connection.executescript(schema)
        cache[key] = connection
    return connection
