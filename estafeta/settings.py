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

from estafeta.logs import FORMATS

DEFAULT_BROKER_URL = "amqp://guest:guest@localhost:5672//"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DOTENV_FILE = Path(".env")  # the operator's file, in the directory a process starts in
LOCAL_ENV_FILE = Path("local.env")  # published simulator defaults for `make run`/`make demo`
# Variables whose local.env values are published (README, repository) and so never secret;
# none of them is ever shown by a repr or a log line.
SECRET_VARIABLES = ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "API_TOKENS",
                    "SLACK_CLIENT_SECRET", "SLACK_TOKEN_KEY")


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
    # OAuth v2 install into many workspaces: the app's credentials, and the keys that encrypt
    # the installations' tokens at rest (comma-separated Fernet keys; the first encrypts,
    # every one decrypts, so that a key can be rotated).
    slack_client_id: str = ""
    slack_client_secret: str = field(default="", repr=False)
    slack_token_keys: tuple[str, ...] = field(default=(), repr=False)
    # Where Slack sends the browser back after an install (empty: this gateway's own
    # /slack/oauth_redirect, as the request reached it).
    slack_redirect_uri: str = ""
    # Socket Mode: an app-level token (xapp-…) with `connections:write`.
    slack_app_token: str = field(default="", repr=False)
    api_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Empty: each service's own declared slash command (`workers/<svc>/commands.py`).
    slash_commands: Mapping[str, str] = field(default_factory=dict)
    port: int = 8000
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    log_format: str = "text"  # or `json`: one object per line (`estafeta.logs`)
    # The port a worker (or the Socket Mode process) serves /metrics and /healthz on; 0: none.
    # The gateway serves /metrics on PORT.
    metrics_port: int = 0
    # When set, the gateway's /metrics wants `Authorization: Bearer <it>` (a public gateway).
    metrics_token: str = field(default="", repr=False)
    worker_concurrency: int = 2
    reminder_scan_seconds: float = 1.0  # how often beat looks for due reminders
    reminder_late_seconds: float = 60.0  # a reminder posted later than this says it is late

    @property
    def slack_api_base(self) -> str:
        """`SLACK_API_URL` with exactly one trailing slash: the base URL of every Web API client."""
        from estafeta.slack_api import api_base

        return api_base(self.slack_api_url)

    @property
    def oauth_enabled(self) -> bool:
        """Whether the app installs into many workspaces (OAuth v2) rather than one."""
        return bool(self.slack_client_id)

    @property
    def socket_mode(self) -> bool:
        """Whether a Socket Mode process receives Slack's requests (`SLACK_APP_TOKEN`)."""
        return bool(self.slack_app_token)

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
            slack_client_id=env.get("SLACK_CLIENT_ID", ""),
            slack_client_secret=env.get("SLACK_CLIENT_SECRET", ""),
            slack_token_keys=tuple(_split(env.get("SLACK_TOKEN_KEY", ""))),
            slack_redirect_uri=env.get("SLACK_REDIRECT_URI", ""),
            slack_app_token=env.get("SLACK_APP_TOKEN", ""),
            api_tokens=parse_api_tokens(env.get("API_TOKENS", "")),
            slash_commands=parse_slash_commands(env.get("SLASH_COMMANDS", "")),
            port=int(env.get("PORT", "8000")),
            data_dir=Path(env.get("DATA_DIR", "var")),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_format=_log_format(env.get("LOG_FORMAT", "text")),
            metrics_port=int(env.get("METRICS_PORT") or 0),
            metrics_token=env.get("METRICS_TOKEN", ""),
            worker_concurrency=int(env.get("WORKER_CONCURRENCY", "2")),
            reminder_scan_seconds=float(env.get("REMINDER_SCAN_SECONDS", "1")),
            reminder_late_seconds=float(env.get("REMINDER_LATE_SECONDS", "60")),
        )


def _log_format(value: str) -> str:
    chosen = value.strip().lower() or "text"
    if chosen not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
    return chosen


# What local.env publishes, known without the file: the container image and a PaaS slug
# ship no local.env, and their processes refuse these values too (a test keeps both equal).
SIMULATOR_SECRETS = frozenset({"local-simulator-signing-secret", "xoxb-fake-token",
                               "local-dev-token"})


def published_simulator_values(path: Path = LOCAL_ENV_FILE) -> frozenset[str]:
    """The secrets and tokens `local.env` publishes for the simulator (never real ones)."""
    values = read_env_file(path)
    published = set(SIMULATOR_SECRETS)
    published |= {values.get(name, "") for name in SECRET_VARIABLES
                  if name not in {"API_TOKENS", "SLACK_TOKEN_KEY"}}
    published |= set(_split(values.get("SLACK_TOKEN_KEY", "")))
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
    if settings.slack_client_secret and settings.slack_client_secret in published:
        weak.append("SLACK_CLIENT_SECRET is the simulator's")
    if any(key in published for key in settings.slack_token_keys):
        weak.append("SLACK_TOKEN_KEY has the simulator's key")
    if not weak:
        return None
    # Names the variables, never their values.
    return (f"estafeta: refusing to start: SLACK_API_URL points at a real Slack "
            f"({settings.slack_api_url}) but {', '.join(weak)} (published in local.env); "
            "set real values in the environment or .env.")


def oauth_problem(settings: Settings) -> str | None:
    """Why an OAuth install (`SLACK_CLIENT_ID` set) cannot work with `settings`, in one line;
    None when it can, or when OAuth is off."""
    if not settings.oauth_enabled:
        return None
    missing = [name for name, value in (("SLACK_CLIENT_SECRET", settings.slack_client_secret),
                                        ("SLACK_TOKEN_KEY", settings.slack_token_keys))
               if not value]
    if missing:
        return (f"estafeta: refusing to start: SLACK_CLIENT_ID is set (installs into many "
                f"workspaces) but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'}"
                " empty; set them, or unset SLACK_CLIENT_ID for one workspace's "
                "SLACK_BOT_TOKEN.")
    from cryptography.fernet import Fernet  # only processes that install use it

    for number, key in enumerate(settings.slack_token_keys, 1):
        try:
            Fernet(key.encode())
        except ValueError:  # binascii.Error included; the message never shows the key
            return (f"estafeta: refusing to start: SLACK_TOKEN_KEY key {number} of "
                    f"{len(settings.slack_token_keys)} is not a Fernet key; make one with "
                    '`python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"`.')
    return None


def refuse_published_secrets(settings: Settings, needs_signing_secret: bool = True) -> None:
    """Raise `RuntimeError` (one line) if `settings` would run a real Slack on published values,
    or install into workspaces without the app's secret or a valid token key.

    `make run` says so before starting anything; the gateway and every worker check again at
    start-up, for the deployments that never go through `make run` (compose, a PaaS).
    """
    problem = (oauth_problem(settings)
               or real_slack_problem(settings, published_simulator_values(),
                                     needs_signing_secret))
    if problem:
        raise RuntimeError(problem)
