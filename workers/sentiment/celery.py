"""The Celery app of the sentiment service: `celery -A workers.sentiment worker` finds it here."""

from estafeta.stores import open_stores
from routing import SENTIMENT
from workers.app import create_worker_app
from workers.sentiment.analysis import Analyzer
from workers.sentiment.handlers import build_handlers
from workers.service import make_replier, register_service, task_base

app = create_worker_app(SENTIMENT)
_settings = app.conf.estafeta_settings
_stores = open_stores(_settings, "sentiment")
_replier = make_replier(_settings, SENTIMENT, _stores.ledger)
register_service(
    app, SENTIMENT, build_handlers(_stores.moods, Analyzer(), _replier),
    _replier, task_base(SENTIMENT, _replier),
)
