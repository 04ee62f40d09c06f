"""Bearer tokens configured without a team: each acts for a team of its own."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from estafeta.settings import parse_api_tokens
from gateway import create_app
from gateway.state import Gateway
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def teamless_app(stack: Stack) -> Iterator[Flask]:
    """A gateway on the stack whose two tokens name no team."""
    settings = dataclasses.replace(stack.settings, api_tokens=parse_api_tokens("first,second"))
    app = create_app({"SETTINGS": settings, "TESTING": True})
    yield app
    state: Gateway = app.extensions["estafeta"]
    state.publisher.close()


def test_two_teamless_tokens_never_see_each_others_tasks(teamless_app: Flask) -> None:
    client = teamless_app.test_client()
    first = {"Authorization": "Bearer first"}
    second = {"Authorization": "Bearer second"}
    accepted = client.post("/api/v1/commands/sentiment", headers=first,
                           json={"text": "analyze I love this, it is wonderful"})
    assert accepted.status_code == 202
    status_url = f"/api/v1/tasks/{accepted.json['task_id']}"
    deadline = time.monotonic() + 20
    body = client.get(status_url, headers=first).json
    while body["state"] != "SUCCESS" and time.monotonic() < deadline:
        time.sleep(0.1)
        body = client.get(status_url, headers=first).json
    assert body["state"] == "SUCCESS"
    assert body["result"]["data"]["label"] == "positive"
    answer = client.get(status_url, headers=second)
    assert answer.status_code == 404 and answer.json["error"] == "unknown_task"
