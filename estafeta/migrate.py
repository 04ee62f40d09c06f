"""Schema migrations (Alembic) of every store, on SQLite and on PostgreSQL.

Each store's tables have a *history*: a folder of Alembic revisions next to the code that uses
them (`workers/migrations` for the reply ledger every service has, `gateway/migrations`,
`workers/<svc>/migrations`, `estafeta/installation_migrations` for the installations that the
gateway and every worker share). A service's database (its SQLite file under `DATA_DIR`, or its
schema in PostgreSQL) holds the ledger's history and its own, each an Alembic branch named after
it. A revision writes its SQL for both engines (`run_sql`).

`estafeta migrate` upgrades every database; running it again changes nothing. A SQLite file is
also upgraded when a process first opens it (the embedded default needs no step), while
PostgreSQL is only migrated by `estafeta migrate` (a release step), and processes refuse to
start on a schema behind the code (`check_current`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

import routing
from estafeta import postgres
from estafeta.celery_config import RESULTS_SCHEMA, celery_client
from estafeta.settings import Settings, sqlalchemy_url
from estafeta.storage import file_lock
from estafeta.stores import sqlite_path
from estafeta.urls import without_password

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT = Path(__file__).resolve().parent / "migrations"
LEDGER = "ledger"
GATEWAY = "gateway"
# Every workspace's install of the app: written by the gateway, read (and its tokens rotated)
# by every worker, so a database of its own rather than one process's.
INSTALLATIONS = "installations"


def history_folder(history: str) -> Path:
    """Where the revisions of `history` live."""
    if history == LEDGER:
        return ROOT / "workers" / "migrations"
    if history == GATEWAY:
        return ROOT / "gateway" / "migrations"
    if history == INSTALLATIONS:
        return ROOT / "estafeta" / "installation_migrations"
    return ROOT / "workers" / history / "migrations"


def histories_of(service: str) -> list[str]:
    """The histories in `service`'s database: the gateway's, the installations', or the
    ledger's and the service's own (a service without tables of its own has only the ledger)."""
    if service in (GATEWAY, INSTALLATIONS):
        return [service]
    own = [service] if history_folder(service).is_dir() else []
    return [LEDGER, *own]


def databases() -> list[str]:
    """Every database there is: the gateway's, the installations' and one per worker service."""
    return [GATEWAY, INSTALLATIONS, *routing.SERVICES]


@cache
def _scripts() -> ScriptDirectory:
    """Every history's revisions in one place, so that any database's versions resolve."""
    return ScriptDirectory.from_config(_config())


def _config(connection: Any = None, schema: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT))
    config.set_main_option("path_separator", "os")
    folders = [history_folder(history) for history in (LEDGER, *databases())]
    config.set_main_option("version_locations", os.pathsep.join(
        str(folder) for folder in folders if folder.is_dir()))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    return config


def run_sql(*, sqlite: str, postgresql: str) -> None:
    """Inside a revision: run the script written for the engine being migrated."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _statements(sqlite):
            bind.exec_driver_sql(statement)
    elif postgresql.strip():
        # psycopg runs a script of several statements when it has no parameters.
        bind.exec_driver_sql(postgresql)


def _statements(script: str) -> Iterator[str]:
    """The statements of a SQLite script (a trigger's body stays whole)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending.strip()
            pending = ""
    if pending.strip():
        yield pending.strip()


def sqlite_columns(table: str) -> set[str]:
    """Inside a revision on SQLite: the columns `table` has (for guarded upgrades of files
    that an earlier release created without migrations)."""
    rows = op.get_bind().exec_driver_sql(f"PRAGMA table_info({table})").fetchall()
    return {row[1] for row in rows}


def head(history: str) -> str:
    """The newest revision of `history`."""
    revision = _scripts().get_revision(f"{history}@head")
    assert revision is not None
    return str(revision.revision)


def _upgrade(connection: Any, histories: list[str], schema: str | None) -> None:
    config = _config(connection, schema)
    for history in histories:
        command.upgrade(config, f"{history}@head")


def _current(connection: Any, schema: str | None) -> set[str]:
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return set(context.get_current_heads())


# SQLite ------------------------------------------------------------------------------------


def _sqlite_engine(path: Path) -> sqlalchemy.Engine:
    engine = sqlalchemy.create_engine(f"sqlite:///{path}", poolclass=NullPool,
                                      connect_args={"timeout": 30})

    # pysqlite would run DDL outside any transaction: take the write lock at BEGIN instead,
    # so that an upgrade is all or nothing, and concurrent openers wait for it.
    @sqlalchemy.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upgrade_sqlite(path: Path, histories: list[str]) -> None:
    """Bring the tables of `histories` in the SQLite file at `path` to the code's revisions."""
    with file_lock(path):
        engine = _sqlite_engine(path)
        try:
            with engine.begin() as connection:
                if _current(connection, None) >= {head(history) for history in histories}:
                    return
                _upgrade(connection, histories, None)
        finally:
            engine.dispose()


