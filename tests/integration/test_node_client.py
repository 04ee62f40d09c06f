"""The Node.js client (clients/node) against the real gateway and workers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import API_TOKEN, OTHER_API_TOKEN, TEAM
from tests.integration.broker import ROOT
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

CLIENT = Path(ROOT) / "clients" / "node"
HELP_LINE = "`/search help` shows this text."


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: install Node.js 20 or newer to test clients/node",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def node_client() -> Path:
    """clients/node with its locked dependencies installed (once per module)."""
    subprocess.run([_tool("npm"), "ci", "--no-audit", "--no-fund"], cwd=CLIENT, check=True,
                   capture_output=True, timeout=180)
    return CLIENT


@pytest.fixture
def node_env(stack: Stack, gunicorn_gateway: str) -> dict[str, str]:
    """What the client's tests and examples read: the gateway, a token, its team, the broker."""
    return {**os.environ, "ESTAFETA_URL": gunicorn_gateway, "ESTAFETA_TOKEN": API_TOKEN,
            "ESTAFETA_TEAM": TEAM, "BROKER_URL": stack.vhost.url}


def _node(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("node"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_node_test_suite_passes_against_the_gateway(node_client: Path,
                                                    node_env: dict[str, str]) -> None:
    run = _node(["--test", "test/"], node_client, node_env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    # The end-to-end tests ran rather than skipped.
    assert re.search(r"^# skipped 0$", run.stdout, re.MULTILINE), run.stdout[-2000:]
    assert re.search(r"^# fail 0$", run.stdout, re.MULTILINE)


def test_search_example_prints_the_answer(node_client: Path, node_env: dict[str, str]) -> None:
    run = _node(["examples/search.mjs", "help"], node_client, node_env)
    assert run.returncode == 0, run.stderr
    assert HELP_LINE in run.stdout


def test_search_example_reports_a_refused_token(node_client: Path,
                                               node_env: dict[str, str]) -> None:
    run = _node(["examples/search.mjs", "help"], node_client,
                {**node_env, "ESTAFETA_TOKEN": "not-a-token"})
    assert run.returncode == 1
    assert run.stderr.startswith("401 unauthorized: Unknown bearer token."), run.stderr


def test_amqp_example_finds_nothing_for_an_unheard_word(node_client: Path,
                                                       node_env: dict[str, str]) -> None:
    run = _node(["examples/publish-amqp.mjs", "zyxwvutsr"], node_client, node_env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Nothing found for “zyxwvutsr”.", run.stdout + run.stderr


def test_amqp_example_is_answered_and_seen_only_by_its_team(
    node_client: Path, node_env: dict[str, str], gunicorn_gateway: str
) -> None:
    run = _node(["examples/publish-amqp.mjs", "help"], node_client, node_env)
    assert run.returncode == 0, run.stderr
    assert HELP_LINE in run.stdout
    match = re.search(r"published task ([0-9a-f-]{36})", run.stderr)
    assert match, run.stderr
    request = urllib.request.Request(f"{gunicorn_gateway}/api/v1/tasks/{match.group(1)}",
                                     headers={"Authorization": f"Bearer {OTHER_API_TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404


def test_amqp_example_fails_on_an_unreachable_broker(node_client: Path,
                                                     node_env: dict[str, str]) -> None:
    env = {**node_env, "BROKER_URL": "amqp://guest:guest@127.0.0.1:1/"}
    run = _node(["examples/publish-amqp.mjs", "help"], node_client, env)
    assert run.returncode != 0
    assert "ECONNREFUSED" in run.stderr
