"""The compose file and the package keep their promises: every app container on PostgreSQL
after the migration ran, no shared volume but beat's, and every migration shipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

import routing
from estafeta import migrate
from estafeta.settings import SECRET_VARIABLES, Settings

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


def test_make_run_never_starts_the_release_phase(tmp_path: Path) -> None:
    from estafeta.cli import procfile_processes

    procfile = tmp_path / "Procfile"
    procfile.write_text("release: estafeta migrate\nweb: gunicorn app\nsocket: estafeta socket\n")
    assert procfile_processes(str(procfile), socket_mode=True) == ["web", "socket"]
    assert procfile_processes(str(procfile), socket_mode=False) == ["web"]
    assert _procfile()["release"] == "estafeta migrate"
    real = procfile_processes(str(ROOT / "Procfile"), socket_mode=True)
    assert "release" not in real and {"web", "beat", "socket"} <= set(real)


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
        # Every Procfile process, the socket one included, but the release phase.
        assert "release" not in named and {"socket", "web", "beat"} <= set(named)
    else:
        assert "socket" not in named and {"web", "worker-search", "beat"} <= set(named)


def _app_json() -> dict[str, Any]:
    return json.loads((ROOT / "app.json").read_text())


def test_the_paas_formation_runs_every_procfile_process_but_the_release_phase() -> None:
    formation = _app_json()["formation"]
    assert set(formation) == set(_procfile()) - {"release"}
    assert formation["beat"]["quantity"] == 1  # exactly one: never scale it
    assert formation["socket"]["quantity"] == 0  # only with SLACK_APP_TOKEN
    assert all(formation[name]["quantity"] == 1 for name in formation
               if name == "web" or name.startswith("worker-"))
    assert {"web", *(f"worker-{name}" for name in routing.SERVICES)} <= set(formation)


def test_the_paas_add_ons_land_in_the_variables_settings_read() -> None:
    app = _app_json()
    assert "repository" not in app
    assert app["buildpacks"] == [{"url": "heroku/python"}]
    plans = {addon["plan"].split(":")[0]: addon for addon in app["addons"]}
    # An attachment named BROKER gives its URL as BROKER_URL; Postgres' default is DATABASE.
    assert plans["cloudamqp"]["as"] == "BROKER"
    assert plans["heroku-postgresql"].get("as", "DATABASE") == "DATABASE"
    settings = Settings.from_env({"BROKER_URL": "amqps://u:p@host.cloudamqp.com/vhost",
                                  "DATABASE_URL": "postgres://u:p@host:5432/db"})
    assert settings.broker_url.startswith("amqps://")
    assert settings.effective_result_backend == "db+postgresql+psycopg://u:p@host:5432/db"


class _Recording(dict[str, str]):
    """An environment that remembers every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def _documented_variables() -> set[str]:
    """The variables of the README's configuration table."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration\n"):readme.index("## Reliability\n")]
    return {name for row in table.splitlines() if row.startswith("| `")
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_paas_variable_is_one_estafeta_reads_or_documents() -> None:
    env = _app_json()["env"]
    recording = _Recording()
    Settings.from_env(recording)
    known = recording.asked | _documented_variables()
    assert {"LOG_FORMAT", "SLACK_SIGNING_SECRET", "WEB_CONCURRENCY"} <= known
    assert set(env) <= known, set(env) - known
    assert env["SLACK_SIGNING_SECRET"]["required"] is True
    assert env["LOG_FORMAT"]["value"] == "json"
    # A PaaS's generated secret is hex, not the url-safe base64 of 32 bytes Fernet needs.
    assert "generator" not in env["SLACK_TOKEN_KEY"]
    assert all(not spec.get("value") for name, spec in env.items()
               if name in SECRET_VARIABLES)  # no secret ships with a value
