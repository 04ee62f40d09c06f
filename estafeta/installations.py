"""Installations of the app in many workspaces (OAuth v2), shared by the gateway (which saves an
install and deletes an uninstalled one) and every worker (which reads its team's bot token and
saves the rotated ones).

The engines store opaque rows (`InstallationRecords`, `OAuthStates`; `estafeta.sqlite_…` and
`estafeta.postgres_installations`, picked by `open_stores(settings, "installations")`). On top
of them `EncryptedInstallationStore` and `DatabaseStateStore` are what slack_sdk's OAuth and
`TokenRotator` expect. Every token is encrypted at rest with `SLACK_TOKEN_KEY` (a
`MultiFernet`: the first key encrypts, every key decrypts, so a key can be replaced).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

log = logging.getLogger(__name__)

# How long an install may take between /slack/install and Slack sending the browser back.
STATE_EXPIRES = 600.0
# Tokens and the webhook URL (anyone holding it may post): encrypted, never in `details`.
_SECRET_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token",
                  "incoming_webhook_url")
_DETAIL_FIELDS = ("app_id", "enterprise_name", "enterprise_url", "team_name", "bot_id",
                  "bot_user_id", "bot_scopes", "user_scopes", "user_token_expires_at",
                  "incoming_webhook_channel", "incoming_webhook_channel_id",
                  "incoming_webhook_configuration_url", "token_type", "custom_values")


@dataclass(frozen=True)
class StoredInstallation:
    """One row: an install's keys and dates in the clear, its tokens in `secrets` (a Fernet
    token) and the rest in `details` (JSON)."""

    enterprise_id: str  # "" outside Enterprise Grid
    team_id: str  # "" for an org-wide install
    user_id: str  # who installed
    is_enterprise_install: bool
    details: str
    secrets: str
    bot_token_expires_at: float | None
    installed_at: float


class InstallationRecords(Protocol):
    """The installations, one per workspace (or organization), in one shared database."""

    def save(self, record: StoredInstallation) -> None:
        """Insert or replace the install of `record`'s enterprise and team."""

    def find(self, team_id: str, enterprise_id: str | None = None) -> StoredInstallation | None:
        """The install of `team_id` (within `enterprise_id`; None: in whichever it is)."""

    def delete(self, team_id: str, enterprise_id: str | None = None) -> int:
        """Delete the install of `team_id` (as in `find`); return how many rows went."""

    def change(self, enterprise_id: str, team_id: str,
               update: Callable[[StoredInstallation], StoredInstallation | None],
               ) -> StoredInstallation | None:
        """Under a lock on the row that every process respects: read it, `update` it (None:
        leave it) and write the result; return the row as it now is (None: no such row).
        `StoreUnavailable` when another writer held the lock longer than the database waits."""

    def all_keys(self) -> list[tuple[str, str]]:
        """(enterprise_id, team_id) of every install."""


class OAuthStates(Protocol):
    """The states of installs under way: each is accepted once, before it expires."""

    def issue(self, state: str, expires_at: float) -> None:
        """Remember `state` until `expires_at`."""

    def consume(self, state: str, now: float) -> bool:
        """Forget `state`; True only if it was issued, not consumed yet and not expired."""


@dataclass(frozen=True, kw_only=True)
class InstallationStores:
    """The installations database (`open_stores(settings, "installations")`)."""

    records: InstallationRecords
    states: OAuthStates


class BadTokenKey(ValueError):
    """A `SLACK_TOKEN_KEY` that is not a Fernet key (the message names no key)."""


def token_cipher(keys: Sequence[str]) -> MultiFernet:
    """The cipher of the tokens at rest: the first key encrypts, every key decrypts."""
    if not keys:
        raise BadTokenKey("SLACK_TOKEN_KEY is empty")
    fernets = []
    for number, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key.encode()))
        except ValueError:  # binascii.Error is one: never echo the key itself
            raise BadTokenKey(f"SLACK_TOKEN_KEY: key {number} of {len(keys)} is not a Fernet "
                              "key (32 url-safe base64-encoded bytes)") from None
    return MultiFernet(fernets)


