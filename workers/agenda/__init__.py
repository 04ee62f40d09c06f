"""The agenda service: events and reminders. Run: `celery -A workers.agenda worker`."""

from routing import AGENDA
from workers.app import create_worker_app
from workers.service import ServiceHandlers, register_service

app = create_worker_app(AGENDA)
register_service(app, AGENDA, ServiceHandlers(commands={}))
