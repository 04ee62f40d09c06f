"""The baseline: a bare Flask endpoint that parses the same JSON and answers 202."""

from flask import Flask, Response, jsonify, request


def create_app() -> Flask:
    """Same route shape as the gateway's command endpoint, with no verification or publishing."""
    app = Flask(__name__)

    @app.post("/api/v1/commands/<service>")
    def command(service: str) -> tuple[Response, int]:
        body = request.get_json()
        return jsonify({"task_id": "0", "service": service, "text": body.get("text")}), 202

    return app
