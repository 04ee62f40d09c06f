"""Where a worker gets each team's bot token: the installations (OAuth), rotated before they
expire, or the one `SLACK_BOT_TOKEN` of a single-workspace app.

A token is cached per team for a minute, so that a busy worker does not read the database for
every call, and dropped as soon as Slack refuses it. A team with no installation has no token:
never another team's (the task then dead-letters, `workers.replies.NotInstalled`).

Rotation: Slack hands out a new refresh token with every refresh, and the old one is spent, so
two processes refreshing one installation at once would leave one of them (and the install)
with a dead refresh token. The refresh therefore runs under the installation's row lock
(`InstallationRecords.change`: BEGIN IMMEDIATE on SQLite, SELECT … FOR UPDATE on PostgreSQL),
and its call to Slack gives up after `ROTATE_TIMEOUT`, well within how long the databases let
a writer wait for a lock (SQLite's busy timeout, PostgreSQL's `lock_timeout`): whoever comes
second waits, re-reads the row and finds the fresh token, and refreshes nothing. One that
waits longer than that gets `StoreUnavailable`, and its task is retried (the gateway answers
503). A refresh that timed out keeps the token it had while that is still valid.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation import TokenRotator

from estafeta.installations import EncryptedInstallationStore
from estafeta.settings import Settings
from estafeta.slack_api import NETWORK_ERRORS, REFUSED_TOKEN_ERRORS, api_base
from estafeta.stores import open_stores
from workers.replies import (
    SLACK_TIMEOUT,
    StaticToken,
    TokenSource,
    TransientError,
    _slack_api_error,
)

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0  # how long a token read from the installations is used without a look
ROTATE_BEFORE = 300.0  # a token expiring sooner than this is refreshed first
# Seconds the refresh call (made under the installation's lock) may take: under PostgreSQL's
# 3 s lock_timeout and SQLite's 10 s busy timeout, so that the other writers of the row wait
# for it rather than fail.
ROTATE_TIMEOUT = 2


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: float | None  # the token's own expiry (None: it does not expire)
    read_at: float


class InstallationTokens:
    """`TokenSource` of an app installed into many workspaces (`SLACK_CLIENT_ID` set)."""

    def __init__(self, installations: EncryptedInstallationStore, *, api_url: str,
                 client_id: str, client_secret: str, fallback_token: str = "",
                 cache_seconds: float = CACHE_SECONDS, rotate_before: float = ROTATE_BEFORE,
                 clock: Callable[[], float] = time.time) -> None:
        self.installations = installations
        self.base_url = api_base(api_url)
        self.rotator = TokenRotator(client_id=client_id, client_secret=client_secret,
                                    client=self._client(None, timeout=ROTATE_TIMEOUT))
        self.fallback_token = fallback_token
        self.cache_seconds = cache_seconds
        self.rotate_before = rotate_before
        self.clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self._team_locks: dict[str, threading.Lock] = {}
        # The team `SLACK_BOT_TOKEN` belongs to, from `auth.test` (None: not asked yet; "": it
        # serves none, Slack refused it).
        self._fallback_team: str | None = None

    def _client(self, token: str | None, timeout: int = SLACK_TIMEOUT) -> WebClient:
        return WebClient(token=token, base_url=self.base_url, timeout=timeout,
                         retry_handlers=[])  # retries are Celery's job

    def _expiring(self, expires_at: float | None, now: float) -> bool:
        return expires_at is not None and expires_at - now <= self.rotate_before

    # -- TokenSource ---------------------------------------------------------------------

    def token_for(self, team: str) -> str | None:
        """The bot token of `team`: its installation's (refreshed when about to expire), else
        `SLACK_BOT_TOKEN` if that is `team`'s own; None when the app is not installed there."""
        if not team:
            return None
        cached = self._fresh(team)
        if cached is not None:
            return cached
        with self._team_lock(team):  # one look-up per team at a time in this process
            cached = self._fresh(team)
            if cached is not None:
                return cached
            found = self._look_up(team)
            if found is None:
                return None
            with self._lock:
                self._cache[team] = found
            return found.token

    def refused(self, team: str, token: str) -> None:
        """Slack refused `token`: forget it, so that the next call reads the team's install
        again (rotated, reinstalled, or gone)."""
        with self._lock:
            cached = self._cache.get(team)
            if cached is not None and cached.token == token:
                del self._cache[team]
            if token == self.fallback_token:
                self._fallback_team = None  # asked again: a refused token serves no team
        log.info("Slack refused the token of team %s; it is looked up again", team)

    # -- inside --------------------------------------------------------------------------

    def _fresh(self, team: str) -> str | None:
        now = self.clock()
        with self._lock:
            cached = self._cache.get(team)
            if cached is None or now - cached.read_at >= self.cache_seconds or self._expiring(
                    cached.expires_at, now):
                return None
            return cached.token

    def _team_lock(self, team: str) -> threading.Lock:
        with self._lock:
            if len(self._team_locks) > 10_000:  # teams come and go: keep it bounded
                self._team_locks.clear()
            return self._team_locks.setdefault(team, threading.Lock())

    def _look_up(self, team: str) -> _Cached | None:
        now = self.clock()
        installation = self.installations.find_installation(enterprise_id=None, team_id=team)
        if installation is not None and installation.bot_token:
            if self._expiring(installation.bot_token_expires_at, now):
                installation = self._rotate(installation, now)
            if installation is not None and installation.bot_token:
                expires = installation.bot_token_expires_at
                return _Cached(installation.bot_token, None if expires is None else float(expires),
                               now)
            return None
        token = self._fallback_for(team)
        return None if token is None else _Cached(token, None, now)

    def _rotate(self, installation: Installation, now: float) -> Installation | None:
        """The installation with a fresh bot token, refreshed once across every process."""
        minutes = max(1, math.ceil(self.rotate_before / 60))

        def refresh(current: Installation) -> Installation | None:
            if not self._expiring(current.bot_token_expires_at, self.clock()):
                return None  # another process refreshed it while this one waited for the lock
            return self.rotator.perform_token_rotation(installation=current,
                                                       minutes_before_expiration=minutes)

        expires = installation.bot_token_expires_at
        still_valid = expires is not None and expires > now
        try:
            rotated = self.installations.update(installation, refresh)
        except SlackTokenRotationError as exc:
            error = exc.api_error
            retry = _slack_api_error(error)
            if isinstance(retry, TransientError):
                if still_valid:  # good for a few minutes more: the next look-up refreshes
                    return installation
                raise retry from exc
            log.error("Slack refused to refresh the token of team %s (%s): reinstall the app "
                      "there", installation.team_id, error.response.get("error"))
            return installation if still_valid else None
        except NETWORK_ERRORS as exc:
            if still_valid:
                return installation
            raise TransientError(f"Slack unreachable to refresh a token: {exc}") from exc
        if rotated is None:  # uninstalled meanwhile
            return None
        if rotated.bot_token != installation.bot_token:
            log.info("rotated the bot token of team %s", installation.team_id)
        return rotated

    def _fallback_for(self, team: str) -> str | None:
        """`SLACK_BOT_TOKEN`, for the one team `auth.test` says it belongs to (asked once)."""
        if not self.fallback_token:
            return None
        with self._lock:
            owner = self._fallback_team
        if owner is None:
            owner = self._fallback_owner()
            with self._lock:
                self._fallback_team = owner
        return self.fallback_token if owner == team else None

    def _fallback_owner(self) -> str:
        try:
            answer = self._client(self.fallback_token).auth_test()
        except SlackApiError as exc:
            retry = _slack_api_error(exc)
            if isinstance(retry, TransientError):
                raise retry from exc
            error = exc.response.get("error")
            log.warning("SLACK_BOT_TOKEN serves no team: Slack answered %s%s", error,
                        " (refused)" if error in REFUSED_TOKEN_ERRORS else "")
            return ""
        except NETWORK_ERRORS as exc:
            raise TransientError(f"Slack unreachable to check SLACK_BOT_TOKEN: {exc}") from exc
        owner = str(answer.get("team_id") or "")
        log.info("SLACK_BOT_TOKEN serves team %s (no installation of its own there)", owner)
        return owner


def token_source(settings: Settings) -> TokenSource:
    """Where this worker's tokens come from: the installations with OAuth, else the one
    `SLACK_BOT_TOKEN`."""
    if not settings.oauth_enabled:
        return StaticToken(settings.slack_bot_token)
    stores = open_stores(settings, "installations")
    return InstallationTokens(
        EncryptedInstallationStore(stores.records, settings.slack_token_keys),
        api_url=settings.slack_api_base, client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret, fallback_token=settings.slack_bot_token)
