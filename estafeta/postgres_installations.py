"""The installations on PostgreSQL: the `installations` schema, shared by every gateway and
worker on every host."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from estafeta.installations import StoredInstallation
from estafeta.postgres import Database, PostgresStore

_COLUMNS = ("enterprise_id, team_id, user_id, is_enterprise_install, details, secrets,"
            " bot_token_expires_at, installed_at")
PRUNE_EVERY = 100


def _record(row: dict[str, Any]) -> StoredInstallation:
    return StoredInstallation(
        enterprise_id=row["enterprise_id"], team_id=row["team_id"], user_id=row["user_id"],
        is_enterprise_install=bool(row["is_enterprise_install"]), details=row["details"],
        secrets=row["secrets"], bot_token_expires_at=row["bot_token_expires_at"],
        installed_at=row["installed_at"])


def _write(db: psycopg.Connection[Any], record: StoredInstallation) -> None:
    db.execute(
        f"INSERT INTO installations ({_COLUMNS}, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (enterprise_id, team_id) DO UPDATE SET user_id = excluded.user_id,"
        " is_enterprise_install = excluded.is_enterprise_install, details = excluded.details,"
        " secrets = excluded.secrets, bot_token_expires_at = excluded.bot_token_expires_at,"
        " installed_at = excluded.installed_at, updated_at = excluded.updated_at",
        (record.enterprise_id, record.team_id, record.user_id, record.is_enterprise_install,
         record.details, record.secrets, record.bot_token_expires_at, record.installed_at,
         time.time()))


def _where(team_id: str, enterprise_id: str | None) -> tuple[str, tuple[str, ...]]:
    if enterprise_id is None:
        return "team_id = %s", (team_id,)
    return "team_id = %s AND enterprise_id = %s", (team_id, enterprise_id)


class PostgresInstallationRecords(PostgresStore):
    """`InstallationRecords` in the `installations` schema."""

    def save(self, record: StoredInstallation) -> None:
        """Insert or replace the install of `record`'s enterprise and team."""
        with self.database.connection() as db:
            _write(db, record)

    def find(self, team_id: str, enterprise_id: str | None = None) -> StoredInstallation | None:
        """The install of `team_id` (within `enterprise_id`; None: in whichever it is)."""
        where, params = _where(team_id, enterprise_id)
        with self.database.connection() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM installations WHERE {where}"
                             " ORDER BY installed_at DESC LIMIT 1", params).fetchone()
        return None if row is None else _record(row)

    def delete(self, team_id: str, enterprise_id: str | None = None) -> int:
        """Delete the install of `team_id` (as in `find`); return how many rows went."""
        where, params = _where(team_id, enterprise_id)
        with self.database.connection() as db:
            return db.execute(f"DELETE FROM installations WHERE {where}", params).rowcount

    def change(self, enterprise_id: str, team_id: str,
               update: Callable[[StoredInstallation], StoredInstallation | None],
               ) -> StoredInstallation | None:
        """Read, `update` and write the row in one transaction holding its row lock (SELECT …
        FOR UPDATE): another host's change of the same install waits (up to `lock_timeout`,
        then `StoreUnavailable`), then sees this one."""
        with self.database.transaction() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM installations"
                             " WHERE enterprise_id = %s AND team_id = %s FOR UPDATE",
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
        with self.database.connection() as db:
            rows = db.execute("SELECT enterprise_id, team_id FROM installations"
                              " ORDER BY enterprise_id, team_id").fetchall()
        return [(row["enterprise_id"], row["team_id"]) for row in rows]


class PostgresOAuthStates(PostgresStore):
    """`OAuthStates` in the `installations` schema: any host's gateway takes a state back."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self._issued = 0

    def issue(self, state: str, expires_at: float) -> None:
        """Remember `state` until `expires_at`."""
        with self.database.connection() as db:
            db.execute("INSERT INTO oauth_states (state, expires_at) VALUES (%s, %s)",
                       (state, expires_at))
        self._issued += 1
        if self._issued % PRUNE_EVERY == 0:  # installs never finished leave their state
            self.delete_in_batches("oauth_states", "expires_at < %s", (time.time(),), batches=1)

    def consume(self, state: str, now: float) -> bool:
        """Forget `state`; True only if it was issued, not consumed yet and not expired."""
        with self.database.connection() as db:
            row = db.execute("DELETE FROM oauth_states WHERE state = %s RETURNING expires_at",
                             (state,)).fetchone()
        return row is not None and float(row["expires_at"]) > now
