"""Request authentication: Slack's request signatures and `/api/v1` bearer tokens."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from flask import Request
from slack_sdk.signature import SignatureVerifier

from gateway.errors import ApiError

MAX_CLOCK_SKEW = 5 * 60  # seconds, as Slack recommends


def verify_slack_request(request: Request, signing_secret: str) -> None:
    """Raise a 401 `ApiError` unless the raw body carries a valid, fresh Slack signature."""
    if not signing_secret:
        raise ApiError(401, "unauthorized", "The gateway has no Slack signing secret configured.")
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        raise ApiError(401, "unauthorized", "Missing Slack signature headers.")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise ApiError(401, "unauthorized", "The Slack request timestamp is not a number.")
    body = request.get_data(cache=True)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        # Slack only sends UTF-8; the verifier would fail to decode anything else.
        raise ApiError(401, "unauthorized", "Invalid Slack signature.") from None
    verifier = SignatureVerifier(signing_secret)
    # SignatureVerifier checks the 5-minute window and compares in constant time.
    if not verifier.is_valid(body, timestamp, signature):
        raise ApiError(401, "unauthorized", "Invalid or stale Slack signature.")


def authenticate_bearer(request: Request, tokens: Mapping[str, str]) -> str:
    """Return the team of the request's bearer token, or raise a 401 `ApiError`."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "Send `Authorization: Bearer <token>`.",
                       headers={"WWW-Authenticate": 'Bearer realm="estafeta"'})
    for known, team in tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            return team
    raise ApiError(401, "unauthorized", "Unknown bearer token.",
                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
