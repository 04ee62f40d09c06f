"""Where the processes of one gateway or worker write their metrics together.

`prometheus_client` chooses, once and when it is first imported, between metrics held in the
process and metrics kept in files that many processes share (its multiprocess mode: gunicorn's
workers, Celery's pool). So `use_directory` runs before anything imports it, and this module
must not import it either.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_CREATED: dict[str, Path] = {}  # the directory `use_directory` made, the only one removed


class TooLate(RuntimeError):
    """`prometheus_client` was imported before its multiprocess directory was chosen."""


def use_directory(owner: str) -> Path:
    """Make every process forked from this one write its metrics under one fresh directory.

    `PROMETHEUS_MULTIPROC_DIR` when the environment names one (emptied first: what a process
    that ran before wrote is not this one's), else a new temporary directory for `owner`.
    """
    if "prometheus_client" in sys.modules and ENV not in os.environ:
        raise TooLate("prometheus_client was imported before its multiprocess directory "
                      "was set; import estafeta.multiprocess first")
    named = os.environ.get(ENV)
    if named:
        path = Path(named)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix=f"estafeta-{owner}-metrics-"))
        os.environ[ENV] = str(path)
        _CREATED["path"] = path
    return path


def enabled() -> bool:
    """Whether this process writes its metrics to a shared directory."""
    return bool(os.environ.get(ENV))


def remove_directory() -> None:
    """Delete the shared directory this process created (at the end of the master); one the
    environment named belongs to whoever named it."""
    created = _CREATED.pop("path", None)
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
