import os
import subprocess
import sys
from pathlib import Path

from celery import Celery
from celery.beat import Scheduler

import routing
from workers.beat import app


def _queue(task: str) -> str:
    return str(app.amqp.router.route({}, task)["queue"].name)


def test_beat_sends_each_services_maintenance_to_its_own_queue_at_bulk_priority() -> None:
    schedule = app.conf.beat_schedule
    maintenance = {name: entry for name, entry in schedule.items()
                   if entry["task"].endswith(".maintenance")}
    assert {e["task"] for e in maintenance.values()} == {
        s.maintenance_task for s in routing.SERVICES.values()}
    for entry in maintenance.values():
        assert entry["options"]["priority"] == routing.Priority.BULK
        service = routing.SERVICES[entry["task"].split(".")[0]]
        assert _queue(entry["task"]) == service.command_queue.name


def test_beat_looks_for_due_reminders_every_second_at_the_highest_priority() -> None:
    entry = app.conf.beat_schedule["agenda-due-reminders"]
    assert entry["task"] == routing.REMINDER_SCAN_TASK
    assert entry["schedule"] == 1.0
    assert entry["options"]["priority"] == max(routing.Priority)
    assert entry["options"]["expires"] >= entry["schedule"]
    assert _queue(entry["task"]) == routing.AGENDA.command_queue.name


def test_beat_schedules_the_result_cleanup_on_its_service_queue_at_bulk_priority(
    tmp_path: Path,
) -> None:

    entry = app.conf.beat_schedule[routing.BACKEND_CLEANUP_TASK]
    assert entry["task"] == routing.BACKEND_CLEANUP_TASK
    assert entry["options"]["priority"] == routing.Priority.BULK
    assert _queue(entry["task"]) == routing.RESULT_CLEANUP_SERVICE.command_queue.name
    assert app.conf.result_expires
    # What beat itself runs (on a SQLAlchemy backend, which cannot expire results itself):
    # this one entry for the cleanup, not also Celery's default one.
    beat = Celery(set_as_current=False)
    beat.conf.update(app.conf.changes)
    beat.conf.result_backend = f"db+sqlite:///{tmp_path / 'results.sqlite'}"
    assert not beat.backend.supports_autoexpire
    scheduler = Scheduler(beat, lazy=True)
    scheduler.setup_schedule()
    cleanups = [e for e in scheduler.schedule.values() if e.task == routing.BACKEND_CLEANUP_TASK]
    assert len(cleanups) == 1
    assert cleanups[0].options["priority"] == routing.Priority.BULK


def test_beat_makes_its_data_dir_before_opening_its_schedule(tmp_path: Path) -> None:
    # On a fresh clone beat may start before any other process has made DATA_DIR.
    data_dir = tmp_path / "fresh" / "var"
    subprocess.run([sys.executable, "-c", "import workers.beat"], check=True, timeout=60,
                   env={**os.environ, "DATA_DIR": str(data_dir)})
    assert data_dir.is_dir()
