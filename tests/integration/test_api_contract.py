"""The HTTP API keeps its OpenAPI contract: `schemathesis run --checks all` against a live app."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import API_TOKEN
from tests.integration.broker import ROOT, Vhost
from tests.integration.conftest import free_port

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = ROOT / "schemathesis.toml"  # what `schemathesis run` reads from the repository root
# Enough generated requests per operation to find what a contract break looks like, few enough
# that the run stays well under a minute on a small machine.
MAX_EXAMPLES = 25
TIME_BUDGET = 25  # seconds, for all of schemathesis' phases together


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        """Thousands of generated requests: not one log line each."""


@pytest.fixture
def live_gateway(app: Flask, gateway_vhost: Vhost) -> Iterator[str]:
    """The gateway app served over HTTP on a free loopback port, publishing to a real vhost."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True,
                         request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        gateway_vhost.purge()


def test_schemathesis_all_checks_pass_against_the_live_api(
    live_gateway: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(CONFIG),
         "run", f"{live_gateway}/api/v1/openapi.json",
         "--checks", "all",
         "--header", f"Authorization: Bearer {API_TOKEN}",
         "--max-examples", str(MAX_EXAMPLES),
         "--max-time", str(TIME_BUDGET),
         "--workers", "1",
         "--seed", "9",
         "--no-color"],
        capture_output=True, text=True, timeout=TIME_BUDGET + 60,
        cwd=tmp_path,  # its cache directory stays out of the working tree
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # The stateful phase ran too: POST a command, then GET the task its 202 points to.
    assert "Stateful" in result.stdout, result.stdout[-3000:]
