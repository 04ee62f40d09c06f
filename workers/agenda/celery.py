"""The Celery app of the agenda service: `celery -A workers.agenda worker` finds it here."""

from estafeta.stores import open_stores
from routing import AGENDA
from workers import monitoring
from workers.agenda.gauges import ReminderGauges
from workers.agenda.handlers import build_handlers
from workers.agenda.imports import register_import
from workers.agenda.reminders import register_reminders
from workers.app import create_worker_app
from workers.service import make_replier, register_service, task_base

app = create_worker_app(AGENDA)
_settings = app.conf.estafeta_settings
_stores = open_stores(_settings, "agenda")
_store = _stores.events
_replier = make_replier(_settings, AGENDA, _stores.ledger)
_base = task_base(AGENDA, _replier)
register_reminders(app, _base, _store, _replier, _settings.reminder_late_seconds)
register_import(app, _base, _store)
register_service(app, AGENDA, build_handlers(_store, _replier), _replier, _base)
# Read by the main process when /metrics is scraped (its connections are its own).
monitoring.add_collector(ReminderGauges(_store, _settings.reminder_late_seconds))
