"""The one Celery beat of the system: periodic work sent to each service's own queue."""

from celery.schedules import crontab

import routing
from settings import Settings
from workers.app import celery_client

app = celery_client(Settings.from_env())
app.conf.beat_schedule = {
    f"{service.name}-maintenance": {
        "task": service.maintenance_task,
        "schedule": crontab(minute=17, hour=3),
        "options": {"priority": int(routing.Priority.BULK)},
    }
    for service in routing.SERVICES.values()
}
