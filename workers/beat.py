"""The one Celery beat of the system: periodic work sent to each service's own queue."""

from datetime import timedelta

from celery.schedules import crontab

import routing
from estafeta.celery_config import celery_client
from estafeta.settings import Settings

# `droppable` imported for its publish hook: droppable tasks go out without a broker TTL.
from workers import droppable, worker_logs  # noqa: F401

settings = Settings.from_env()
# Beat keeps its schedule file in DATA_DIR and may start before any other process made it.
settings.data_dir.mkdir(parents=True, exist_ok=True)
app = celery_client(settings)
worker_logs.use("beat", settings)
app.conf.beat_schedule = {
    f"{service.name}-maintenance": {
        "task": service.maintenance_task,
        "schedule": crontab(minute=17, hour=3),
        "options": {"priority": int(routing.Priority.BULK)},
    }
    for service in routing.SERVICES.values()
}
app.conf.beat_schedule["agenda-due-reminders"] = {
    "task": routing.REMINDER_SCAN_TASK,
    "schedule": settings.reminder_scan_seconds,
    # A scan that waited longer than this (workers down) is stale: the next one does its work.
    # Droppable, so an expired one is acknowledged, not dead-lettered (workers/droppable.py).
    "options": {"priority": int(routing.Priority.REMINDER),
                "expires": max(settings.reminder_scan_seconds * 5, 5.0)},
}
# The result backend (SQLite or PostgreSQL through SQLAlchemy) does not expire results itself;
# Celery's cleanup task deletes those older than `result_expires`. Under Celery's own entry name,
# so beat does not add its default daily one next to this one.
app.conf.beat_schedule[routing.BACKEND_CLEANUP_TASK] = {
    "task": routing.BACKEND_CLEANUP_TASK,
    "schedule": timedelta(hours=1),
    "options": {"priority": int(routing.Priority.BULK), "expires": 30 * 60},
}
