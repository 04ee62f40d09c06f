"""Which URLs may receive the bot's answers, and how a URL is written in a log."""

from __future__ import annotations

from urllib.parse import urlsplit

from estafeta.settings import is_loopback_url

# Where Slack's `response_url`s live; anything else would make the bot post a reply (the
# caller's private text included) to whoever signed the request's URL.
SLACK_RESPONSE_ORIGIN = ("https", "hooks.slack.com", None)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    if port == {"https": 443, "http": 80}.get(scheme):
        port = None
    return scheme, parts.hostname, port


def response_url_allowed(url: str, api_url: str) -> bool:
    """True for `https://hooks.slack.com/...`, or, when the Web API in use is on this machine
    (the simulator, tests), a URL on its scheme, host and port."""
    origin = _origin(url)
    if origin is None or not urlsplit(url).path.startswith("/"):
        return False
    if origin == SLACK_RESPONSE_ORIGIN:
        return True
    # The Web API's own host is trusted only when it is this machine (the simulator, tests):
    # against the real Slack, `https://slack.com/...` is not where slash answers go.
    if not is_loopback_url(api_url):
        return False
    api = _origin(api_url)
    return api is not None and api[0] in {"http", "https"} and origin == api


def redacted_url(url: str) -> str:
    """A URL without its path and query (a `response_url`'s path is a credential): for logs."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
    except ValueError:
        return "<unparsable URL>"
    return f"{parts.scheme or '?'}://{host}/…"


def without_password(url: str) -> str:
    """A broker or database URL with its password masked, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url
