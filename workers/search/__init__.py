"""The search service: a searchable memory of the team. Run: `celery -A workers.search worker`."""

from routing import SEARCH
from workers.app import create_worker_app
from workers.search.handlers import build_handlers
from workers.service import register_service

app = create_worker_app(SEARCH)
register_service(app, SEARCH, build_handlers(app.conf.estafeta_settings))
