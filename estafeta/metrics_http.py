"""`/metrics` and `/healthz` on a port of their own, for a process that serves no HTTP
otherwise: a worker's main process, the Socket Mode process."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.registry import Collector

from estafeta import metrics

# (HTTP status, JSON body) of /healthz.
Health = Callable[[], tuple[int, dict[str, Any]]]


def _alive() -> tuple[int, dict[str, Any]]:
    return 200, {"status": "ok"}


class MetricsServer:
    """Serves `collectors` (and this process's metrics) on `/metrics` and `health()` on
    `/healthz`, from a daemon thread: it never holds up the process's exit."""

    def __init__(self, port: int, host: str = "0.0.0.0",
                 collectors: Iterable[Collector] = (), health: Health = _alive) -> None:
        served = tuple(collectors)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    status, kind, body = 200, metrics.CONTENT_TYPE, metrics.exposition(served)
                elif path == "/healthz":
                    status, answer = health()
                    kind, body = "application/json", json.dumps(answer).encode()
                else:
                    status, kind = 404, "application/json"
                    body = json.dumps({"error": "not_found"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Scrapes and probes every few seconds are not worth a log line each."""

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        name="estafeta-metrics", daemon=True)

    def start(self) -> MetricsServer:
        """Serve until `stop`."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()
