"""Stores sit behind Protocols; `open_stores` is the one place that knows about SQLite files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import routing
from estafeta.settings import Settings
from estafeta.storage import SqliteFile
from estafeta.stores import open_stores

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "routing.py", *(p for package in ("estafeta", "gateway", "workers", "slacksim")
                                 for p in (ROOT / package).rglob("*.py"))]
# Only these may name the SQLite engine: the implementations, the shared helpers and the
# migrations (which run on both engines).
ALLOWED = re.compile(r"(^|/)sqlite_[a-z_]+\.py$|^estafeta/(storage|migrate)\.py$")
ENGINE = re.compile(r"\bsqlite3\b|\bSqliteFile\b|\bestafeta\.storage\b")


def test_no_module_but_the_sqlite_ones_names_the_engine() -> None:
    offenders = []
    for path in SOURCES:
        relative = path.relative_to(ROOT).as_posix()
        if ALLOWED.search(relative):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ENGINE.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_the_engine_check_sees_a_store_outside_its_module() -> None:
    assert ENGINE.search("from estafeta.storage import SqliteFile")
    assert not ALLOWED.search("workers/search/handlers.py")
    assert ALLOWED.search("workers/search/sqlite_store.py")


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


def test_search_state_remembers_queries_domains_and_names(tmp_path: Path) -> None:
    stores = open_stores(Settings(data_dir=tmp_path), "search")
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
