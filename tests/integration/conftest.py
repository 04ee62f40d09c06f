"""Integration fixtures: a real RabbitMQ (one vhost per purpose per session), real workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import routing
from estafeta.settings import Settings
from gateway import create_app
from gateway.state import Gateway
from slacksim.fake_slack import FakeSlack
from tests.conftest import API_TOKEN, BOT_TOKEN, OTHER_API_TOKEN, OTHER_TEAM, SIGNING_SECRET, TEAM
from tests.integration.broker import ROOT, Vhost, WorkerProcess, require_rabbitmq

pytestmark = pytest.mark.integration


def worker_env(vhost: Vhost, data_dir: Path, slack: FakeSlack) -> dict[str, str]:
    """Environment of a worker or gateway process of a test stack."""
    return {
        "BROKER_URL": vhost.url,
        "DATA_DIR": str(data_dir),
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "API_TOKENS": f"{API_TOKEN}:{TEAM},{OTHER_API_TOKEN}:{OTHER_TEAM}",
        "WORKER_CONCURRENCY": "1",
        "LOG_LEVEL": "INFO",
        # As an operator with a log drain runs it: every line of every process is JSON.
        "LOG_FORMAT": "json",
    }


def settings_for(vhost: Vhost, data_dir: Path, slack: FakeSlack) -> Settings:
    """Settings equal to what `worker_env` gives a process."""
    return Settings.from_env(worker_env(vhost, data_dir, slack))


@pytest.fixture(scope="session")
def rabbitmq() -> None:
    """Fail (never skip) every integration test when RabbitMQ is not reachable."""
    require_rabbitmq()


@pytest.fixture(scope="session")
def gateway_vhost(rabbitmq: None) -> Iterator[Vhost]:
    """A vhost where no worker consumes: what the gateway publishes stays countable."""
    vhost = Vhost("gateway")
    yield vhost
    vhost.delete()


def _app(settings: Settings) -> Flask:
    return create_app({"SETTINGS": settings, "TESTING": True})


@pytest.fixture
def app(gateway_vhost: Vhost, tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Flask]:
    """A gateway app publishing to the worker-less vhost, every queue empty."""
    gateway_vhost.purge()
    app = _app(settings_for(gateway_vhost, tmp_path, fake_slack))
    yield app
    state: Gateway = app.extensions["estafeta"]
    state.publisher.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()


@dataclass
class Stack:
    """Worker processes of the three services on their own vhost, sharing a data dir."""

    vhost: Vhost
    data_dir: Path
    env: dict[str, str]
    settings: Settings
    workers: dict[str, WorkerProcess]
    log_dir: Path

    def start_worker(self, service: routing.Service, name: str | None = None) -> WorkerProcess:
        """Start one more worker of `service` and wait until it consumes."""
        worker = WorkerProcess(service, self.env, self.log_dir, name=name)
        worker.wait_consuming(self.vhost)
        return worker


@pytest.fixture(scope="session")
def stack(rabbitmq: None, tmp_path_factory: pytest.TempPathFactory,
          fake_slack_server: FakeSlack) -> Iterator[Stack]:
    """One real worker per service, consuming from the stack's own vhost."""
    vhost = Vhost("stack")
    data_dir = tmp_path_factory.mktemp("stack-data")
    log_dir = tmp_path_factory.mktemp("worker-logs")
    env = worker_env(vhost, data_dir, fake_slack_server)
    workers = {
        name: WorkerProcess(service, env, log_dir)
        for name, service in routing.SERVICES.items()
    }
    try:
        for worker in workers.values():
            worker.wait_consuming(vhost)
        yield Stack(vhost, data_dir, env, settings_for(vhost, data_dir, fake_slack_server),
                    workers, log_dir)
    finally:
        from tests.integration.hosts import stop_all  # hosts imports this module

        stop_all(list(workers.values()))  # at once: each warm shutdown takes a second or two
        vhost.delete()


@pytest.fixture
def stack_app(stack: Stack, fake_slack: FakeSlack) -> Iterator[Flask]:
    """A gateway app publishing to the stack's workers (same data dir, same results)."""
    app = _app(stack.settings)
    yield app
    app.extensions["estafeta"].publisher.close()


@pytest.fixture
def stack_client(stack_app: Flask) -> FlaskClient:
    """A test client of `stack_app`."""
    return stack_app.test_client()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def gunicorn_gateway(stack: Stack) -> Iterator[str]:
    """The real gateway: gunicorn with two worker processes, publishing to the stack."""
    port = free_port()
    log_path = stack.log_dir / "gunicorn.log"
    env = {**os.environ, **stack.env, "PORT": str(port), "HOST": "127.0.0.1",
           "WEB_CONCURRENCY": "2", "GATEWAY_THREADS": "4",
           "PROMETHEUS_MULTIPROC_DIR": str(stack.log_dir / "gunicorn.metrics")}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:gateway.gunicorn_conf",
             "gateway:create_app()"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
            break
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n"
                                   + log_path.read_text()[-3000:]) from exc
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=15)
