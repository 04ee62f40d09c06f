"""Gunicorn settings of the gateway (`gunicorn -c python:gateway.gunicorn_conf ...`)."""

import os
import sys

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# Threads, not only processes: requests of one process wait for their confirms together,
# which is what lets the publisher batch confirms across requests.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GATEWAY_THREADS", "16"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-" if os.environ.get("GATEWAY_ACCESS_LOG") else None
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Request threads wait for confirms that the publisher's reader thread collects. With the
# interpreter's default 5 ms switch interval a woken thread can wait that long for the GIL;
# 1 ms measured about 1.7x the confirmed requests per second here (see bench/).
SWITCH_INTERVAL = 0.001


def on_starting(server: object) -> None:
    """Refuse to start, in one line, on a database that is down or not migrated."""
    from estafeta.migrate import DatabaseNotReady, require_database
    from estafeta.settings import Settings
    from gateway import databases

    settings = Settings.from_env()
    try:
        require_database(settings, databases(settings))
    except DatabaseNotReady as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)


def post_fork(server: object, worker: object) -> None:
    """Tune the interpreter of each worker process."""
    sys.setswitchinterval(SWITCH_INTERVAL)
