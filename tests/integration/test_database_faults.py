"""PostgreSQL unreachable, not migrated, or lost while the system runs: processes say so in one
line and refuse to start, the gateway answers 503 instead of half-accepting, workers wait and
retry, and everything resumes by itself when the database is back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import routing
from estafeta import grammar
from estafeta.celery_config import celery_client
from estafeta.migrate import databases, pending
from estafeta.payloads import Context, ReplyTarget
from estafeta.settings import Settings
from gateway.jobs import Dispatcher, event_task_id
from gateway.publisher import Publisher
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, mention_event, message_event
from tests.conftest import TEAM, empty_postgres
from tests.integration.broker import ROOT, Vhost, WorkerProcess
from tests.integration.conftest import free_port, worker_env
from tests.integration.hosts import GatewayProcess, Host, eventually, running, stays, tap
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

PASSWORD = "pw-never-shown-7f3a"
REFUSAL_SECONDS = 10.0  # "within a few seconds": a refusal must not wait for long timeouts
SETTLE = 2.0


@pytest.fixture(scope="module")
def vhost(rabbitmq: None) -> Iterator[Vhost]:
    """A vhost of this module: the broker is always fine here, only the database fails."""
    vhost = Vhost("db-faults")
    yield vhost
    vhost.delete()


def _env(vhost: Vhost, tmp_path: Path, slack: FakeSlack, database_url: str) -> dict[str, str]:
    return {**worker_env(vhost, tmp_path, slack), "DATABASE_URL": database_url}


def _estafeta(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "estafeta.cli", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def _refused(name: str, process: subprocess.Popen[Any], log: Any, started: float,
             timeout: float = 20.0) -> str:
    """Wait for a process that must refuse to start; return what it logged."""
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} still runs {timeout:.0f}s after start; it logged:\n{log()[-3000:]}")
    elapsed = time.monotonic() - started
    output = str(log())
    assert code != 0, f"{name} exited 0:\n{output[-3000:]}"
    assert elapsed < REFUSAL_SECONDS, f"{name} took {elapsed:.1f}s to refuse"
    assert "Traceback" not in output, f"{name} printed a traceback:\n{output[-3000:]}"
    return output


def _one_line_with(output: str, needle: str) -> str:
    """The one line of `output` that contains `needle`."""
    lines = [line for line in output.splitlines() if needle in line]
    assert len(lines) == 1, f"expected one line with {needle!r}, got {lines}:\n{output[-3000:]}"
    return lines[0]


def test_every_process_refuses_to_start_when_the_database_is_unreachable(
    vhost: Vhost, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    port = free_port()  # nobody listens there
    url = f"postgresql://estafeta:{PASSWORD}@127.0.0.1:{port}/estafeta"
    env = _env(vhost, tmp_path, fake_slack, url)
    masked = f"postgresql://estafeta:***@127.0.0.1:{port}/estafeta"
    started = time.monotonic()
    gateway = GatewayProcess({**env, "PORT": str(free_port())}, tmp_path / "gateway.log")
    worker = WorkerProcess(routing.SENTIMENT, env, tmp_path)
    try:
        migrate = _estafeta(env, "migrate")
        output = migrate.stdout + migrate.stderr
        assert migrate.returncode == 1, output
        assert PASSWORD not in output
        lines = output.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"estafeta: cannot reach the database at {masked}"), lines
        for name, process, log in (("gunicorn", gateway.process, gateway.log),
                                   ("the sentiment worker", worker.process, worker.log)):
            output = _refused(name, process, log, started)
            assert PASSWORD not in output, f"{name} showed the password:\n{output}"
            line = _one_line_with(output, "cannot reach the database")
            assert f"cannot reach the database at {masked}" in line, line
    finally:
        gateway.stop()
        worker.stop()


def _schema_snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a migration could change: schemas, columns, indexes, and the version rows
    (with `xmin`, which a rewrite of the same value changes too)."""
    system = ("pg_catalog", "information_schema", "pg_toast")
    with psycopg.connect(url) as connection:
        schemas = [row[0] for row in connection.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname <> ALL (%s)"
            " AND nspname NOT LIKE 'pg_temp%%' AND nspname NOT LIKE 'pg_toast_temp%%'"
            " ORDER BY 1", (list(system),))]
        columns = connection.execute(
            "SELECT table_schema, table_name, column_name, data_type, is_nullable,"
            " column_default FROM information_schema.columns"
            " WHERE table_schema <> ALL (%s) ORDER BY 1, 2, 3", (list(system),)).fetchall()
        indexes = connection.execute(
            "SELECT schemaname, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname <> ALL (%s) ORDER BY 1, 2", (list(system),)).fetchall()
        versions = []
        for (schema,) in connection.execute(
                "SELECT table_schema FROM information_schema.tables"
                " WHERE table_name = 'alembic_version' ORDER BY 1").fetchall():
            versions += [(schema, *row) for row in connection.execute(
                f'SELECT version_num, xmin::text FROM "{schema}".alembic_version ORDER BY 1')]
    return {"schemas": [(s,) for s in schemas], "columns": columns, "indexes": indexes,
            "versions": versions}


