"""The OpenAPI 3.1 document of `/api/v1`."""

from __future__ import annotations

from typing import Any

import routing


def _error() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/Error"}


def openapi_document() -> dict[str, Any]:
    """Describe the commands and tasks endpoints."""
    json_error = {"application/json": {"schema": _error()}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Estafeta API",
            "version": "1",
            "description": "The bot's commands over HTTP: the same grammar as the Slack commands.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "usage": {"type": "string"},
                    },
                },
                "CommandRequest": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {
                        "text": {"type": "string", "maxLength": 4000,
                                 "examples": ["deploy failed"]},
                        "channel": {"type": "string"},
                        "user": {"type": "string"},
                        "lang": {"type": "string", "enum": ["en", "es"]},
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
                        "task_id": {"type": "string"},
                        "state": {"type": "string",
                                  "enum": ["PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE"]},
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
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/Accepted"}}}},
                        "400": {"description": "Malformed body or unknown sub-command",
                                "content": json_error},
                        "401": {"description": "Missing or wrong bearer token",
                                "content": json_error},
                        "404": {"description": "Unknown service", "content": json_error},
                        "413": {"description": "Body over 1 MiB", "content": json_error},
                        "415": {"description": "Not application/json", "content": json_error},
                        "503": {"description": "Broker unavailable; see Retry-After",
                                "content": json_error},
                    },
                }
            },
            "/api/v1/tasks/{task_id}": {
                "get": {
                    "summary": "State and result of a task",
                    "parameters": [{"name": "task_id", "in": "path", "required": True,
                                    "schema": {"type": "string", "format": "uuid"}}],
                    "responses": {
                        "200": {"description": "The task's state",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/TaskStatus"}}}},
                        "401": {"description": "Missing or wrong bearer token",
                                "content": json_error},
                        "404": {"description": "Unknown task", "content": json_error},
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {"summary": "This document", "security": [],
                        "responses": {"200": {"description": "OpenAPI 3.1"}}}
            },
        },
    }
