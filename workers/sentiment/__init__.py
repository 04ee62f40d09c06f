"""The sentiment service: the mood of each channel. Run: `celery -A workers.sentiment worker`."""

from routing import SENTIMENT
from workers.app import create_worker_app
from workers.sentiment.analysis import Analyzer
from workers.sentiment.handlers import build_handlers
from workers.sentiment.scores import MoodStore
from workers.service import make_replier, register_service, task_base

app = create_worker_app(SENTIMENT)
_settings = app.conf.estafeta_settings
_replier = make_replier(_settings, SENTIMENT)
register_service(
    app, SENTIMENT,
    build_handlers(MoodStore(_settings.data_dir / "sentiment.sqlite"), Analyzer(), _replier),
    _replier, task_base(SENTIMENT, _replier),
)
