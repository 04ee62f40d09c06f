"""Gunicorn's configuration chooses the metrics' shared directory before anything imports
`prometheus_client`: else each gunicorn worker would count alone and a scrape would see one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# What gunicorn's master does with `-c python:gateway.gunicorn_conf`, then the app it loads.
LOAD = """
import json, os, sys
import gateway
before = "prometheus_client" in sys.modules  # the package gunicorn imports first: none of it
import gateway.gunicorn_conf
from prometheus_client import values
from estafeta import multiprocess
import gateway, gateway.metrics
shared = os.environ["PROMETHEUS_MULTIPROC_DIR"]
print(json.dumps({"imported_before": before, "value": values.ValueClass.__name__,
                  "shared": os.path.isdir(shared)}))
multiprocess.remove_directory()
print(json.dumps({"removed": not os.path.exists(shared)}))
"""


def test_gunicorn_conf_makes_every_worker_write_to_one_directory(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)})
    loaded, removed = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert loaded == {"imported_before": False, "value": "MmapedValue", "shared": True}
    assert removed == {"removed": True}
