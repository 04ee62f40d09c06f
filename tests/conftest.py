"""Fixtures shared by unit and integration tests: the fake Slack and Slack request signing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
