import os
from pathlib import Path

import pytest

from estafeta.settings import (
    SECRET_VARIABLES,
    SIMULATOR_SECRETS,
    Settings,
    is_loopback_url,
    layered_environ,
    oauth_problem,
    own_team,
    parse_api_tokens,
    parse_slash_commands,
    published_simulator_values,
    read_env_file,
    real_slack_problem,
    refuse_published_secrets,
)


def test_defaults_need_nothing_but_rabbitmq() -> None:
    settings = Settings.from_env({})
    assert settings.broker_url == "amqp://guest:guest@localhost:5672//"
    assert settings.effective_result_backend.startswith("db+sqlite:///")
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.port == 8000
    assert settings.data_dir == Path("var")


def test_api_tokens_map_to_teams() -> None:
    assert parse_api_tokens("a, b:T2,,") == {"a": own_team("a"), "b": "T2"}


def test_slash_command_names_are_configurable() -> None:
    assert parse_slash_commands("/buscar=search, mood=sentiment") == {
        "/buscar": "search", "/mood": "sentiment"}


def test_result_backend_can_be_overridden() -> None:
    settings = Settings.from_env({"RESULT_BACKEND": "redis://localhost/1"})
    assert settings.effective_result_backend == "redis://localhost/1"


# --- API tokens without a team ---------------------------------------------------------------

def test_tokens_without_a_team_get_teams_of_their_own() -> None:
    teams = parse_api_tokens("alpha, beta, gamma:T3, delta:")
    assert teams["gamma"] == "T3"
    assert len({teams["alpha"], teams["beta"], teams["delta"], "T3"}) == 4
    assert teams["alpha"] == own_team("alpha") == parse_api_tokens("alpha")["alpha"]  # stable
    for token in ("alpha", "beta", "delta"):
        assert teams[token].startswith("api-")
        assert token not in teams[token]  # the token itself never becomes a visible id


def test_empty_tokens_are_ignored() -> None:
    assert parse_api_tokens(":T1, ,x : T2 ") == {"x": "T2"}


# --- layering: environment > .env > local.env -------------------------------------------------

ROOT = Path(__file__).resolve().parents[3]


def _files(tmp_path: Path, dotenv: str, defaults: str) -> tuple[Path, Path]:
    (tmp_path / ".env").write_text(dotenv)
    (tmp_path / "local.env").write_text(defaults)
    return tmp_path / ".env", tmp_path / "local.env"


def test_environment_wins_over_dotenv_which_wins_over_defaults(tmp_path: Path) -> None:
    dotenv, defaults = _files(tmp_path, "A=dotenv\nB=dotenv\n",
                              "A=default\nB=default\nC=default\n")
    merged = layered_environ({"A": "process"}, dotenv=dotenv, defaults=defaults)
    assert (merged["A"], merged["B"], merged["C"]) == ("process", "dotenv", "default")


def test_an_empty_environment_value_still_wins(tmp_path: Path) -> None:
    dotenv, defaults = _files(tmp_path, "A=dotenv\n", "A=default\n")
    assert layered_environ({"A": ""}, dotenv=dotenv, defaults=defaults)["A"] == ""


def test_empty_key_in_dotenv_is_set_to_empty_and_bare_key_sets_nothing(tmp_path: Path) -> None:
    dotenv, defaults = _files(tmp_path, "SLACK_BOT_TOKEN=\nAPI_TOKENS\n",
                              "SLACK_BOT_TOKEN=xoxb-fake\nAPI_TOKENS=local\n")
    merged = layered_environ({}, dotenv=dotenv, defaults=defaults)
    assert merged["SLACK_BOT_TOKEN"] == ""  # hides the simulator default
    assert merged["API_TOKENS"] == "local"  # a bare name is not a value


def test_missing_files_add_nothing(tmp_path: Path) -> None:
    assert layered_environ({"A": "1"}, dotenv=tmp_path / "none",
                           defaults=tmp_path / "none") == {"A": "1"}


