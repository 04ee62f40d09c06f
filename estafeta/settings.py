"""Runtime configuration, read once from the environment (and a `.env` file when present).

One layering rule everywhere (`make run`, `make demo`, every process): the process environment
wins over `.env`, which wins over the local simulator defaults of `local.env` (only `make run`
and `make demo` read those, and only for variables still unset). In a file, `KEY=` sets KEY to
the empty string for that layer (it hides the layers below); a bare `KEY` line sets nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

DEFAULT_BROKER_URL = "amqp://guest:guest@localhost:5672//"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DOTENV_FILE = Path(".env")  # the operator's file, in the directory a process starts in
LOCAL_ENV_FILE = Path("local.env")  # published simulator defaults for `make run`/`make demo`
# Variables whose local.env values are published (README, repository) and so never secret.
SECRET_VARIABLES = ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "API_TOKENS")


def read_env_file(path: Path) -> dict[str, str]:
    """The variables a dotenv file sets: `KEY=` sets KEY to empty, a bare `KEY` sets nothing."""
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def layered_environ(environ: Mapping[str, str] | None = None, *,
                    dotenv: Path | None = DOTENV_FILE,
                    defaults: Path | None = None) -> dict[str, str]:
    """The environment a process runs with: `environ` > `dotenv` > `defaults` (unset only)."""
    layers: list[Mapping[str, str]] = [
        read_env_file(defaults) if defaults is not None else {},
        read_env_file(dotenv) if dotenv is not None else {},
        os.environ if environ is None else environ,
    ]
    merged: dict[str, str] = {}
    for layer in layers:  # lowest first: each higher layer overwrites what it sets
        merged.update(layer)
    return merged


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def own_team(token: str) -> str:
    """The team of a token configured without one: its own, stable, named by a hash of it."""
    # A hash, never the token: team ids appear in logs, task results and data files.
    return "api-" + hashlib.sha256(token.encode()).hexdigest()[:16]


def parse_api_tokens(value: str) -> dict[str, str]:
    """Parse `API_TOKENS`: `token` or `token:team`, comma-separated; a token maps to its team."""
    tokens: dict[str, str] = {}
    for item in _split(value):
        token, _, team = item.partition(":")
        token, team = token.strip(), team.strip()
        if token:  # an empty token must never match an empty bearer credential
            tokens[token] = team or own_team(token)
    return tokens


def parse_slash_commands(value: str) -> dict[str, str]:
    """Parse `SLASH_COMMANDS`: `/name=service` pairs, comma-separated."""
    commands: dict[str, str] = {}
    for item in _split(value):
        name, _, service = item.partition("=")
        commands["/" + name.strip().lstrip("/")] = service.strip()
    return commands


def sqlalchemy_url(database_url: str) -> str:
    """`DATABASE_URL` (`postgres://` or `postgresql://`, as PaaS add-ons give it) in the form
    SQLAlchemy needs to reach it through psycopg 3."""
    scheme, sep, rest = database_url.partition("://")
    # Only the schemes libpq reads too: the stores hand the same URL to the driver.
    if not sep or scheme not in {"postgres", "postgresql"}:
        raise ValueError("DATABASE_URL must start with postgresql:// (or postgres://)")
    return f"postgresql+psycopg://{rest}"


@dataclass(frozen=True)
class Settings:
    """Every setting of every process; see the README's configuration table."""

    broker_url: str = DEFAULT_BROKER_URL
    result_backend: str = ""
    # Empty: every store is a SQLite file under `data_dir`. `postgresql://…`: every store of
    # every process, and the task results, live in that database (many hosts, one system).
    database_url: str = field(default="", repr=False)  # its password: never in a repr
    database_pool_size: int = 4  # connections per process and service, at most
    gateway_threads: int = 16  # request threads per gateway process (gunicorn reads it too)
    slack_signing_secret: str = field(default="", repr=False)
    slack_bot_token: str = field(default="", repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    api_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Empty: each service's own declared slash command (`workers/<svc>/commands.py`).
    slash_commands: Mapping[str, str] = field(default_factory=dict)
    port: int = 8000
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    worker_concurrency: int = 2
    reminder_scan_seconds: float = 1.0  # how often beat looks for due reminders
    reminder_late_seconds: float = 60.0  # a reminder posted later than this says it is late

    @property
    def uses_postgres(self) -> bool:
        """Whether the stores live in PostgreSQL (`DATABASE_URL` is set) rather than SQLite."""
        return bool(self.database_url)

    @property
    def effective_result_backend(self) -> str:
        """The result backend: `RESULT_BACKEND`, else the database of `DATABASE_URL`, else a
        SQLite file under `DATA_DIR`."""
        if self.result_backend:
            return self.result_backend
        if self.database_url:
            return "db+" + sqlalchemy_url(self.database_url)
        return f"db+sqlite:///{self.data_dir.resolve() / 'results.sqlite'}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default: the process environment over `.env`)."""
        env = layered_environ() if environ is None else environ
        return cls(
            broker_url=env.get("BROKER_URL", DEFAULT_BROKER_URL),
            result_backend=env.get("RESULT_BACKEND", ""),
            database_url=env.get("DATABASE_URL", ""),
            database_pool_size=int(env.get("DATABASE_POOL_SIZE", "4")),
            gateway_threads=int(env.get("GATEWAY_THREADS", "16")),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_api_url=env.get("SLACK_API_URL", DEFAULT_SLACK_API_URL),
            api_tokens=parse_api_tokens(env.get("API_TOKENS", "")),
            slash_commands=parse_slash_commands(env.get("SLASH_COMMANDS", "")),
            port=int(env.get("PORT", "8000")),
            data_dir=Path(env.get("DATA_DIR", "var")),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            worker_concurrency=int(env.get("WORKER_CONCURRENCY", "2")),
            reminder_scan_seconds=float(env.get("REMINDER_SCAN_SECONDS", "1")),
            reminder_late_seconds=float(env.get("REMINDER_LATE_SECONDS", "60")),
        )


# What local.env publishes, known without the file: the container image and a PaaS slug
# ship no local.env, and their processes refuse these values too (a test keeps both equal).
SIMULATOR_SECRETS = frozenset({"local-simulator-signing-secret", "xoxb-fake-token",
                               "local-dev-token"})


def published_simulator_values(path: Path = LOCAL_ENV_FILE) -> frozenset[str]:
    """The secrets and tokens `local.env` publishes for the simulator (never real ones)."""
    values = read_env_file(path)
    published = set(SIMULATOR_SECRETS)
    published |= {values.get(name, "") for name in SECRET_VARIABLES if name != "API_TOKENS"}
    published |= set(parse_api_tokens(values.get("API_TOKENS", "")))
    return frozenset(value for value in published if value)


def is_loopback_url(url: str) -> bool:
    """True when `url` names this machine (the simulator, tests), not a real Slack."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def real_slack_problem(settings: Settings, published: frozenset[str],
                       needs_signing_secret: bool = True) -> str | None:
    """Why `settings` must not start against a real Slack, in one line; None when they may.

    `needs_signing_secret`: False for a worker, which verifies no request.
    """
    if is_loopback_url(settings.slack_api_url):
        return None
    weak = []
    if not settings.slack_signing_secret and needs_signing_secret:
        weak.append("SLACK_SIGNING_SECRET is empty")
    elif settings.slack_signing_secret in published:
        weak.append("SLACK_SIGNING_SECRET is the simulator's")
    if settings.slack_bot_token in published:
        weak.append("SLACK_BOT_TOKEN is the simulator's")
    if any(token in published for token in settings.api_tokens):
        weak.append("API_TOKENS has the simulator's token")
    if not weak:
        return None
    # Names the variables, never their values.
    return (f"estafeta: refusing to start: SLACK_API_URL points at a real Slack "
            f"({settings.slack_api_url}) but {', '.join(weak)} (published in local.env); "
            "set real values in the environment or .env.")


def refuse_published_secrets(settings: Settings, needs_signing_secret: bool = True) -> None:
    """Raise `RuntimeError` (one line) if `settings` would run a real Slack on published values.

    `make run` says so before starting anything; the gateway and every worker check again at
    start-up, for the deployments that never go through `make run` (compose, a PaaS).
    """
    problem = real_slack_problem(settings, published_simulator_values(), needs_signing_secret)
    if problem:
        raise RuntimeError(problem)