def test_processes_refuse_a_schema_behind_the_code_until_estafeta_migrate_has_run(
    vhost: Vhost, tmp_path: Path, fake_slack: FakeSlack, empty_database: str
) -> None:
    env = _env(vhost, tmp_path, fake_slack, empty_database)
    started = time.monotonic()
    gateway = GatewayProcess({**env, "PORT": str(free_port())}, tmp_path / "gateway.log")
    worker = WorkerProcess(routing.AGENDA, env, tmp_path)
    try:
        for name, process, log in (("gunicorn", gateway.process, gateway.log),
                                   ("the agenda worker", worker.process, worker.log)):
            output = _refused(name, process, log, started)
            _one_line_with(output, "run `estafeta migrate`")
    finally:
        gateway.stop()
        worker.stop()

    first = _estafeta(env, "migrate")
    assert first.returncode == 0, first.stdout + first.stderr
    migrated = _schema_snapshot(empty_database)
    assert {"gateway", "results", *routing.SERVICES} <= {s for (s,) in migrated["schemas"]}
    second = _estafeta(env, "migrate")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _schema_snapshot(empty_database) == migrated, "the second migrate changed things"
    settings = Settings.from_env(env)
    assert {name: pending(settings, name) for name in databases()} == {
        name: [] for name in databases()}

    # Now the same gateway starts.
    gateway = GatewayProcess({**env, "PORT": str(free_port())}, tmp_path / "gateway-2.log")
    try:
        eventually(gateway.healthy, timeout=30, message="the gateway did not start once migrated")
    finally:
        gateway.stop()


# -- the database lost while the system runs -------------------------------------------------


@pytest.fixture
def proxied(vhost: Vhost, postgres_url: str, fake_slack_server: FakeSlack,
            tmp_path: Path) -> Iterator[tuple[Host, TcpProxy]]:
    """One host whose every connection to PostgreSQL goes through a proxy the test can cut."""
    empty_postgres(postgres_url)
    vhost.purge()
    with TcpProxy() as proxy:
        host = Host("proxied", vhost, proxy.url(postgres_url), fake_slack_server, tmp_path)
        with running(vhost, [host]):
            yield host, proxy


def _publish_search(host: Host, text: str, response_url: str, task_id: str) -> None:
    """Publish a `/search` command as the gateway would have before the database went away."""
    settings = host.settings
    publisher = Publisher(settings.broker_url, declare=routing.declare_all)
    try:
        Dispatcher(celery_client(settings), publisher).command(
            grammar.parse("search", text),
            Context(team=TEAM, channel="C3DB", user="U0001", source="slash"),
            ReplyTarget(kind="response_url", url=response_url), task_id=task_id)
    finally:
        publisher.close()


def _search(host: Host, signer: SlackSigner, slack: FakeSlack, text: str) -> str:
    """`/search <text>` through the host; its one answer."""
    url = slack.response_url()
    assert host.slash(signer, "/search", text, url, channel="C3DB").status == 200
    (answer,) = slack.wait_for(lambda: slack.responses(url), timeout=20)
    return str(answer["text"])


def _log_lines(log: str, task_id: str) -> str:
    """The log lines (no tracebacks) from a task's arrival on."""
    lines = [line for line in log.splitlines() if line.startswith("[")]
    start = next((n for n, line in enumerate(lines) if task_id in line), 0)
    return "\n".join(line[:300] for line in lines[start:start + 20])


def _retry_countdowns(log: str, task_id: str) -> list[float]:
    pattern = rf"search\.command\[{re.escape(task_id)}\] retry: Retry in ([0-9.]+)s"
    return [float(seconds) for seconds in re.findall(pattern, log)]


