"""A person's language from their Slack locale (`users.info`), for when their words don't say."""

from __future__ import annotations

import threading
import time

from estafeta import grammar
from workers.replies import CURRENT_TEAM, NotInstalled, SlackReplier, TransientError

LOCALE_TTL = 3600.0  # seconds; people rarely change their Slack language
MAX_CACHED = 10_000


class Locales:
    """`users.info` locales, cached per team and user for an hour."""

    def __init__(self, replier: SlackReplier, ttl: float = LOCALE_TTL) -> None:
        self.replier = replier
        self.ttl = ttl
        self._known: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def lang_of(self, user: str) -> str | None:
        """`en` or `es` for `user` of the current team, or None when Slack cannot say."""
        if not user:
            return None
        key = (CURRENT_TEAM.get(), user)
        now = time.monotonic()
        with self._lock:
            known = self._known.get(key)
        if known is not None and now - known[0] < self.ttl:
            return known[1]
        try:
            info = self.replier.call("users_info", user=user, include_locale=True)
        except TransientError:
            return None  # not worth a retry: the answer is in English until Slack is back
        except NotInstalled:
            raise  # nothing may be sent for this team: not even its answer
        except Exception:  # a user of another workspace, a missing scope: no locale
            info = {}
        locale = str((info.get("user") or {}).get("locale") or "")
        lang = locale.split("-")[0].lower() if locale else ""
        found = lang if lang in grammar.LANGS else None
        with self._lock:
            if len(self._known) >= MAX_CACHED:
                self._known.clear()
            self._known[key] = (now, found)
        return found
