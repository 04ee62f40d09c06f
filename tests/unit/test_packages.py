"""Importing a service builds nothing; `celery -A workers.<svc>` still finds the service's app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import routing

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: this test process may have built apps already.
IMPORTS_NOTHING = """
import importlib, json, sys
from celery import _state
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps({"celery_modules": sorted(m for m in sys.modules if m.endswith(".celery")
                                           and m.startswith("workers.")),
                  "apps": [app.main for app in _state._get_active_apps()]}))
"""

FINDS_APP = """
import json, sys
from celery.app.utils import find_app
app = find_app(sys.argv[1])
print(json.dumps({"main": app.main, "queues": sorted(app.amqp.queues.consume_from),
                  "tasks": sorted(t for t in app.tasks if not t.startswith("celery."))}))
"""


def _run(script: str, *args: str, tmp_path: Path) -> dict[str, list[str] | str]:
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str] | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("service", sorted(routing.SERVICES))
def test_importing_a_service_package_builds_no_worker(service: str, tmp_path: Path) -> None:
    modules = [f"workers.{service}"]
    if (ROOT / "workers" / service / "commands.py").exists():
        modules.append(f"workers.{service}.commands")
    if service == "search":
        modules.append("workers.search.kb")  # the CLI reads INDEX_TASK from it
    found = _run(IMPORTS_NOTHING, *modules, tmp_path=tmp_path)
    assert found == {"celery_modules": [], "apps": []}


@pytest.mark.parametrize("service", sorted(routing.SERVICES))
def test_celery_finds_the_service_app_from_the_package_name(service: str,
                                                            tmp_path: Path) -> None:
    # What `celery -A workers.<svc> worker` (Procfile, compose, integration tests) resolves.
    found = _run(FINDS_APP, f"workers.{service}", tmp_path=tmp_path)
    assert found["main"] == f"estafeta-{service}"
    expected = routing.SERVICES[service]
    assert found["queues"] == sorted(q.name for q in expected.consumed_queues)
    assert expected.command_task in found["tasks"]
    assert expected.maintenance_task in found["tasks"]
