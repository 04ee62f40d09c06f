"""The sentiment service: the mood of each channel. Run: `celery -A workers.sentiment worker`."""

from routing import SENTIMENT
from workers.app import create_worker_app
from workers.sentiment.handlers import build_handlers
from workers.service import register_service

app = create_worker_app(SENTIMENT)
register_service(app, SENTIMENT, build_handlers(app.conf.estafeta_settings))
