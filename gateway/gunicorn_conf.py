"""Gunicorn settings of the gateway (`gunicorn -c python:gateway.gunicorn_conf ...`)."""

import os
import sys
from typing import Any

from gunicorn import glogging

from estafeta import logs, multiprocess, tracing

# Before anything imports prometheus_client: every worker process writes its metrics under
# this directory, and `/metrics` (whichever process answers it) adds them all up.
multiprocess.use_directory("gateway")

# Only now, and here: `child_exit` runs in the master's SIGCHLD handler, where a first import
# of prometheus_client could be interrupted by the next worker's exit and fail half done.
from prometheus_client import multiprocess as prometheus_multiprocess  # noqa: E402

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
# The path without its query string: the OAuth callback's query carries a code and a state.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
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


def child_exit(server: object, worker: Any) -> None:
    """Fold a finished worker's counters into the dead processes' totals (gauges go)."""
    prometheus_multiprocess.mark_process_dead(worker.pid)


def on_exit(server: object) -> None:
    """Remove the metrics directory the master created."""
    multiprocess.remove_directory()


class GatewayLogger(glogging.Logger):
    """Gunicorn's error and access lines in `LOG_FORMAT`, like the app's, each with the
    request id it answered (access)."""

    def setup(self, cfg: Any) -> None:
        """Hand gunicorn's loggers to the root logger that `estafeta.logs` configures."""
        super().setup(cfg)
        from estafeta.settings import Settings

        try:
            settings = Settings.from_env()
        except ValueError as exc:  # a bad LOG_FORMAT (…): one line, not a traceback
            print(f"estafeta: {exc}", file=sys.stderr)
            sys.exit(1)
        logs.configure("gateway", settings.log_level, settings.log_format)
        for logger, output in ((self.error_log, cfg.errorlog), (self.access_log, cfg.accesslog)):
            if output != "-":
                continue  # a file gunicorn was told to write keeps gunicorn's own handler
            for handler in [h for h in logger.handlers if getattr(h, "_gunicorn", False)]:
                logger.removeHandler(handler)
            logger.propagate = True

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """The access line, with the request id the app gave the response."""
        request_id = next((value for name, value in getattr(resp, "headers", ())
                           if name.lower() == _REQUEST_ID), "")
        with logs.bound(request_id=request_id):
            super().access(resp, req, environ, request_time)


_REQUEST_ID = tracing.HTTP_HEADER.lower()
logger_class = GatewayLogger
