"""The search service: a searchable memory of the team. Run: `celery -A workers.search worker`."""

from routing import SEARCH
from workers.app import create_worker_app
from workers.search.backfill import register_backfill
from workers.search.handlers import build_handlers
from workers.search.kb import register_knowledge_base
from workers.search.sqlite_store import SqliteSearchStore
from workers.service import make_replier, register_service, task_base

app = create_worker_app(SEARCH)
_settings = app.conf.estafeta_settings
_store = SqliteSearchStore(_settings.data_dir / "search.sqlite")
_replier = make_replier(_settings, SEARCH)
_base = task_base(SEARCH, _replier)
_start_backfill = register_backfill(app, _base, _replier)
register_knowledge_base(app, _base, _store)
register_service(app, SEARCH, build_handlers(_store, _replier, _start_backfill), _replier, _base)
