from pathlib import Path

from settings import Settings, parse_api_tokens, parse_slash_commands


def test_defaults_need_nothing_but_rabbitmq() -> None:
    settings = Settings.from_env({})
    assert settings.broker_url == "amqp://guest:guest@localhost:5672//"
    assert settings.effective_result_backend.startswith("db+sqlite:///")
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.port == 8000
    assert settings.data_dir == Path("var")


def test_api_tokens_map_to_teams() -> None:
    assert parse_api_tokens("a, b:T2,,") == {"a": "api", "b": "T2"}


def test_slash_command_names_are_configurable() -> None:
    assert parse_slash_commands("/buscar=search, mood=sentiment") == {
        "/buscar": "search", "/mood": "sentiment"}


def test_result_backend_can_be_overridden() -> None:
    settings = Settings.from_env({"RESULT_BACKEND": "redis://localhost/1"})
    assert settings.effective_result_backend == "redis://localhost/1"