def test_the_database_lost_while_running_is_waited_for_and_nothing_is_lost_or_repeated(
    proxied: tuple[Host, TcpProxy], signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    host, proxy = proxied
    assert proxy.accepted > 0, "the host does not reach PostgreSQL through the proxy"
    pids = host.pids()
    # Something to find later, heard and indexed while the database is up.
    heard, _ = host.event(signer, message_event("the wombat migration finished on prod",
                                                channel="C3DB", user="U0ANA"))
    assert heard.status == 200, heard.body
    eventually(lambda: "wombat" in _search(host, signer, fake_slack, "wombat"), timeout=20,
               message="the heard message was never found")

    with tap(host.vhost) as spy:
        proxy.cut()
        cut_at = time.monotonic()
        url = fake_slack.response_url()
        task_id = event_task_id(TEAM, f"db-cut-{url}", "command")
        _publish_search(host, "wombat", url, task_id)

        event = mention_event("search help", channel="C3CUT")
        asked_at = time.monotonic()
        refused, event_id = host.event(signer, event)
        refused_in = time.monotonic() - asked_at
        assert refused.status == 503, (refused.status, refused.body)
        # Within Slack's 3 seconds: a slower answer is a timeout to Slack, not a 503.
        assert refused_in < 3.0, f"the 503 took {refused_in:.1f}s"
        assert refused.json.get("error"), refused.body
        assert (refused.header("Content-Type") or "").startswith("application/json")
        assert int(refused.header("Retry-After") or 0) > 0, refused.headers

        # The worker meets the database away and keeps the command: it retries the task with
        # backoff (a store failed inside it), or waits, unacked, to record its state.
        def waits_so_far() -> list[str]:
            if spy.of(task_id, routing.DEAD.name):
                raise AssertionError("the command was dead-lettered while the database was "
                                     "away; the worker logged:\n"
                                     + _log_lines(host.workers["search"].log(), task_id))
            log = host.worker_logs()
            return [*map(str, _retry_countdowns(log, task_id)),
                    *re.findall(r"Failed operation _store_result\. Retrying", log)]

        eventually(waits_so_far, timeout=20,
                   message="the worker neither retried the command nor waited for the database")
        time.sleep(max(0.0, 6.0 - (time.monotonic() - cut_at)))  # an outage of a few seconds
        assert fake_slack.responses(url) == []
        assert spy.of(task_id, routing.DEAD.name) == [], "the command was dead-lettered"
        assert spy.of(event_task_id(TEAM, event_id, "command")) == [], \
            "the refused event was published"
        assert fake_slack.posted("C3CUT") == []

        proxy.restore()
        restored_at = time.monotonic()
        (answer,) = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=60)
        recovered_in = time.monotonic() - restored_at
        assert "wombat" in answer["text"], answer
        assert stays(lambda: len(fake_slack.responses(url)) == 1, SETTLE)
        countdowns = _retry_countdowns(host.worker_logs(), task_id)
        # Backoff: a few retries over an outage of seconds, not a loop hammering the database.
        assert len(countdowns) <= 10, countdowns
        assert spy.of(task_id, routing.DEAD.name) == [], "the command was dead-lettered"

        # Slack retries the refused event: accepted now, and answered once.
        retried, _ = host.event(signer, event, event_id=event_id, retry=1)
        assert retried.status == 200, retried.body
        fake_slack.wait_for(lambda: fake_slack.posted("C3CUT"), timeout=20)
        # And a new event is accepted as usual.
        fresh, _ = host.event(signer, mention_event("search help", channel="C3AFTER"))
        assert fresh.status == 200, fresh.body
        fake_slack.wait_for(lambda: fake_slack.posted("C3AFTER"), timeout=20)
        assert stays(lambda: len(fake_slack.posted("C3CUT")) == 1
                     and len(fake_slack.posted("C3AFTER")) == 1, SETTLE)

    for service in routing.SERVICES.values():
        assert host.vhost.depth(service.dead_queue.name) == 0, service.name
    assert host.alive() and host.pids() == pids, "a process was restarted"
    print(f"\n503 in {refused_in:.2f}s; {len(countdowns)} retries of the command while the "
          f"database was away (countdowns {countdowns}); answered {recovered_in:.1f}s after "
          "the restore")
