"""Probes for orchestrators: alive, and ready (the broker accepts connections)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from gateway.state import gateway

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The broker is reachable, so accepted work can be published."""
    if gateway().publisher.ping(timeout=1.0):
        return jsonify({"status": "ready", "broker": "reachable"}), 200
    return jsonify({"status": "unavailable", "broker": "unreachable"}), 503
