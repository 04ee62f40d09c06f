"""The compose file and the package keep their promises: every app container on PostgreSQL
after the migration ran, no shared volume but beat's, and every migration shipped."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from estafeta import migrate

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _app_services(compose: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in compose["services"].items() if s.get("build") == "."}


def test_postgres_runs_with_a_health_check_and_a_volume() -> None:
    postgres = _compose()["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])


def test_every_app_container_uses_postgres_once_migrated() -> None:
    compose = _compose()
    apps = _app_services(compose)
    assert {"gateway", "worker-search", "worker-agenda", "worker-sentiment", "beat",
            "migrate"} <= set(apps)
    assert apps["migrate"]["command"] == ["estafeta", "migrate"]
    assert apps["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in apps.items():
        assert "@postgres:5432/" in service["environment"]["DATABASE_URL"], name
        if name != "migrate":
            condition = service["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully", name


def test_only_beat_keeps_a_volume_so_workers_scale_without_one() -> None:
    apps = _app_services(_compose())
    with_volumes = {name for name, service in apps.items() if service.get("volumes")}
    assert with_volumes == {"beat"}


def test_every_migration_folder_is_shipped_in_the_package() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]
    folders = {migrate.history_folder(h) for h in migrate.databases()} | {
        migrate.history_folder(migrate.LEDGER), migrate.ENVIRONMENT}
    for folder in folders:
        package = ".".join(folder.parent.relative_to(ROOT).parts)
        assert "migrations/*.py" in package_data.get(package, []), package
    assert "migrations/*.mako" in package_data["estafeta"]