def _key(value: str | None) -> str:
    return value or ""


class EncryptedInstallationStore(InstallationStore):
    """slack_sdk's `InstallationStore` on `InstallationRecords`, every token encrypted.

    The app asks for bot scopes only: a workspace has one install (the latest replaces the one
    before), and its installer's user token, if any, goes with it.
    """

    def __init__(self, records: InstallationRecords, keys: Sequence[str]) -> None:
        self.records = records
        self.cipher = token_cipher(keys)

    @property
    def logger(self) -> logging.Logger:
        """The logger slack_sdk's OAuth flow writes to."""
        return log

    # -- rows ----------------------------------------------------------------------------

    def to_record(self, installation: Installation) -> StoredInstallation:
        """The row of `installation`, its tokens encrypted with the first key."""
        values = vars(installation)
        hidden = {name: values.get(name) for name in _SECRET_FIELDS}
        details = {name: values.get(name) for name in _DETAIL_FIELDS}
        expires = installation.bot_token_expires_at
        return StoredInstallation(
            enterprise_id=_key(installation.enterprise_id),
            team_id=_key(installation.team_id),
            user_id=installation.user_id or "",
            is_enterprise_install=bool(installation.is_enterprise_install),
            details=json.dumps(details, separators=(",", ":"), default=str),
            secrets=self.cipher.encrypt(json.dumps(hidden).encode()).decode(),
            bot_token_expires_at=None if expires is None else float(expires),
            installed_at=float(installation.installed_at),
        )

    def to_installation(self, record: StoredInstallation) -> Installation | None:
        """The installation of a row (None: no key decrypts its tokens any more)."""
        try:
            hidden = json.loads(self.cipher.decrypt(record.secrets.encode()))
        except InvalidToken:
            # A key was dropped from SLACK_TOKEN_KEY before its rows were re-encrypted: the
            # workspace behaves as not installed, and the operator is told which one.
            log.error("the tokens of team %s cannot be decrypted with any SLACK_TOKEN_KEY key",
                      record.team_id or record.enterprise_id)
            return None
        details: dict[str, Any] = json.loads(record.details)
        expires = record.bot_token_expires_at
        return Installation(
            **details, **hidden,
            enterprise_id=record.enterprise_id or None,
            team_id=record.team_id or None,
            user_id=record.user_id,
            is_enterprise_install=record.is_enterprise_install,
            bot_token_expires_at=None if expires is None else int(expires),
            installed_at=record.installed_at,
        )

    def _find(self, enterprise_id: str | None, team_id: str | None,
              is_enterprise_install: bool | None) -> Installation | None:
        if is_enterprise_install or not team_id:  # an org-wide install is the org's row
            record = self.records.find("", _key(enterprise_id))
        else:
            record = self.records.find(team_id, enterprise_id)
        return None if record is None else self.to_installation(record)

    # -- InstallationStore ---------------------------------------------------------------

    def save(self, installation: Installation) -> None:
        """Store `installation`, replacing the workspace's (or organization's) earlier one."""
        self.records.save(self.to_record(installation))

    def save_bot(self, bot: Bot) -> None:
        """Store a bot alone (slack_sdk's bot-only flow): an install with no installer."""
        values = bot.to_dict_for_copying()
        values.pop("bot_token_expires_at", None)
        self.save(Installation(**values, user_id="",
                               bot_token_expires_at=bot.bot_token_expires_at))

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        """The bot of a workspace (or organization), None when it is not installed."""
        installation = self._find(enterprise_id, team_id, is_enterprise_install)
        if installation is None or not installation.bot_token:
            return None
        return installation.to_bot()

    def find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                          user_id: str | None = None,
                          is_enterprise_install: bool | None = False) -> Installation | None:
        """The install of a workspace (or organization); with `user_id`, only if that user
        installed it."""
        installation = self._find(enterprise_id, team_id, is_enterprise_install)
        if installation is None or (user_id is not None and installation.user_id != user_id):
            return None
        return installation

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's bot: here, its whole install (the app is bot-only)."""
        self.records.delete(_key(team_id), _key(enterprise_id))

    def delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                            user_id: str | None = None) -> None:
        """Forget the install (with `user_id`: only that user's token)."""
        if user_id is None:
            self.records.delete(_key(team_id), _key(enterprise_id))
            return

        def without_user_token(record: StoredInstallation) -> StoredInstallation | None:
            installation = self.to_installation(record)
            if installation is None or installation.user_id != user_id:
                return None
            installation.user_token = installation.user_refresh_token = None
            installation.user_token_expires_at = None
            return self.to_record(installation)

        self.records.change(_key(enterprise_id), _key(team_id), without_user_token)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget everything of a workspace (or organization): uninstalled, tokens revoked."""
        self.records.delete(_key(team_id), _key(enterprise_id))

    # -- beyond slack_sdk ----------------------------------------------------------------

    def uninstall(self, team_id: str, enterprise_id: str = "") -> None:
        """`app_uninstalled` / `tokens_revoked`: delete the team's install (and, for an
        org-wide install, the organization's when the event names no team)."""
        gone = self.records.delete(team_id, enterprise_id or None) if team_id else 0
        if not team_id and enterprise_id:
            gone = self.records.delete("", enterprise_id)
        log.info("team %s uninstalled the app: %d installation(s) deleted",
                 team_id or enterprise_id, gone)

    def update(self, installation: Installation,
               change: Callable[[Installation], Installation | None]) -> Installation | None:
        """Run `change` on the stored `installation` under the row's lock (one process at a
        time: a token is rotated once; the other writers wait, so `change` must be short) and
        save what it returns (re-encrypted with the first key); return the install as stored
        now."""

        def update_record(record: StoredInstallation) -> StoredInstallation | None:
            current = self.to_installation(record)
            changed = None if current is None else change(current)
            return None if changed is None else self.to_record(changed)

        record = self.records.change(_key(installation.enterprise_id),
                                     _key(installation.team_id), update_record)
        return None if record is None else self.to_installation(record)

    def reencrypt_all(self) -> int:
        """Encrypt every install's tokens with the first key (after a new key was put first);
        return how many rows were rewritten. The old key can then be dropped."""
        rewritten: list[str] = []

        def rotated(record: StoredInstallation) -> StoredInstallation | None:
            try:
                token = self.cipher.rotate(record.secrets.encode()).decode()
            except InvalidToken:  # no key reads it: left as it is, and not counted
                log.error("the tokens of team %s cannot be decrypted with any SLACK_TOKEN_KEY "
                          "key", record.team_id or record.enterprise_id)
                return None
            rewritten.append(record.team_id)
            return replace(record, secrets=token)

        for enterprise_id, team_id in self.records.all_keys():
            self.records.change(enterprise_id, team_id, rotated)
        return len(rewritten)


class DatabaseStateStore(OAuthStateStore):
    """slack_sdk's `OAuthStateStore` on `OAuthStates`: a state is random, good once, for
    `expiration_seconds`, whichever gateway process or host issued it."""

    def __init__(self, states: OAuthStates, expiration_seconds: float = STATE_EXPIRES) -> None:
        self.states = states
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        """The logger slack_sdk's OAuth flow writes to."""
        return log

    def issue(self, *args: Any, **kwargs: Any) -> str:
        """A new state, remembered until it expires."""
        state = secrets.token_urlsafe(32)
        self.states.issue(state, time.time() + self.expiration_seconds)
        return state

    def consume(self, state: str) -> bool:
        """True once for a state this store issued and that has not expired."""
        if not state or len(state) > 200:
            return False
        return self.states.consume(state, time.time())
