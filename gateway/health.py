"""Probes for orchestrators: alive, and ready (the broker and the stores answer)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from estafeta.stores import StoreUnavailable
from gateway.state import gateway

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The broker and the gateway's stores are reachable, so work can be accepted."""
    state = gateway()
    broker = state.publisher.ping(timeout=1.0)
    try:
        # A lookup through the same store every Slack request uses (PostgreSQL or SQLite).
        _ = "readiness-probe" in state.accepted_events
        stores = True
    except StoreUnavailable:
        stores = False
    body = {"status": "ready" if broker and stores else "unavailable",
            "broker": "reachable" if broker else "unreachable",
            "database": "reachable" if stores else "unreachable"}
    return jsonify(body), 200 if broker and stores else 503
