"""The installations on SQLite: one file under `DATA_DIR` that the gateway and every worker
on this volume share."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from estafeta.installations import StoredInstallation
from estafeta.storage import SqliteFile

_COLUMNS = ("enterprise_id, team_id, user_id, is_enterprise_install, details, secrets,"
            " bot_token_expires_at, installed_at")
PRUNE_EVERY = 100


def _record(row: sqlite3.Row) -> StoredInstallation:
    return StoredInstallation(
        enterprise_id=row["enterprise_id"], team_id=row["team_id"], user_id=row["user_id"],
        is_enterprise_install=bool(row["is_enterprise_install"]), details=row["details"],
        secrets=row["secrets"], bot_token_expires_at=row["bot_token_expires_at"],
        installed_at=row["installed_at"])


def _write(db: sqlite3.Connection, record: StoredInstallation) -> None:
    db.execute(
        f"INSERT OR REPLACE INTO installations ({_COLUMNS}, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record.enterprise_id, record.team_id, record.user_id,
         int(record.is_enterprise_install), record.details, record.secrets,
         record.bot_token_expires_at, record.installed_at, time.time()))


def _where(team_id: str, enterprise_id: str | None) -> tuple[str, tuple[str, ...]]:
    if enterprise_id is None:
        return "team_id = ?", (team_id,)
    return "team_id = ? AND enterprise_id = ?", (team_id, enterprise_id)


class SqliteInstallationRecords(SqliteFile):
    """`InstallationRecords` in `DATA_DIR/installations.sqlite`."""

    history = "installations"

    def save(self, record: StoredInstallation) -> None:
        """Insert or replace the install of `record`'s enterprise and team."""
        _write(self.db, record)

    def find(self, team_id: str, enterprise_id: str | None = None) -> StoredInstallation | None:
        """The install of `team_id` (within `enterprise_id`; None: in whichever it is)."""
        where, params = _where(team_id, enterprise_id)
        row = self.db.execute(f"SELECT {_COLUMNS} FROM installations WHERE {where}"
                              " ORDER BY installed_at DESC LIMIT 1", params).fetchone()
        return None if row is None else _record(row)

    def delete(self, team_id: str, enterprise_id: str | None = None) -> int:
        """Delete the install of `team_id` (as in `find`); return how many rows went."""
        where, params = _where(team_id, enterprise_id)
        return self.db.execute(f"DELETE FROM installations WHERE {where}", params).rowcount

    def change(self, enterprise_id: str, team_id: str,
               update: Callable[[StoredInstallation], StoredInstallation | None],
               ) -> StoredInstallation | None:
        """Read, `update` and write the row inside one BEGIN IMMEDIATE: the file's write lock
        makes every other writer wait for this one (up to the busy timeout, then
        `StoreUnavailable`)."""
        with self.transaction() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM installations"
                             " WHERE enterprise_id = ? AND team_id = ?",
                             (enterprise_id, team_id)).fetchone()
            if row is None:
                return None
            current = _record(row)
            changed = update(current)
            if changed is None:
                return current
            _write(db, changed)
            return changed

    def all_keys(self) -> list[tuple[str, str]]:
        """(enterprise_id, team_id) of every install."""
        rows = self.db.execute("SELECT enterprise_id, team_id FROM installations"
                               " ORDER BY enterprise_id, team_id").fetchall()
        return [(row["enterprise_id"], row["team_id"]) for row in rows]


class SqliteOAuthStates(SqliteFile):
    """`OAuthStates` in `DATA_DIR/installations.sqlite`."""

    history = "installations"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._issued = 0

    def issue(self, state: str, expires_at: float) -> None:
        """Remember `state` until `expires_at`."""
        self.db.execute("INSERT INTO oauth_states (state, expires_at) VALUES (?, ?)",
                        (state, expires_at))
        self._issued += 1
        if self._issued % PRUNE_EVERY == 0:  # installs never finished leave their state
            self.db.execute("DELETE FROM oauth_states WHERE expires_at < ?", (time.time(),))

    def consume(self, state: str, now: float) -> bool:
        """Forget `state`; True only if it was issued, not consumed yet and not expired."""
        row = self.db.execute("DELETE FROM oauth_states WHERE state = ? RETURNING expires_at",
                              (state,)).fetchone()
        return row is not None and float(row["expires_at"]) > now
