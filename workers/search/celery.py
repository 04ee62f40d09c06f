"""The Celery app of the search service: `celery -A workers.search worker` finds it here."""

from estafeta.stores import open_stores
from routing import SEARCH
from workers.app import create_worker_app
from workers.search.backfill import register_backfill
from workers.search.handlers import build_handlers
from workers.search.kb import register_knowledge_base
from workers.service import make_replier, register_service, task_base

app = create_worker_app(SEARCH)
_settings = app.conf.estafeta_settings
_stores = open_stores(_settings, "search")
_replier = make_replier(_settings, SEARCH, _stores.ledger)
_base = task_base(SEARCH, _replier)
_start_backfill = register_backfill(app, _base, _replier, _stores.backfills)
register_knowledge_base(app, _base, _stores.documents)
register_service(app, SEARCH, build_handlers(_stores, _replier, _start_backfill), _replier, _base)
