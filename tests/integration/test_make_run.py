"""`make run` itself: the operator's environment wins over local.env, and simulator secrets are
refused for a real Slack. Every wait is bounded; every process started is ended."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import routing
from estafeta.settings import read_env_file
from slacksim.signing import SlackSigner
from tests.integration.broker import ROOT, Vhost
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration

SIMULATOR = read_env_file(ROOT / "local.env")
OPERATOR_SECRET = "operator-signing-secret"
OPERATOR_TOKEN = "operator-api-token"
VENV = Path(sys.executable).parent.parent
# The recipe of `make run` itself, in this virtualenv; installing is not part of the test.
MAKE_RUN = ["make", "--no-print-directory", f"VENV={VENV}", "-o", f"{VENV}/.installed", "run"]


def _env(**overrides: str) -> dict[str, str]:
    """The test's environment for `make run`, without any outer make's variables."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_API_URL", "API_TOKENS"):
        env.pop(name, None)
    return {**env, **overrides}


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # The command name may hold spaces and parentheses: the fields follow the last ')'.
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _request(url: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_make_run_refuses_simulator_secrets_for_a_real_slack() -> None:
    env = _env(SLACK_API_URL="https://slack.com/api/",
               SLACK_SIGNING_SECRET=SIMULATOR["SLACK_SIGNING_SECRET"],
               BROKER_URL="amqp://guest:guest@127.0.0.1:1//")  # never reached: refused first
    started = time.monotonic()
    result = subprocess.run(MAKE_RUN, cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120,
                            start_new_session=True)
    assert result.returncode != 0
    assert time.monotonic() - started < 60
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(ours) == 1, result.stderr
    assert ours[0].startswith("estafeta: refusing to start: SLACK_API_URL points at a real Slack")
    assert "SLACK_SIGNING_SECRET" in ours[0] and "SLACK_BOT_TOKEN" in ours[0]
    assert SIMULATOR["SLACK_SIGNING_SECRET"] not in result.stderr + result.stdout
    assert "broker" not in result.stdout + result.stderr  # no broker check, no honcho


class MakeRun:
    """`make run` in its own session, logging to a file; stopped with its whole tree."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(MAKE_RUN, cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        """What make and every process logged so far."""
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_healthy(self, url: str, vhost: Vhost, timeout: float = 90) -> None:
        """Wait for the gateway's /healthz and for every service to consume its queue."""
        deadline = time.monotonic() + timeout
        queues = [service.command_queue.name for service in routing.SERVICES.values()]
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"make run exited ({self.process.returncode}):\n"
                                     + self.log())
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                with contextlib.suppress(Exception):
                    if all(vhost.consumers(name) >= 1 for name in queues):
                        return
            if time.monotonic() > deadline:
                raise AssertionError("make run did not come up in time:\n" + self.log())
            time.sleep(0.3)

    def stop(self, timeout: float = 40) -> set[int]:
        """SIGTERM the process group (honcho stops its children); return any left behind."""
        tree = {self.process.pid} | _descendants(self.process.pid)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.2)
        left = {pid for pid in tree if _alive(pid)}
        for pid in left:  # never leave anything behind, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        return left


@pytest.fixture
def vhost(rabbitmq: None) -> Iterator[Vhost]:
    """A vhost of its own for the stack `make run` starts."""
    vhost = Vhost("make-run")
    yield vhost
    vhost.delete()


def test_make_run_gives_the_operators_environment_precedence(vhost: Vhost,
                                                             tmp_path: Path) -> None:
    port = free_port()
    env = _env(SLACK_SIGNING_SECRET=OPERATOR_SECRET, API_TOKENS=f"{OPERATOR_TOKEN}:T9",
               BROKER_URL=vhost.url, DATA_DIR=str(tmp_path / "data"), PORT=str(port),
               HOST="127.0.0.1", WEB_CONCURRENCY="1", GATEWAY_THREADS="4",
               WORKER_CONCURRENCY="1")
    stack = MakeRun(env, tmp_path / "make-run.log")
    url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(url, vhost)
        challenge = uuid.uuid4().hex
        body = json.dumps({"type": "url_verification", "challenge": challenge}).encode()
        signed = SlackSigner(OPERATOR_SECRET).headers(body, "application/json")
        status, answer = _request(f"{url}/slack/events", body, signed)
        assert (status, json.loads(answer)) == (200, {"challenge": challenge})
        simulated = SlackSigner(SIMULATOR["SLACK_SIGNING_SECRET"]).headers(
            body, "application/json")
        assert _request(f"{url}/slack/events", body, simulated)[0] == 401

        task = f"{url}/api/v1/tasks/{uuid.uuid4()}"
        status, _ = _request(task, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        assert status == 200
        published = SIMULATOR["API_TOKENS"]
        assert _request(task, headers={"Authorization": f"Bearer {published}"})[0] == 401
    finally:
        left = stack.stop()
    assert not left, f"processes left after SIGTERM: {sorted(left)}\n{stack.log()}"


def test_make_run_refuses_a_database_it_cannot_reach_in_one_line(vhost: Vhost,
                                                                 tmp_path: Path) -> None:
    closed = free_port()
    env = _env(BROKER_URL=vhost.url, DATA_DIR=str(tmp_path / "data"),
               DATABASE_URL=f"postgresql://estafeta:hunter2@127.0.0.1:{closed}/estafeta")
    result = subprocess.run(MAKE_RUN, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, start_new_session=True)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(ours) == 1, result.stderr
    assert ours[0].startswith(f"estafeta: cannot reach the database at "
                              f"postgresql://estafeta:***@127.0.0.1:{closed}/estafeta")
    assert "hunter2" not in result.stderr + result.stdout
    assert "honcho" not in result.stdout  # nothing was started


def test_make_run_with_database_url_in_the_environment_migrates_and_keeps_state_there(
    vhost: Vhost, tmp_path: Path, empty_database: str
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = _env(SLACK_SIGNING_SECRET=OPERATOR_SECRET, API_TOKENS=f"{OPERATOR_TOKEN}:T9",
               BROKER_URL=vhost.url, DATA_DIR=str(data_dir), PORT=str(port),
               DATABASE_URL=empty_database, HOST="127.0.0.1", WEB_CONCURRENCY="1",
               GATEWAY_THREADS="4", WORKER_CONCURRENCY="1")
    stack = MakeRun(env, tmp_path / "make-run.log")
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}", "Content-Type": "application/json"}
    try:
        stack.wait_healthy(url, vhost)
        status, body = _request(f"{url}/api/v1/commands/sentiment",
                                json.dumps({"text": "analyze what a great day"}).encode(), auth)
        assert status == 202, body
        task_url = json.loads(body)["status_url"]
        deadline = time.monotonic() + 30
        while True:
            status, body = _request(task_url, headers=auth)
            state = json.loads(body)["state"]
            if state == "SUCCESS" or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert state == "SUCCESS", stack.log()
    finally:
        left = stack.stop()
    assert not left, f"processes left after SIGTERM: {sorted(left)}\n{stack.log()}"
    import psycopg
    with psycopg.connect(empty_database) as connection:
        owners = connection.execute("SELECT count(*) FROM gateway.task_owners").fetchone()
        results = connection.execute(
            "SELECT count(*) FROM results.celery_taskmeta WHERE status = 'SUCCESS'").fetchone()
    assert owners == (1,) and results is not None and results[0] >= 1
    # DATA_DIR keeps beat's schedule and nothing else: no SQLite file of any store.
    assert not list(data_dir.glob("*.sqlite")), sorted(p.name for p in data_dir.iterdir())
