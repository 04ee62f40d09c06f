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


def test_run_refuses_an_incomplete_oauth_setup_before_starting_anything(
        project: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    for name in ("SLACK_CLIENT_SECRET", "SLACK_TOKEN_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SLACK_CLIENT_SECRET and SLACK_TOKEN_KEY" in err
    assert project["broker"] == []  # refused before the broker, the migration, honcho


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


def _oauth_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keys: str) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the project's
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("SLACK_TOKEN_KEY", keys)


def test_reencrypt_tokens_moves_every_installation_to_the_first_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store import Installation

    from estafeta.installations import EncryptedInstallationStore
    from estafeta.stores import open_stores

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    records = open_stores(Settings(data_dir=tmp_path / "data"), "installations").records
    for team in ("T0002", "T0003"):
        EncryptedInstallationStore(records, [old]).save(Installation(
            team_id=team, user_id="U1", bot_token=f"xoxb-{team}", bot_id="B1",
            bot_user_id="UBOT"))
    _oauth_env(monkeypatch, tmp_path, f"{new},{old}")
    assert cli.main(["reencrypt-tokens"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "2 installation(s)" in out
    assert old not in out and new not in out
    only_new = EncryptedInstallationStore(records, [new])
    for team in ("T0002", "T0003"):
        bot = only_new.find_bot(enterprise_id=None, team_id=team)
        assert bot is not None and bot.bot_token == f"xoxb-{team}"


def test_reencrypt_tokens_refuses_in_one_line_without_oauth(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_CLIENT_ID", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["reencrypt-tokens"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SLACK_CLIENT_ID is not set" in err
    assert not (tmp_path / "data").exists()  # nothing opened


def test_reencrypt_tokens_refuses_a_bad_key_without_echoing_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _oauth_env(monkeypatch, tmp_path, "not-a-fernet-key")
    assert cli.main(["reencrypt-tokens"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Fernet key" in err
    assert "not-a-fernet-key" not in err


def test_reencrypt_tokens_says_when_a_row_no_key_reads_stays_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store import Installation

    from estafeta.installations import EncryptedInstallationStore
    from estafeta.stores import open_stores

    kept, lost = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    records = open_stores(Settings(data_dir=tmp_path / "data"), "installations").records
    for team, key in (("T0002", kept), ("T0003", lost)):
        EncryptedInstallationStore(records, [key]).save(Installation(
            team_id=team, user_id="U1", bot_token=f"xoxb-{team}", bot_id="B1",
            bot_user_id="UBOT"))
    _oauth_env(monkeypatch, tmp_path, kept)
    assert cli.main(["reencrypt-tokens"]) == 1
    captured = capsys.readouterr()
    assert "1 installation(s)" in captured.out
    assert captured.err.count("\n") == 1 and "1 installation(s) could not be decrypted" in (
        captured.err)
