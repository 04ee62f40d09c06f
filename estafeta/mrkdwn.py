"""Slack's message formatting, as far as the bot writing user text back needs it."""

from __future__ import annotations

# Slack's formatting rules: only these three characters are control characters in mrkdwn,
# and `&` first so that an escape is never escaped twice.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """User text made inert in a Slack message: `<!channel>`, `<@U1>`, `<url|label>` stay text.

    Every string a user typed (a title, a query, a quoted word) goes through this before the
    bot writes it back, so the bot never pings, links or formats on a user's behalf.
    """
    return text.translate(_ESCAPES)


def unescape(text: str) -> str:
    """The inverse of `escape` (Slack's own escapes in message text), in one linear pass."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


ELLIPSIS = "…"


def fit(text: str, limit: int) -> str:
    """Mrkdwn cut to at most `limit` characters, ending with "…", never inside an escape
    (`&amp;`) or an angle-bracket token (`<#C1>`, `<@U1>`, `<url|label>`)."""
    if len(text) <= limit:
        return text
    if limit < len(ELLIPSIS):
        return ""
    cut = text[:limit - len(ELLIPSIS)]
    # In mrkdwn a `<` only opens a token (a typed one is escaped): one with no `>` after it
    # is cut through, and goes whole.
    opening = cut.rfind("<")
    if opening >= 0 and ">" not in cut[opening:]:
        cut = cut[:opening]
    # Likewise `&` only opens an escape, the longest five characters long.
    amp = cut.rfind("&", -(len("&amp;") - 1))
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS
