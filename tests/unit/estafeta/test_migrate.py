"""Migrations: both engines reach the same revisions, twice is harmless, files from before
migrations are adopted, and a database that is down or behind is refused in one line."""

from __future__ import annotations

import runpy
import socket
import sqlite3
from pathlib import Path

import psycopg
import pytest

import routing
from estafeta import migrate
from estafeta.settings import Settings
from estafeta.stores import open_stores


def _revision_files() -> list[Path]:
    folders = {migrate.history_folder(h) for h in ("ledger", "gateway", *routing.SERVICES)}
    return sorted(p for folder in folders if folder.is_dir() for p in folder.glob("*.py"))


def test_every_history_has_one_head_and_every_database_its_histories() -> None:
    assert migrate.histories_of("gateway") == ["gateway"]
    for service in routing.SERVICES:
        assert migrate.histories_of(service) == ["ledger", service]
        assert migrate.head(service).startswith(f"{service}_")
    assert migrate.histories_of("weather") == ["ledger"]  # a service with no tables of its own


@pytest.mark.parametrize("path", _revision_files(), ids=lambda p: p.name)
def test_every_revision_writes_sql_for_both_engines(path: Path) -> None:
    namespace = runpy.run_path(str(path))
    assert str(namespace["SQLITE"]).strip(), f"{path.name} has no SQLite script"
    assert str(namespace["POSTGRESQL"]).strip(), f"{path.name} has no PostgreSQL script"


def test_sqlite_migrates_twice_harmlessly(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert migrate.migrate(settings) == migrate.databases()
    migrate.migrate(settings)
    for service in migrate.databases():
        assert migrate.pending(settings, service) == []
        versions = sqlite3.connect(tmp_path / f"{service}.sqlite").execute(
            "SELECT version_num FROM alembic_version").fetchall()
        assert sorted(v for (v,) in versions) == sorted(
            migrate.head(h) for h in migrate.histories_of(service))


def test_an_agenda_file_from_before_migrations_is_adopted_and_completed(tmp_path: Path) -> None:
    # What the first release wrote: the events table without the paused_* columns, and no
    # alembic_version table at all.
    path = tmp_path / "agenda.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE agenda_events (id INTEGER PRIMARY KEY AUTOINCREMENT, team TEXT NOT NULL,"
            " channel TEXT NOT NULL, owner TEXT NOT NULL, title TEXT NOT NULL,"
            " folded TEXT NOT NULL, start_local TEXT NOT NULL, tz TEXT NOT NULL,"
            " start_at REAL NOT NULL, rrule TEXT, time_given INTEGER NOT NULL,"
            " lang TEXT NOT NULL, notify TEXT NOT NULL, public INTEGER NOT NULL, uid TEXT,"
            " created_at REAL NOT NULL, cancelled_at REAL, due_at REAL, ready_at REAL,"
            " delivered INTEGER NOT NULL DEFAULT 0)")
        old.execute("INSERT INTO agenda_events (team, channel, owner, title, folded,"
                    " start_local, tz, start_at, time_given, lang, notify, public, created_at)"
                    " VALUES ('T1', 'C1', 'U1', 'Retro', 'retro', '2030-01-01T10:00', 'UTC',"
                    " 1893492000, 1, 'en', 'C1', 1, 0)")
    stores = open_stores(Settings(data_dir=tmp_path), "agenda")
    kept = stores.events.get("T1", 1)
    assert kept is not None and kept.title == "Retro"
    columns = {row[1] for row in
               sqlite3.connect(path).execute("PRAGMA table_info(agenda_events)")}
    assert {"paused_at", "paused_reason"} <= columns
    # Each store migrates the tables it opens: the ledger's come with its first use.
    assert migrate.pending(Settings(data_dir=tmp_path), "agenda") == ["ledger"]
    assert stores.ledger.state("nothing") is None
    assert migrate.pending(Settings(data_dir=tmp_path), "agenda") == []


def test_postgresql_migrates_twice_harmlessly(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url)  # the session's database, migrated once
    migrate.migrate(settings)
    for service in migrate.databases():
        assert migrate.pending(settings, service) == []
    with psycopg.connect(postgres_url) as connection:
        schemas = {row[0] for row in connection.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%'"
            " AND nspname NOT IN ('public', 'information_schema')")}
        results = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'results'").fetchone()
    assert schemas == {*migrate.databases(), "results"}
    assert results is not None and results[0] == 2  # Celery's task and group tables


def test_a_database_behind_the_code_is_refused_until_migrated(empty_database: str) -> None:
    settings = Settings(database_url=empty_database)
    with pytest.raises(migrate.DatabaseNotReady, match=r"run `estafeta migrate` first"):
        migrate.require_database(settings, ["gateway"])
    migrate.migrate(settings, ["gateway"])
    migrate.require_database(settings, ["gateway"])
    with pytest.raises(migrate.DatabaseNotReady, match=r"search \(ledger, search\)"):
        migrate.require_database(settings, ["search"])


def test_a_database_that_is_down_is_refused_in_one_line_without_its_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(database_url=f"postgresql://estafeta:hunter2@127.0.0.1:{port}/estafeta")
    with pytest.raises(migrate.DatabaseNotReady) as refused:
        migrate.require_database(settings, ["gateway"])
    message = str(refused.value)
    assert "\n" not in message and "hunter2" not in message
    assert f"postgresql://estafeta:***@127.0.0.1:{port}/estafeta" in message


def test_sqlite_needs_no_check() -> None:
    migrate.require_database(Settings(data_dir=Path("/nonexistent")), migrate.databases())
