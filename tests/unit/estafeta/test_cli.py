"""`estafeta run` and `estafeta demo`: the layered environment and the start-up refusal."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from estafeta import cli
from estafeta.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
LOCAL = ROOT / "local.env"


class Started(Exception):
    """Raised by the stand-in for `os.execve`: what honcho would have been started with."""

    def __init__(self, path: str, argv: list[str], env: dict[str, str]) -> None:
        super().__init__(path)
        self.path, self.argv, self.env = path, argv, env


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A project directory with the real local.env; broker check and exec recorded."""
    shutil.copy(LOCAL, tmp_path / "local.env")
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_API_URL", "API_TOKENS",
                 "PORT"):
        monkeypatch.delenv(name, raising=False)
    calls: dict[str, Any] = {"broker": []}

    def check_broker(settings: Settings) -> int:
        calls["broker"].append(settings)
        return 0

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        raise Started(path, argv, env)

    monkeypatch.setattr(cli, "check_broker", check_broker)
    monkeypatch.setattr(os, "execve", execve)
    calls["dir"] = tmp_path
    return calls


def test_run_hands_honcho_the_layered_environment(project: dict[str, Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (project["dir"] / ".env").write_text("SLACK_BOT_TOKEN=xoxb-dotenv\nAPI_TOKENS=dotenv\n"
                                         "PORT=8123\n")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "operator-secret")
    monkeypatch.setenv("API_TOKENS", "operator-token")
    with pytest.raises(Started) as started:
        cli.main(["run"])
    env = started.value.env
    assert env["SLACK_SIGNING_SECRET"] == "operator-secret"  # environment over everything
    assert env["API_TOKENS"] == "operator-token"
    assert env["SLACK_BOT_TOKEN"] == "xoxb-dotenv"  # .env over local.env
    assert env["SLACK_API_URL"] == "http://127.0.0.1:8089/api/"  # local.env fills the rest
    argv = started.value.argv
    # honcho must read no env file of its own: it would override the environment again.
    assert argv[1:] == ["start", "-f", "Procfile", "-e", os.devnull, "--port", "8123"]
    assert Path(started.value.path).name == "honcho"
    assert len(project["broker"]) == 1


def test_run_refuses_simulator_secrets_for_real_slack(project: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SLACK_API_URL", "https://slack.com/api/")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("estafeta: refusing to start")
    assert project["broker"] == []  # refused before anything else happens


def test_run_refuses_an_empty_dotenv_secret_for_real_slack(
        project: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (project["dir"] / ".env").write_text("SLACK_API_URL=https://slack.com/api/\n"
                                         "SLACK_SIGNING_SECRET=\nSLACK_BOT_TOKEN=xoxb-real\n"
                                         "API_TOKENS=real:T1\n")
    assert cli.main(["run"]) == 2
    assert "SLACK_SIGNING_SECRET is empty" in capsys.readouterr().err


def test_run_stops_when_the_broker_is_unreachable(project: dict[str, Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "check_broker", lambda settings: 1)
    assert cli.main(["run"]) == 1  # and honcho never started (no Started raised)


def test_demo_uses_the_same_layering(project: dict[str, Any],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import slacksim.demo

    seen: list[Settings] = []
    monkeypatch.setattr(slacksim.demo, "run_demo",
                        lambda settings, gateway: seen.append(settings) or 0)
    (project["dir"] / ".env").write_text("SLACK_BOT_TOKEN=xoxb-dotenv\n")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "operator-secret")
    assert cli.main(["demo"]) == 0
    assert seen[0].slack_signing_secret == "operator-secret"
    assert seen[0].slack_bot_token == "xoxb-dotenv"
    assert seen[0].slack_api_url == "http://127.0.0.1:8089/api/"


def test_operator_commands_ignore_the_simulator_defaults(project: dict[str, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.main(["check-broker"]) == 0
    settings = project["broker"][0]
    assert settings.slack_signing_secret == ""  # local.env is for `run` and `demo` only
    assert settings.api_tokens == {}
