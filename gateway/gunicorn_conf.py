"""Gunicorn settings of the gateway (`gunicorn -c python:gateway.gunicorn_conf ...`)."""

import os

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
