"""The agenda service: events and reminders. Run: `celery -A workers.agenda worker`."""

from routing import AGENDA
from workers.agenda.handlers import build_handlers
from workers.agenda.imports import register_import
from workers.agenda.reminders import register_reminders
from workers.agenda.store import AgendaStore
from workers.app import create_worker_app
from workers.service import make_replier, register_service, task_base

app = create_worker_app(AGENDA)
_settings = app.conf.estafeta_settings
_store = AgendaStore(_settings.data_dir / "agenda.sqlite")
_replier = make_replier(_settings, AGENDA)
_base = task_base(AGENDA, _replier)
register_reminders(app, _base, _store, _replier, _settings.reminder_late_seconds)
register_import(app, _base, _store)
register_service(app, AGENDA, build_handlers(_store, _replier), _replier, _base)
