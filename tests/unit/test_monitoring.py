"""A worker's /healthz decision, its task and reply metrics, and its log lines during a task."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from celery import Celery
from celery.exceptions import Reject

import routing
from estafeta import grammar, logs, metrics, tracing
from estafeta.grammar import Command
from estafeta.payloads import Context, ReplyTarget
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers import monitoring, startup, task_signals
from workers.replies import Reply, SlackReplier
from workers.service import ServiceHandlers, register_service
from workers.sqlite_ledger import SqliteLedger

LIMITS = monitoring.Limits(loop_stale_after=60, broker_grace=180, task_limit=120)


def _seen(loop: float = 1, down: float | None = None, task: float = 0) -> monitoring.Observed:
    return monitoring.Observed(loop_age=loop, disconnected_for=down, oldest_task=task)


def test_a_healthy_worker_has_no_verdict() -> None:
    assert monitoring.verdict(_seen(loop=59, task=119), LIMITS) is None


def test_a_stalled_loop_a_lost_broker_or_an_unkillable_task_is_stuck() -> None:
    assert "event loop" in str(monitoring.verdict(_seen(loop=61), LIMITS))
    assert "broker" in str(monitoring.verdict(_seen(loop=500, down=181), LIMITS))
    assert "hard time limit" in str(monitoring.verdict(_seen(task=121), LIMITS))


def test_a_short_broker_outage_is_not_stuck_although_the_loop_stops() -> None:
    assert monitoring.verdict(_seen(loop=170, down=170), LIMITS) is None


def test_liveness_follows_the_consumer_with_an_injected_clock() -> None:
    now = [100.0]
    liveness = monitoring.Liveness(clock=lambda: now[0])
    now[0] = 281.0  # never connected since start: past the grace
    assert monitoring.health("search", liveness, LIMITS)[0] == 503
    liveness.connected()
    now[0] += 30
    status, body = monitoring.health("search", liveness, LIMITS)
    assert (status, body["status"], body["connected"]) == (200, "ok", True)
    now[0] += 31  # no tick for 61 s
    status, body = monitoring.health("search", liveness, LIMITS)
    assert status == 503 and "event loop" in body["reason"]
    liveness.tick()
    liveness.disconnected()
    now[0] += 10
    assert monitoring.health("search", liveness, LIMITS)[1]["connected"] is False


def test_the_metrics_port_is_metrics_port_and_never_the_gateways_port() -> None:
    assert startup.metrics_port({"METRICS_PORT": "9100", "PORT": "8100"}) == 9100
    assert startup.metrics_port({"PORT": "8000"}) == 0  # in a shared environment: the gateway's
    assert startup.metrics_port({"METRICS_PORT": "0", "PORT": "8100"}) == 0
    assert startup.metrics_port({"METRICS_PORT": "x"}) == 0
    assert startup.metrics_port({}) == 0


def test_the_procfile_gives_each_worker_the_port_honcho_or_a_paas_gives_it() -> None:
    lines = (Path(__file__).resolve().parents[2] / "Procfile").read_text().splitlines()
    workers = [line.split(":", 1)[1].strip() for line in lines if line.startswith("worker-")]
    assert len(workers) == len(routing.SERVICES)
    for command in workers:
        assignment, _, rest = command.partition(" ")
        assert rest.startswith("celery -A workers."), command
        # The line's own shell (honcho's, a dyno's) expands it: PORT, unless METRICS_PORT.
        probe = f"{assignment} sh -c 'echo $METRICS_PORT'"
        run = subprocess.run(["sh", "-c", probe], env={"PORT": "8100", "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, check=True)
        assert run.stdout.strip() == "8100"
        run = subprocess.run(["sh", "-c", probe], capture_output=True, text=True, check=True,
                             env={"PORT": "8100", "METRICS_PORT": "9100",
                                  "PATH": "/usr/bin:/bin"})
        assert run.stdout.strip() == "9100"


def test_only_a_worker_command_shares_its_metrics() -> None:
    assert startup.worker_service(["celery", "-A", "workers.agenda", "worker"]) == "agenda"
    assert startup.worker_service(["celery", "-A", "workers.agenda", "inspect", "ping"]) is None
    assert startup.worker_service(["celery", "-A", "workers.beat", "beat"]) is None
    assert startup.worker_service(["pytest", "tests/unit/test_worker.py"]) is None


class _Clock:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _healthz(base: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_server_answers_healthz_and_metrics_and_a_taken_port_is_no_crash(
        caplog: Any) -> None:
    clock = _Clock()
    liveness = monitoring.Liveness(clock=clock)
    server = monitoring.metrics_server("search", 0, LIMITS, liveness=liveness,
                                       host="127.0.0.1").start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        assert f'{metrics.WORKER_LOOP_AGE}{{service="search"}}' in text
        assert f'{metrics.WORKER_CONNECTED}{{service="search"}} 0.0' in text
        # Never connected, past the grace: stuck. Then connected and ticking: healthy.
        clock.now += LIMITS.broker_grace + 1
        status, body = _healthz(base)
        assert (status, body["status"], body["connected"]) == (503, "stuck", False)
        assert "broker connection down" in body["reason"]
        liveness.connected()
        status, body = _healthz(base)
        assert (status, body["status"], body["connected"]) == (200, "ok", True)
        # A loop that stops ticking while connected is stuck too.
        clock.now += LIMITS.loop_stale_after + 1
        status, body = _healthz(base)
        assert status == 503 and "event loop" in body["reason"]
        with caplog.at_level(logging.WARNING):
            assert monitoring.serve("search", server.port, LIMITS) is None
        assert "unavailable" in caplog.text
    finally:
        server.stop()


def test_dead_letter_reasons() -> None:
    assert task_signals.dead_letter_reason("FAILURE", ValueError()) == "failed"
    assert task_signals.dead_letter_reason("REJECTED", Reject("x", requeue=False)) == "rejected"
    assert task_signals.dead_letter_reason("REJECTED", Reject("x", requeue=True)) is None
    assert task_signals.dead_letter_reason("RETRY", None) is None
    assert task_signals.dead_letter_reason("SUCCESS", None) is None


def _value(metric: Any, **labels: str) -> float:
    name = metric._name + ("_total" if metric._type == "counter" else "_count")
    for family in metric.collect():
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def _app(tmp_path: Path, fake_slack: FakeSlack, handler: Any) -> Celery:
    app = Celery("test-monitoring", set_as_current=False)
    app.conf.update(task_always_eager=True, task_eager_propagates=False)
    declared = grammar.declaration("search")
    commands = {verb: handler for verb in declared.handled_verbs}
    unclicked = dict.fromkeys(declared.interaction_ids, lambda *a: None)
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, SqliteLedger(tmp_path / "l.sqlite"),
                           service="search")
    register_service(app, routing.SEARCH, ServiceHandlers(commands, interactions=unclicked),
                     replier)
    return app


def _run(app: Celery, fake_slack: FakeSlack, task_id: str, headers: dict[str, Any]) -> Any:
    verb = sorted(grammar.declaration("search").handled_verbs)[0]
    return app.tasks[routing.SEARCH.command_task].apply(kwargs={
        "command": Command("search", verb, "", "en").as_dict(),
        "context": Context(team="T1", channel="C1", user="U1", source="slash").as_dict(),
        "reply": ReplyTarget(kind="channel", channel="C1").as_dict(),
    }, task_id=task_id, headers=headers)


def test_a_task_run_counts_its_outcome_reply_and_event_to_reply(
        tmp_path: Path, fake_slack: FakeSlack) -> None:
    app = _app(tmp_path, fake_slack, lambda command, context: Reply("found it"))
    task = routing.SEARCH.command_task
    before = (_value(metrics.TASKS, service="search", task=task, outcome="succeeded"),
              _value(metrics.REPLIES, service="search", outcome="posted"),
              _value(metrics.REPLIES, service="search", outcome="deduplicated"),
              _value(metrics.EVENT_TO_REPLY, service="search", source="slash"))
    trace = {tracing.REQUEST_ID_HEADER: "req-12345678", tracing.RECEIVED_AT_HEADER: 1.0}
    _run(app, fake_slack, "task-m1", trace)
    _run(app, fake_slack, "task-m1", trace)  # the same message again: posted once
    after = (_value(metrics.TASKS, service="search", task=task, outcome="succeeded"),
             _value(metrics.REPLIES, service="search", outcome="posted"),
             _value(metrics.REPLIES, service="search", outcome="deduplicated"),
             _value(metrics.EVENT_TO_REPLY, service="search", source="slash"))
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1, 1]


def test_a_failed_task_is_counted_as_failed_and_dead_lettered(
        tmp_path: Path, fake_slack: FakeSlack) -> None:
    def broken(command: Command, context: Context) -> Reply:
        raise ValueError("broken")

    app = _app(tmp_path, fake_slack, broken)
    task = routing.SEARCH.command_task
    failed = _value(metrics.TASKS, service="search", task=task, outcome="failed")
    dead = _value(metrics.DEAD_LETTERS, service="search", reason="failed")
    _run(app, fake_slack, "task-m2", {})
    assert _value(metrics.TASKS, service="search", task=task, outcome="failed") == failed + 1
    assert _value(metrics.DEAD_LETTERS, service="search", reason="failed") == dead + 1


def test_json_lines_of_a_task_carry_its_task_id_team_and_request_id(
        tmp_path: Path, fake_slack: FakeSlack) -> None:
    def loud(command: Command, context: Context) -> Reply:
        logging.getLogger("workers.search.handlers").warning("looking")
        return Reply("secret answer words")

    app = _app(tmp_path, fake_slack, loud)
    stream = io.StringIO()
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    logs.configure("search", "INFO", "json", handler=logging.StreamHandler(stream))
    try:
        _run(app, fake_slack, "task-m3",
             {tracing.REQUEST_ID_HEADER: "req-abcdefgh", tracing.RECEIVED_AT_HEADER: 2.0})
        logging.getLogger("workers").warning("after the task")
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    during = next(line for line in lines if line["message"] == "looking")
    assert (during["task_id"], during["team"], during["request_id"], during["service"]) == (
        "task-m3", "T1", "req-abcdefgh", "search")
    after = next(line for line in lines if line["message"] == "after the task")
    assert "task_id" not in after and "request_id" not in after
    assert "secret answer words" not in stream.getvalue()
