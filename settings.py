"""Runtime configuration, read once from the environment (and a `.env` file when present)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_BROKER_URL = "amqp://guest:guest@localhost:5672//"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_SLASH_COMMANDS = "/search=search,/agenda=agenda,/mood=sentiment"


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_api_tokens(value: str) -> dict[str, str]:
    """Parse `API_TOKENS`: `token` or `token:team`, comma-separated; a token maps to its team."""
    tokens: dict[str, str] = {}
    for item in _split(value):
        token, _, team = item.partition(":")
        tokens[token] = team or "api"
    return tokens


def parse_slash_commands(value: str) -> dict[str, str]:
    """Parse `SLASH_COMMANDS`: `/name=service` pairs, comma-separated."""
    commands: dict[str, str] = {}
    for item in _split(value):
        name, _, service = item.partition("=")
        commands["/" + name.strip().lstrip("/")] = service.strip()
    return commands


@dataclass(frozen=True)
class Settings:
    """Every setting of every process; see the README's configuration table."""

    broker_url: str = DEFAULT_BROKER_URL
    result_backend: str = ""
    slack_signing_secret: str = ""
    slack_bot_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    api_tokens: Mapping[str, str] = field(default_factory=dict)
    slash_commands: Mapping[str, str] = field(
        default_factory=lambda: parse_slash_commands(DEFAULT_SLASH_COMMANDS)
    )
    port: int = 8000
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    worker_concurrency: int = 2
    reminder_scan_seconds: float = 1.0  # how often beat looks for due reminders
    reminder_late_seconds: float = 60.0  # a reminder posted later than this says it is late

    @property
    def effective_result_backend(self) -> str:
        """The result backend: `RESULT_BACKEND`, or a SQLite file under `DATA_DIR`."""
        if self.result_backend:
            return self.result_backend
        return f"db+sqlite:///{self.data_dir.resolve() / 'results.sqlite'}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default: the process environment plus `.env`)."""
        if environ is None:
            load_dotenv(override=False)
            environ = os.environ
        env = environ
        return cls(
            broker_url=env.get("BROKER_URL", DEFAULT_BROKER_URL),
            result_backend=env.get("RESULT_BACKEND", ""),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_api_url=env.get("SLACK_API_URL", DEFAULT_SLACK_API_URL),
            api_tokens=parse_api_tokens(env.get("API_TOKENS", "")),
            slash_commands=parse_slash_commands(
                env.get("SLASH_COMMANDS", DEFAULT_SLASH_COMMANDS)
            ),
            port=int(env.get("PORT", "8000")),
            data_dir=Path(env.get("DATA_DIR", "var")),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            worker_concurrency=int(env.get("WORKER_CONCURRENCY", "2")),
            reminder_scan_seconds=float(env.get("REMINDER_SCAN_SECONDS", "1")),
            reminder_late_seconds=float(env.get("REMINDER_LATE_SECONDS", "60")),
        )