# PostgreSQL --------------------------------------------------------------------------------

# One advisory lock for every migration of one database: two hosts running `estafeta
# migrate` together take turns.
_MIGRATION_LOCK = 0x65737461  # "esta"


def _postgres_engine(url: str, schema: str) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(
        sqlalchemy_url(url), poolclass=NullPool,
        connect_args={"connect_timeout": postgres.CONNECT_TIMEOUT,
                      # No statement timeout (an index on a big table takes longer), but a lock
                      # wait is bounded: an ALTER queued behind the app would stall it.
                      "options": f"-c search_path={schema} -c lock_timeout=10s"})


def upgrade_postgres(url: str, service: str) -> None:
    """Bring `service`'s schema in the database at `url` to the code's revisions."""
    schema = postgres.schema_name(service)
    engine = _postgres_engine(url, schema)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
            connection.commit()
            try:
                connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                connection.commit()
                # Celery's result tables' schema, whichever service is migrated first.
                connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{RESULTS_SCHEMA}"')
                connection.commit()
                _upgrade(connection, histories_of(service), schema)
                connection.commit()
            finally:
                # A connection that died has released the lock with it.
                with suppress(sqlalchemy.exc.DBAPIError):
                    connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")
                    connection.commit()
    finally:
        engine.dispose()


def pending(settings: Settings, service: str) -> list[str]:
    """The histories of `service`'s database that are behind the code (empty: up to date)."""
    wanted = {history: head(history) for history in histories_of(service)}
    if settings.uses_postgres:
        schema = postgres.schema_name(service)
        engine = _postgres_engine(settings.database_url, schema)
    else:
        path = sqlite_path(settings, service)
        if not path.exists():
            return []  # created, migrated, on first open
        engine = _sqlite_engine(path)
        schema = None
    try:
        with engine.connect() as connection:
            current = _current(connection, schema)
    finally:
        engine.dispose()
    return [history for history, head in wanted.items() if head not in current]


def migrate(settings: Settings, services: list[str] | None = None) -> list[str]:
    """Upgrade every database (or those of `services`); return what was checked."""
    names = services or databases()
    for service in names:
        if settings.uses_postgres:
            upgrade_postgres(settings.database_url, service)
        else:
            upgrade_sqlite(sqlite_path(settings, service), histories_of(service))
    if settings.uses_postgres and not settings.result_backend:
        # Celery's own tables (in the schema the gateway's migration made), created by Celery's
        # own models now rather than on a first result.
        celery_client(settings).backend._create_tables()
    return names


class DatabaseNotReady(RuntimeError):
    """The database cannot serve this process: unreachable, or its schema behind the code.
    The message is one line, for an operator."""


def unreachable(settings: Settings, exc: BaseException) -> DatabaseNotReady:
    """The one-line error of a database that could not be reached."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else "no answer"
    return DatabaseNotReady(
        f"estafeta: cannot reach the database at {without_password(settings.database_url)} "
        f"({type(exc).__name__}: {reason}); start PostgreSQL (or `docker compose up postgres`) "
        "or fix DATABASE_URL.")


def require_database(settings: Settings, services: list[str]) -> None:
    """Raise `DatabaseNotReady` unless PostgreSQL answers and the schemas of `services` are
    up to date (nothing to check on SQLite: its files migrate themselves when opened)."""
    if not settings.uses_postgres:
        return
    try:
        sqlalchemy_url(settings.database_url)
    except ValueError as exc:
        raise DatabaseNotReady(f"estafeta: {exc}.") from None
    try:
        behind = {service: pending(settings, service) for service in services}
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        raise unreachable(settings, exc.orig or exc) from exc
    late = [f"{service} ({', '.join(histories)})" for service, histories in behind.items()
            if histories]
    if late:
        raise DatabaseNotReady(
            f"estafeta: the database at {without_password(settings.database_url)} is behind "
            f"the code for {'; '.join(late)}; run `estafeta migrate` first.")
