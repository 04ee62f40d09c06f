"""The OpenAPI 3.1 document of `/api/v1`."""

from __future__ import annotations

from typing import Any

import routing
from estafeta import grammar


def _error() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/Error"}


def _response(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/{name}"}


def _header(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/headers/{name}"}


def _json_error(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _error()}}, **extra}


_STATES = ["PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED"]


def openapi_document() -> dict[str, Any]:
    """Describe the commands and tasks endpoints, with every status they answer."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Estafeta API",
            "version": "1",
            "description": (
                "The bot's commands over HTTP: the same grammar as the Slack commands. "
                "Every error is JSON `{\"error\": code, \"message\": text}`; a method an "
                "endpoint does not support is answered `405` with an `Allow` header."
            ),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "headers": {
                "Retry-After": {"description": "Seconds to wait before retrying",
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}},
                "WWW-Authenticate": {"description": "The bearer challenge",
                                     "schema": {"type": "string"}},
                "Allow": {"description": "The methods the endpoint supports",
                          "schema": {"type": "string"}},
            },
            "responses": {
                "BadRequest": _json_error(
                    "Malformed body (`error: bad_request`), or a text the service does not "
                    "understand (`error: usage`, with the service's help in `usage`)"),
                "Unauthorized": _json_error(
                    "Missing or unknown bearer token",
                    headers={"WWW-Authenticate": _header("WWW-Authenticate")}),
                "MethodNotAllowed": _json_error(
                    "The endpoint does not support this method",
                    headers={"Allow": _header("Allow")}),
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string",
                                  "examples": ["bad_request", "usage", "unauthorized"]},
                        "message": {"type": "string"},
                        "usage": {"type": "string",
                                  "description": "With `error: usage`: what the service "
                                                 "understands (its help text)"},
                    },
                },
                "CommandRequest": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {
                        "text": {"type": "string", "maxLength": grammar.MAX_TEXT_LENGTH,
                                 "examples": ["deploy failed"]},
                        "channel": {"type": "string"},
                        "lang": {"type": "string", "enum": list(grammar.LANGS)},
                        "priority": {"type": "string", "enum": ["interactive", "bulk"]},
                    },
                },
                "Accepted": {
                    "type": "object",
                    "required": ["task_id", "status_url", "service", "verb"],
                    "properties": {
                        "task_id": {"type": "string", "format": "uuid"},
                        "status_url": {"type": "string", "format": "uri"},
                        "service": {"type": "string"},
                        "verb": {"type": "string"},
                    },
                },
                "TaskStatus": {
                    "type": "object",
                    "required": ["task_id", "state"],
                    "properties": {
                        "task_id": {"type": "string", "format": "uuid"},
                        "state": {"type": "string", "enum": _STATES},
                        "result": {
                            "type": "object",
                            "properties": {
                                "service": {"type": "string"},
                                "verb": {"type": "string"},
                                "text": {"type": "string"},
                                "data": {"type": "object"},
                            },
                        },
                        "error": {"type": "string"},
                    },
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/commands/{service}": {
                "post": {
                    "summary": "Queue a command for a service",
                    "parameters": [{
                        "name": "service", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": sorted(routing.SERVICES)},
                    }],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/CommandRequest"}}}},
                    "responses": {
                        "202": {"description": "Queued and confirmed by the broker",
                                "headers": {"Location": {
                                    "description": "The task's status URL",
                                    "required": True,
                                    "schema": {"type": "string", "format": "uri"}}},
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/Accepted"}}},
                                "links": {"status": {
                                    "operationId": "taskStatus",
                                    "parameters": {"task_id": "$response.body#/task_id"}}}},
                        "400": _response("BadRequest"),
                        "401": _response("Unauthorized"),
                        "404": _json_error("Unknown service"),
                        "413": _json_error("Body over 1 MiB"),
                        "415": _json_error("Not application/json"),
                        "503": _json_error(
                            "Broker or database unavailable: nothing was queued; retry after "
                            "Retry-After", headers={"Retry-After": _header("Retry-After")}),
                    },
                }
            },
            "/api/v1/tasks/{task_id}": {
                "get": {
                    "operationId": "taskStatus",
                    "summary": "State and result of a task",
                    "description": ("A task is only ever visible to the team whose token "
                                    "queued it; an id nobody queued reads as `PENDING`."),
                    "parameters": [{"name": "task_id", "in": "path", "required": True,
                                    "schema": {"type": "string", "format": "uuid"}}],
                    "responses": {
                        "200": {"description": "The task's state",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/TaskStatus"}}}},
                        "401": _response("Unauthorized"),
                        "404": _json_error("Not a task id, or another team's task"),
                        "503": _json_error(
                            "Database unavailable; retry after Retry-After",
                            headers={"Retry-After": _header("Retry-After")}),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {"summary": "This document", "security": [],
                        "responses": {"200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}}}}}
            },
        },
    }
