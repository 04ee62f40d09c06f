"""Channel and people names typed as plain text (`in:#general`, `from:@ana`), resolved to ids.

Slack's autocomplete sends `<#C…|general>` and `<@U…|ana>`; a person who types the name, and
every HTTP caller, sends only the name. Names come from `conversations.list` and `users.list`
(paginated), cached per team in the search service's `NameCache` and refreshed when stale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackApiError

from workers.replies import SlackReplier
from workers.search.query import QueryError
from workers.search.store import NameCache
from workers.search.text import fold

log = logging.getLogger(__name__)

NAMES_TTL = 3600.0  # seconds a team's list of names is trusted
# A name not in the list may be new: look again, but at most this often per team (Slack's
# list methods are rate-limited to about 20 calls a minute).
MISS_REFRESH_AFTER = 30.0
PAGE_LIMIT = 200
MAX_PAGES = 100  # 20,000 channels or people: more than any workspace this bot serves
CHANNEL, USER = "channel", "user"


class NameLookupError(Exception):
    """Slack refused to list the names (a missing scope, say); the message says why."""


def _pages(replier: SlackReplier, method: str, **arguments: Any) -> Iterator[dict[str, Any]]:
    cursor = ""
    for _ in range(MAX_PAGES):
        page = replier.call(method, cursor=cursor or None, limit=PAGE_LIMIT, **arguments)
        yield page
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return


class SlackNames:
    """Resolves the names of one team's channels and people, through a `NameCache`."""

    def __init__(self, cache: NameCache, replier: SlackReplier) -> None:
        self.cache = cache
        self.replier = replier

    def resolver(self, team: str) -> TeamNames:
        """The names of `team`, as `parse` wants them."""
        return TeamNames(self, team)

    def lookup(self, team: str, kind: str, name: str) -> list[str]:
        """The ids called `name` (folded; `#`/`@` stripped) in `team`; [] when unknown.

        Slack's `TransientError` passes through (the command is retried); a refusal becomes
        `NameLookupError`.
        """
        key = fold(name.lstrip("#@"))
        fetched = self.cache.fetched_at(team, kind)
        age = time.time() - fetched if fetched is not None else None
        if age is None or age > NAMES_TTL:
            self._refresh(team, kind)
            return self.cache.ids(team, kind, key)
        ids = self.cache.ids(team, kind, key)
        if not ids and age > MISS_REFRESH_AFTER:
            self._refresh(team, kind)
            ids = self.cache.ids(team, kind, key)
        return ids


    def _refresh(self, team: str, kind: str) -> None:
        entries: list[tuple[str, str, int]] = []
        try:
            # The bot's token lists its own workspace: another team's names are not these.
            if self.replier.bot_team() == team:
                entries = list(self._channels() if kind == CHANNEL else self._users())
        except SlackApiError as exc:
            error = str((exc.response or {}).get("error") or "error")
            log.warning("listing %s names for %s failed: %s", kind, team, error)
            raise NameLookupError(error) from exc
        self.cache.replace(team, kind, entries)

    def _channels(self) -> Iterator[tuple[str, str, int]]:
        for page in _pages(self.replier, "conversations_list",
                           types="public_channel,private_channel", exclude_archived=False):
            for channel in page.get("channels") or []:
                if channel.get("id") and channel.get("name"):
                    yield fold(str(channel["name"])), str(channel["id"]), 0

    def _users(self) -> Iterator[tuple[str, str, int]]:
        for page in _pages(self.replier, "users_list"):
            for user in page.get("members") or []:
                if not user.get("id") or user.get("deleted"):
                    continue
                profile = user.get("profile") or {}
                if user.get("name"):
                    yield fold(str(user["name"])), str(user["id"]), 0
                for field in ("display_name", "real_name"):
                    if profile.get(field):
                        yield fold(str(profile[field])), str(user["id"]), 1


class TeamNames:
    """One team's names: what `workers.search.query.parse` asks."""

    def __init__(self, names: SlackNames, team: str) -> None:
        self.names = names
        self.team = team

    def channel(self, name: str) -> list[str]:
        """Ids of the channels called `name`."""
        return self._lookup(CHANNEL, name)

    def user(self, name: str) -> list[str]:
        """Ids of the people called `name`."""
        return self._lookup(USER, name)

    def _lookup(self, kind: str, name: str) -> list[str]:
        try:
            return self.names.lookup(self.team, kind, name)
        except NameLookupError as error:
            what = "channels" if kind == CHANNEL else "people"
            raise QueryError(f"Slack would not tell me the names of {what} ({error}); "
                             "pick one from the autocomplete instead.") from error
