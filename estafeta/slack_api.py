"""The Slack Web API as every process reaches it: its base URL, and what its errors mean."""

from __future__ import annotations

import socket
import urllib.error

# What a call that never got Slack's answer raises (unreachable, cut, timed out): a retry may
# succeed.
NETWORK_ERRORS = (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError)
# What Slack answers to a token that no longer works: it is forgotten, never tried again.
REFUSED_TOKEN_ERRORS = frozenset({"invalid_auth", "token_revoked", "token_expired",
                                  "account_inactive", "not_authed"})


def api_base(url: str) -> str:
    """`url` with exactly one trailing slash: slack_sdk joins method names with urljoin, which
    would otherwise replace the last path segment (…/api + auth.test → …/auth.test)."""
    return url.rstrip("/") + "/"
