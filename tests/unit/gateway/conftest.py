"""Gateway fixtures without a broker: a recording publisher, and a broker URL nobody answers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from estafeta.settings import Settings
from gateway import create_app
from gateway.recording import RecordingPublisher
from slacksim.fake_slack import FakeSlack
from tests.conftest import API_TOKEN, BOT_TOKEN, OTHER_API_TOKEN, OTHER_TEAM, SIGNING_SECRET, TEAM


@pytest.fixture(scope="session")
def closed_broker_url() -> str:
    """An AMQP URL on a local port nobody listens on: any real broker use fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"amqp://guest:guest@127.0.0.1:{port}//"


@pytest.fixture
def settings(tmp_path: Path, fake_slack: FakeSlack, closed_broker_url: str) -> Settings:
    """The gateway's settings for a test: its own data dir, the fake Slack, no broker."""
    return Settings.from_env({
        "BROKER_URL": closed_broker_url,
        "DATA_DIR": str(tmp_path),
        "SLACK_API_URL": fake_slack.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "API_TOKENS": f"{API_TOKEN}:{TEAM},{OTHER_API_TOKEN}:{OTHER_TEAM}",
    })


@pytest.fixture
def publisher() -> RecordingPublisher:
    """What the gateway publishes, kept for the test to look at."""
    return RecordingPublisher()


@pytest.fixture
def app(settings: Settings, publisher: RecordingPublisher) -> Iterator[Flask]:
    """A gateway app publishing into `publisher`."""
    app = create_app({"SETTINGS": settings, "PUBLISHER": publisher, "TESTING": True})
    yield app
    publisher.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()
