"""Stores sit behind Protocols; `open_stores` is the one place that knows which engine (SQLite
files, or a PostgreSQL schema per service) keeps them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import routing
from estafeta.postgres import PostgresStore
from estafeta.settings import Settings
from estafeta.storage import SqliteFile
from estafeta.stores import open_stores

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "routing.py", *(p for package in ("estafeta", "gateway", "workers", "slacksim")
                                 for p in (ROOT / package).rglob("*.py"))]
# Only these may name the SQLite engine: the implementations, the shared helpers and the
# migrations (which run on both engines).
ALLOWED = re.compile(r"(^|/)sqlite_[a-z_]+\.py$|^estafeta/(storage|migrate)\.py$")
ENGINE = re.compile(r"\bsqlite3\b|\bSqliteFile\b|\bestafeta\.storage\b"
                    r"|\bfrom estafeta import\b.*\bstorage\b")
# Only these may use psycopg: the implementations, the pool, the migrations, `open_stores`
# (which imports the implementations when asked) and the CLI (which tells an unreachable
# database apart). `StoreUnavailable` lives in `estafeta.stores`: catching it names no engine.
POSTGRES_ALLOWED = re.compile(
    r"(^|/)postgres_[a-z_]+\.py$|^estafeta/(postgres|migrate|stores|cli)\.py$")
POSTGRES_ENGINE = re.compile(
    r"^\s*(from|import) psycopg(_pool)?\b|\bpsycopg(_pool)?\.|\bestafeta\.postgres\b"
    r"|\bfrom estafeta import\b.*\bpostgres\b|\bPostgresStore\b")


def _naming(engine: re.Pattern[str], allowed: re.Pattern[str]) -> list[str]:
    offenders = []
    for path in SOURCES:
        relative = path.relative_to(ROOT).as_posix()
        if allowed.search(relative):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if engine.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    return offenders


def test_no_module_but_the_sqlite_ones_names_the_engine() -> None:
    assert _naming(ENGINE, ALLOWED) == []


def test_no_module_but_the_postgres_ones_names_psycopg() -> None:
    assert _naming(POSTGRES_ENGINE, POSTGRES_ALLOWED) == []


def test_the_engine_check_sees_a_store_outside_its_module() -> None:
    assert ENGINE.search("from estafeta.storage import SqliteFile")
    assert ENGINE.search("from estafeta import grammar, storage")
    assert not ALLOWED.search("workers/search/handlers.py")
    assert ALLOWED.search("workers/search/sqlite_store.py")
    assert not ALLOWED.search("workers/search/postgres_store.py")
    for line in ("import psycopg", "    from psycopg_pool import ConnectionPool",
                 "def _get(db: psycopg.Connection[Any]) -> None:",
                 "except psycopg.OperationalError:", "from estafeta.postgres import Database",
                 "from estafeta import postgres", "class PostgresMoodStore(PostgresStore):"):
        assert POSTGRES_ENGINE.search(line), line
    for line in ("from estafeta.stores import StoreUnavailable, open_stores",
                 "except StoreUnavailable as exc:", '"""Reached through psycopg 3."""',
                 'return f"postgresql+psycopg://{rest}"'):
        assert not POSTGRES_ENGINE.search(line), line
    assert not POSTGRES_ALLOWED.search("workers/sentiment/handlers.py")
    assert not POSTGRES_ALLOWED.search("gateway/errors.py")
    assert not POSTGRES_ALLOWED.search("workers/sentiment/sqlite_scores.py")
    assert POSTGRES_ALLOWED.search("workers/sentiment/postgres_scores.py")
    assert POSTGRES_ALLOWED.search("gateway/postgres_dedup.py")


def _files(stores: object) -> dict[str, Path]:
    return {name: value.path for name, value in vars(stores).items()
            if isinstance(value, SqliteFile)}


@pytest.mark.parametrize("service", sorted(routing.SERVICES))
def test_each_service_keeps_every_store_in_its_own_file(service: str, tmp_path: Path) -> None:
    stores = open_stores(Settings(data_dir=tmp_path), service)
    files = _files(stores)
    assert "ledger" in files and len(files) == len(vars(stores))
    assert set(files.values()) == {tmp_path / f"{service}.sqlite"}


def test_the_gateway_and_a_new_service_get_their_own_files(tmp_path: Path) -> None:
    gateway = open_stores(Settings(data_dir=tmp_path), "gateway")
    assert set(_files(gateway)) == {"accepted_events", "task_owners"}
    assert set(_files(gateway).values()) == {tmp_path / "gateway.sqlite"}
    other = open_stores(Settings(data_dir=tmp_path), "weather")
    assert _files(other) == {"ledger": tmp_path / "weather.sqlite"}


def test_the_installations_are_one_file_every_process_shares(tmp_path: Path) -> None:
    stores = open_stores(Settings(data_dir=tmp_path), "installations")
    assert set(_files(stores)) == {"records", "states"}
    assert set(_files(stores).values()) == {tmp_path / "installations.sqlite"}


def test_the_installations_migrations_are_shipped_in_the_package() -> None:
    from estafeta import migrate

    folder = migrate.history_folder(migrate.INSTALLATIONS)
    assert list(folder.glob("installations_*.py"))
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]
    assert f"{folder.name}/*.py" in package_data["estafeta"]


def _schemas(stores: object) -> dict[str, str]:
    return {name: value.database.schema for name, value in vars(stores).items()
            if isinstance(value, PostgresStore)}


@pytest.mark.parametrize("service", sorted(routing.SERVICES))
def test_with_a_database_each_service_keeps_every_store_in_its_own_schema(
    service: str, postgres_url: str, tmp_path: Path,
) -> None:
    stores = open_stores(Settings(data_dir=tmp_path, database_url=postgres_url), service)
    schemas = _schemas(stores)
    assert "ledger" in schemas and len(schemas) == len(vars(stores))
    assert set(schemas.values()) == {service}
    assert list(tmp_path.iterdir()) == []  # no SQLite file on the side


def test_with_a_database_the_gateway_and_a_new_service_get_their_own_schemas(
    postgres_url: str, tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    gateway = open_stores(settings, "gateway")
    assert set(_schemas(gateway)) == {"accepted_events", "task_owners"}
    assert set(_schemas(gateway).values()) == {"gateway"}
    assert _schemas(open_stores(settings, "weather")) == {"ledger": "weather"}
    installations = open_stores(settings, "installations")
    assert set(_schemas(installations)) == {"records", "states"}
    assert set(_schemas(installations).values()) == {"installations"}


def test_search_state_remembers_queries_domains_and_names(store_settings: Settings) -> None:
    stores = open_stores(store_settings, "search")
    assert stores.state.last_query("T1", "C1", "U1") is None
    stores.state.remember_query("T1", "C1", "U1", "deploy", 2)
    assert stores.state.last_query("T1", "C1", "U1") == ("deploy", 2)
    assert stores.state.last_query("T2", "C1", "U1") is None
    stores.state.remember_team_domain("T1", "acme")
    assert stores.state.team_domain("T1") == "acme" and stores.state.team_domain("T2") is None
    assert stores.names.fetched_at("T1", "user") is None
    stores.names.replace("T1", "user", [("ana", "U2", 1), ("ana", "U1", 0), ("bob", "U3", 0)])
    assert stores.names.ids("T1", "user", "ana") == ["U1"]  # the handle beats a display name
    assert stores.names.fetched_at("T1", "user") is not None
    stores.names.replace("T1", "user", [])
    assert stores.names.ids("T1", "user", "ana") == []
    stores.state.remember_query("T1", "C1", "U1", "rollback", 0)  # the last one is kept
    assert stores.state.last_query("T1", "C1", "U1") == ("rollback", 0)
    stores.state.remember_team_domain("T1", "acme-corp")
    assert stores.state.team_domain("T1") == "acme-corp"
    # Equal ranks: every id, in byte order; another kind or team is apart.
    stores.names.replace("T1", "channel", [("general", "C2", 0), ("general", "C10", 0),
                                           ("general", "Cb", 0), ("general", "CB", 0)])
    assert stores.names.ids("T1", "channel", "general") == ["C10", "C2", "CB", "Cb"]
    assert stores.names.ids("T1", "user", "general") == []
    assert stores.names.ids("T2", "channel", "general") == []


@pytest.mark.parametrize("service", [*sorted(routing.SERVICES), "gateway", "installations"])
def test_a_sqlite_file_another_writer_keeps_locked_is_unavailable_for_every_store(
        service: str, tmp_path: Path) -> None:
    import sqlite3

    from estafeta.stores import StoreUnavailable

    stores = open_stores(Settings(data_dir=tmp_path), service)  # type: ignore[call-overload]
    store = next(iter(vars(stores).values()))
    assert isinstance(store, SqliteFile)
    store.db.execute("PRAGMA busy_timeout=50")  # not 10 s: a fast test
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable), store.transaction():
            pass
        with pytest.raises(StoreUnavailable):
            store.db.execute("CREATE TABLE IF NOT EXISTS probe (x)")  # a write outside one
    finally:
        other.execute("ROLLBACK")
        other.close()
    with store.transaction() as db:  # the connection was left clean
        db.execute("CREATE TABLE probe (x)")
    assert not store.db.in_transaction
