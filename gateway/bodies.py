"""JSON request bodies, decoded strictly: an object, of text that UTF-8 can carry."""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.errors import ApiError

# `\ud800` in JSON decodes to a lone surrogate, which no UTF-8 encoder (SQLite, the broker's
# JSON, slack_sdk) accepts: refused here rather than crashing a worker later. Only an escape
# can produce one, so only escapes are looked at.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE_ESCAPE_BYTES = re.compile(_SURROGATE_ESCAPE.pattern.encode())


def json_object(raw: bytes | str, what: str = "The body") -> dict[str, Any]:
    """Decode `raw` as a JSON object, or raise a `400` `ApiError` saying why not."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_request", f"{what} is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise ApiError(400, "bad_request", f"{what} must be a JSON object.")
    # The escape is ASCII: the body is searched as it came, never decoded a second time.
    found = (_SURROGATE_ESCAPE_BYTES.search(raw) if isinstance(raw, bytes)
             else _SURROGATE_ESCAPE.search(raw))
    if found:
        try:  # a pair is fine (an emoji): only what cannot be encoded is refused
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ApiError(400, "bad_request",
                           f"{what} holds a lone UTF-16 surrogate (\\ud800-\\udfff).") from exc
    return value