def test_from_env_reads_dotenv_in_the_working_directory_under_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _files(tmp_path, "SLACK_SIGNING_SECRET=from-dotenv\nSLACK_BOT_TOKEN=xoxb-dotenv\n",
           "SLACK_SIGNING_SECRET=local\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "from-environment")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    settings = Settings.from_env()
    assert settings.slack_signing_secret == "from-environment"
    assert settings.slack_bot_token == "xoxb-dotenv"
    assert "SLACK_BOT_TOKEN" not in os.environ  # read for these settings, never exported


# --- refusing simulator secrets against a real Slack ------------------------------------------

PUBLISHED = published_simulator_values(ROOT / "local.env")
SIM = read_env_file(ROOT / "local.env")
REAL = {"SLACK_API_URL": "https://slack.com/api/", "SLACK_SIGNING_SECRET": "real-secret",
        "SLACK_BOT_TOKEN": "xoxb-real", "API_TOKENS": "real-token:T1"}


def test_published_values_are_local_envs_secrets_and_tokens() -> None:
    expected = {SIM["SLACK_SIGNING_SECRET"], SIM["SLACK_BOT_TOKEN"],
                *parse_api_tokens(SIM["API_TOKENS"])}
    assert expected == PUBLISHED


def test_real_values_against_real_slack_may_start() -> None:
    assert real_slack_problem(Settings.from_env(REAL), PUBLISHED) is None


@pytest.mark.parametrize("name, value, reason", [
    ("SLACK_SIGNING_SECRET", SIM["SLACK_SIGNING_SECRET"], "SLACK_SIGNING_SECRET"),
    ("SLACK_SIGNING_SECRET", "", "SLACK_SIGNING_SECRET is empty"),
    ("SLACK_BOT_TOKEN", SIM["SLACK_BOT_TOKEN"], "SLACK_BOT_TOKEN"),
    ("API_TOKENS", f"real-token:T1,{SIM['API_TOKENS']}", "API_TOKENS"),
    ("SLACK_API_URL", "https://mycorp.example/slack/api/", "SLACK_SIGNING_SECRET"),
])
def test_simulator_secrets_against_real_slack_are_refused(name: str, value: str,
                                                          reason: str) -> None:
    env = {**REAL, name: value}
    if name == "SLACK_API_URL":
        env["SLACK_SIGNING_SECRET"] = SIM["SLACK_SIGNING_SECRET"]
    problem = real_slack_problem(Settings.from_env(env), PUBLISHED)
    assert problem is not None and "\n" not in problem
    assert problem.startswith("estafeta: refusing to start") and reason in problem
    for secret in PUBLISHED | {"real-secret", "xoxb-real", "real-token"}:
        assert secret not in problem  # names the variables, never the values


@pytest.mark.parametrize("url", ["http://127.0.0.1:8089/api/", "http://localhost:9/api/",
                                 "http://[::1]:8089/api/", "http://127.3.4.5/api/"])
def test_simulator_secrets_on_this_machine_are_fine(url: str) -> None:
    assert real_slack_problem(Settings.from_env({**SIM, "SLACK_API_URL": url}), PUBLISHED) is None


def test_loopback_detection() -> None:
    assert not is_loopback_url("https://slack.com/api/")
    assert not is_loopback_url("https://127.0.0.1.nip.io/api/")
    assert not is_loopback_url("not a url")


def test_the_published_values_are_known_without_local_env() -> None:
    # The image and a PaaS ship no local.env: the constant must name exactly what it sets.
    root = Path(__file__).resolve().parents[3]
    assert published_simulator_values(root / "local.env") == SIMULATOR_SECRETS
    assert published_simulator_values(root / "no-such-file") == SIMULATOR_SECRETS


def test_gateway_and_workers_refuse_published_values_against_real_slack() -> None:
    from gateway import create_app
    from routing import SEARCH
    from workers.app import create_worker_app

    published = Settings.from_env({**REAL, "SLACK_BOT_TOKEN": "xoxb-fake-token"})
    with pytest.raises(RuntimeError, match="SLACK_BOT_TOKEN is the simulator's"):
        create_app({"SETTINGS": published})
    with pytest.raises(RuntimeError, match="SLACK_BOT_TOKEN is the simulator's"):
        create_worker_app(SEARCH, published)
    # A worker verifies no Slack request: it needs no signing secret, only no published token.
    worker_only = Settings.from_env({**REAL, "SLACK_SIGNING_SECRET": ""})
    refuse_published_secrets(worker_only, needs_signing_secret=False)
    with pytest.raises(RuntimeError, match="SLACK_SIGNING_SECRET is empty"):
        refuse_published_secrets(worker_only)


# OAuth: installs into many workspaces -------------------------------------------------------

FERNET_KEY = "nPq0uZ0dFJ1uNQjL4bAjRjA0mq0zZ5Hc1r2b5nYt7Yw="  # a valid key, for these tests only
OAUTH = {**REAL, "SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "real-client-secret",
         "SLACK_TOKEN_KEY": FERNET_KEY}


def test_oauth_settings_are_read_and_never_shown() -> None:
    settings = Settings.from_env({**OAUTH, "SLACK_TOKEN_KEY": f" {FERNET_KEY} , other-key ",
                                  "SLACK_REDIRECT_URI": "https://bot.example/slack/oauth_redirect"})
    assert settings.oauth_enabled and oauth_problem(Settings.from_env(OAUTH)) is None
    assert settings.slack_token_keys == (FERNET_KEY, "other-key")
    assert settings.slack_redirect_uri == "https://bot.example/slack/oauth_redirect"
    shown = repr(settings)
    assert "real-client-secret" not in shown and FERNET_KEY not in shown
    assert "1111.2222" in shown  # the client id is public
    assert {"SLACK_CLIENT_SECRET", "SLACK_TOKEN_KEY"} <= set(SECRET_VARIABLES)
    assert not Settings.from_env(REAL).oauth_enabled
    assert oauth_problem(Settings.from_env(REAL)) is None  # one workspace: nothing to check


@pytest.mark.parametrize("unset, reason", [
    (("SLACK_CLIENT_SECRET",), "SLACK_CLIENT_SECRET is empty"),
    (("SLACK_TOKEN_KEY",), "SLACK_TOKEN_KEY is empty"),
    (("SLACK_CLIENT_SECRET", "SLACK_TOKEN_KEY"), "SLACK_CLIENT_SECRET and SLACK_TOKEN_KEY are"),
])
def test_oauth_without_its_secret_or_key_refuses_to_start(unset: tuple[str, ...],
                                                          reason: str) -> None:
    settings = Settings.from_env({**OAUTH, **{name: "" for name in unset}})
    problem = oauth_problem(settings)
    assert problem is not None and "\n" not in problem and reason in problem
    assert problem.startswith("estafeta: refusing to start")
    with pytest.raises(RuntimeError, match="SLACK_CLIENT_ID is set"):
        refuse_published_secrets(settings, needs_signing_secret=False)


def test_a_token_key_that_is_not_fernet_refuses_to_start_without_showing_it() -> None:
    settings = Settings.from_env({**OAUTH, "SLACK_TOKEN_KEY": f"{FERNET_KEY},not-a-fernet-key"})
    problem = oauth_problem(settings)
    assert problem is not None and "key 2 of 2 is not a Fernet key" in problem
    assert "not-a-fernet-key" not in problem and FERNET_KEY not in problem


def test_gateway_and_workers_refuse_an_incomplete_oauth_setup(tmp_path: Path) -> None:
    from gateway import create_app
    from routing import SEARCH
    from workers.app import create_worker_app

    incomplete = Settings.from_env({**OAUTH, "SLACK_TOKEN_KEY": "", "DATA_DIR": str(tmp_path)})
    with pytest.raises(RuntimeError, match="SLACK_TOKEN_KEY is empty"):
        create_app({"SETTINGS": incomplete})
    with pytest.raises(RuntimeError, match="SLACK_TOKEN_KEY is empty"):
        create_worker_app(SEARCH, incomplete)
