"""Fixtures shared by unit and integration tests: the fake Slack, Slack request signing, and
PostgreSQL (a database per session, every store test on both backends)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from estafeta.migrate import migrate
from estafeta.postgres import scratch_database
from estafeta.settings import Settings
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
API_TOKEN = "test-api-token"
OTHER_API_TOKEN = "other-team-token"
TEAM = "T0001"
OTHER_TEAM = "T0002"


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlack]:
    """One fake Slack Web API over HTTP for the whole session."""
    with FakeSlack(token=BOT_TOKEN, team=TEAM) as slack:
        yield slack


@pytest.fixture
def fake_slack(fake_slack_server: FakeSlack) -> FakeSlack:
    """The fake Slack, with no calls recorded and nothing scripted."""
    fake_slack_server.reset()
    return fake_slack_server


@pytest.fixture(scope="session")
def signer() -> SlackSigner:
    """Signs requests like Slack does, with the tests' signing secret."""
    return SlackSigner(SIGNING_SECRET)


# PostgreSQL ---------------------------------------------------------------------------------

# The machine's server; a test session works in a database of its own, dropped afterwards.
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of this session's own on the machine's PostgreSQL (fails, never
    skips, when the server is not reachable)."""
    with _reachable_postgres(), scratch_database(POSTGRES_ADMIN_URL, "estafeta_test") as url:
        migrate(Settings(database_url=url))
        yield url


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A database of the test's own with nothing in it (not migrated), dropped afterwards."""
    with _reachable_postgres(), scratch_database(POSTGRES_ADMIN_URL, "estafeta_empty") as url:
        yield url


@contextmanager
def _reachable_postgres() -> Iterator[None]:
    try:
        yield
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}); start it "
                    "(`pg_ctlcluster 15 main start`) or set TEST_POSTGRES_URL", pytrace=False)


def empty_postgres(url: str) -> None:
    """Empty every store's tables (the schema and its versions stay)."""
    with psycopg.connect(url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
            " WHERE schemaname <> ALL (ARRAY['pg_catalog', 'information_schema', 'public'])"
            " AND tablename <> 'alembic_version'").fetchall()
        if tables:
            connection.execute("TRUNCATE " + ", ".join(row[0] for row in tables)
                               + " RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose stores are empty, on each backend in turn: SQLite files under a fresh
    `DATA_DIR`, then the session's PostgreSQL database with every table emptied."""
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return Settings(data_dir=tmp_path, database_url=url)


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """The browser simulator and the host answering through it (a gunicorn gateway and a
    worker per service on a vhost of their own, SQLite stores): started once for both the
    simulator's HTTP tests and its browser tests."""
    from slacksim.simulator import Simulator
    from tests.integration.broker import Vhost, require_rabbitmq
    from tests.integration.hosts import Host, running

    require_rabbitmq()
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET)
    simulator = Simulator(settings, host="127.0.0.1", port=0).start()
    vhost = Vhost("simulator")
    try:
        host = Host("sim", vhost, "", simulator.fake, tmp_path_factory.mktemp("simulator"))
        simulator.gateway_url = host.url
        with running(vhost, [host]):
            yield simulator, host
    finally:
        simulator.stop()
        vhost.delete()
