"""The gateway imports the services' declarations, never their worker code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import routing

ROOT = Path(__file__).resolve().parents[3]

# A fresh interpreter: this test process has imported worker code already. The parser is used
# too, so that every declaration it needs is loaded.
GATEWAY_IMPORTS = """
import json, sys
import gateway
from estafeta import grammar
grammar.parse_mention("<@U1> help"); grammar.help_text(None)
print(json.dumps(sorted(m for m in sys.modules if m == "workers" or m.startswith("workers."))))
"""


def test_the_gateway_imports_only_the_services_declarations(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", GATEWAY_IMPORTS], cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)},
                          capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    # Each service package's __init__ builds nothing; its commands module only declares;
    # `workers.startup` reads the command line (a `celery worker` only) and imports nothing.
    allowed = {"workers", "workers.startup"} | {f"workers.{name}" for name in routing.SERVICES} | {
        f"workers.{name}.commands" for name in routing.SERVICES}
    assert sorted(set(loaded) - allowed) == []
    assert {f"workers.{name}.commands" for name in routing.SERVICES} <= set(loaded)
