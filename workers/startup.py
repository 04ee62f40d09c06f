"""What a worker decides before anything imports `prometheus_client`: its metrics port, and
whether its pool processes share their metrics (`estafeta.multiprocess`).

Imported by `workers/__init__.py`, so by every `celery -A workers.<service> ...` command
before the app is built; it must import neither `prometheus_client` nor `estafeta.metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from estafeta import multiprocess
from estafeta.settings import layered_environ

APP_OPTIONS = ("-A", "--app")
_PREPARED: list[str] = []  # once per process: a re-import must not empty the directory again


def metrics_port(env: Mapping[str, str]) -> int:
    """`METRICS_PORT`; 0 (unset, empty or not a number): none.

    Never `PORT`: in a shell, a `.env` or an environment shared by every process it is the
    gateway's. The Procfile hands each worker its own (`METRICS_PORT=${METRICS_PORT:-$PORT}`:
    honcho and a PaaS give every process a `PORT` of its own).
    """
    value = env.get("METRICS_PORT") or "0"
    try:
        return max(0, int(value))
    except ValueError:
        return 0


def worker_service(argv: Sequence[str]) -> str | None:
    """The service of a `celery -A workers.<service> worker` command line; None for any
    other command (`inspect`, `beat`, a test run, `estafeta import-agenda`)."""
    args = list(argv[1:])
    app, app_at = "", -1
    for index, arg in enumerate(args):
        if arg in APP_OPTIONS and index + 1 < len(args):
            app, app_at = args[index + 1], index + 1
        elif arg.startswith("--app="):
            app, app_at = arg.removeprefix("--app="), index
        elif arg.startswith("-A") and len(arg) > 2 and not arg.startswith("--"):
            app, app_at = arg[2:], index
    # The sub-command comes after the app option.
    if not app.startswith("workers.") or "worker" not in args[app_at + 1:]:
        return None
    service = app.removeprefix("workers.").split(".")[0].split(":")[0]
    return service if service and service != "beat" else None


def prepare(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> str | None:
    """In the main process of a worker that serves metrics, make its pool write them to one
    shared directory; return the service (None: nothing done)."""
    service = worker_service(argv)
    if service is None or _PREPARED:
        return None
    if metrics_port(layered_environ(environ)) == 0:
        return None
    # `PROMETHEUS_MULTIPROC_DIR`, when the environment names one, is made and emptied here.
    multiprocess.use_directory(service)
    _PREPARED.append(service)
    return service
