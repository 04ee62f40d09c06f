"""The compose file and the package keep their promises: every app container on PostgreSQL
after the migration ran, no shared volume but beat's, and every migration shipped."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
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


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict((name.strip(), command.strip()) for name, command in
                (line.split(":", 1) for line in lines if ":" in line))


def test_the_socket_mode_container_runs_only_when_its_profile_is_asked_for() -> None:
    compose = _compose()
    socket = compose["services"]["socket"]
    assert socket["command"] == ["estafeta", "socket"]
    assert socket["profiles"] == ["socket"]
    assert socket["image"] == compose["services"]["gateway"]["image"]
    assert socket["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert socket["environment"]["SLACK_APP_TOKEN"] == "${SLACK_APP_TOKEN:-}"
    assert "ports" not in socket  # it dials out: nothing to publish
    # Every other service runs without a profile, as before.
    assert [name for name, s in compose["services"].items() if s.get("profiles")] == ["socket"]


def test_the_procfile_runs_the_socket_mode_process_with_the_cli() -> None:
    assert _procfile()["socket"] == "estafeta socket"


def test_make_run_starts_the_socket_mode_process_only_with_an_app_token(
        tmp_path: Path) -> None:
    from estafeta.cli import procfile_processes

    procfile = tmp_path / "Procfile"
    procfile.write_text("# processes\nweb: gunicorn app\nworker: celery worker\n"
                        "socket: estafeta socket\n")
    assert procfile_processes(str(procfile), socket_mode=False) == ["web", "worker"]
    assert procfile_processes(str(procfile), socket_mode=True) == []  # all of them
    procfile.write_text("web: gunicorn app\n")
    assert procfile_processes(str(procfile), socket_mode=False) == []
    assert procfile_processes(str(tmp_path / "missing"), socket_mode=False) == []
    real = procfile_processes(str(ROOT / "Procfile"), socket_mode=False)
    assert "socket" not in real and {"web", "beat"} <= set(real)


class _Started(Exception):
    def __init__(self, argv: list[str]) -> None:
        super().__init__("honcho")
        self.argv = argv


@pytest.mark.parametrize(("token", "expected"), [
    ("", "without"), ("xapp-1-A1-real", "with"), ("xoxb-not-an-app-token", "refused")])
def test_estafeta_run_names_the_socket_process_only_with_an_app_token(
        token: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from estafeta import cli

    shutil.copy(ROOT / "Procfile", tmp_path / "Procfile")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "check_broker", lambda settings: 0)
    monkeypatch.setattr(cli, "migrate_databases", lambda settings: 0)

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        raise _Started(argv)

    monkeypatch.setattr(os, "execve", execve)
    env = {"SLACK_API_URL": "http://127.0.0.1:8089/api/", "SLACK_APP_TOKEN": token,
           "DATA_DIR": str(tmp_path)}
    if expected == "refused":
        assert cli.run(env) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "xapp-" in err and token not in err
        return
    with pytest.raises(_Started) as started:
        cli.run(env)
    named = started.value.argv[started.value.argv.index("--port") + 2:]
    if expected == "with":
        assert named == []  # every Procfile process, the socket one included
    else:
        assert "socket" not in named and {"web", "worker-search", "beat"} <= set(named)
