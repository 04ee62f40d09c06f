"""The installations store on both engines: what slack_sdk asks of it, every token encrypted at
rest, keys that can be replaced, and install states that are good once."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation

from estafeta.installations import (
    BadTokenKey,
    DatabaseStateStore,
    EncryptedInstallationStore,
    InstallationStores,
    StoredInstallation,
    token_cipher,
)
from estafeta.migrate import DatabaseNotReady, migrate, require_database
from estafeta.settings import Settings
from estafeta.stores import StoreUnavailable, open_stores, sqlite_path

KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _installation(team: str = "T0002", token: str = "xoxb-two-secret", **extra: object
                  ) -> Installation:
    values: dict[str, object] = dict(
        app_id="A1", team_id=team, team_name="Two & <Co>", user_id="UINSTALLER",
        bot_token=token, bot_id="B1", bot_user_id="UBOT", bot_scopes="chat:write,commands",
        bot_refresh_token="xoxe-1-refresh-secret", bot_token_expires_in=43_200,
        incoming_webhook_url="https://hooks.slack.com/services/T/B/webhook-secret")
    values.update(extra)
    return Installation(**values)  # type: ignore[arg-type]


def _stores(settings: Settings) -> InstallationStores:
    return open_stores(settings, "installations")


def _raw_rows(settings: Settings) -> list[str]:
    """Every installation row as the database holds it, all columns joined."""
    query = "SELECT * FROM installations"
    if settings.uses_postgres:
        with psycopg.connect(settings.database_url) as db:
            rows = db.execute(query.replace("installations", "installations.installations")
                              ).fetchall()
    else:
        with sqlite3.connect(sqlite_path(settings, "installations")) as db:
            rows = db.execute(query).fetchall()
    return [" ".join(str(value) for value in row) for row in rows]


def test_an_install_is_saved_found_and_deleted(store_settings: Settings) -> None:
    store = EncryptedInstallationStore(_stores(store_settings).records, [KEY])
    assert store.find_bot(enterprise_id=None, team_id="T0002") is None
    store.save(_installation())
    bot = store.find_bot(enterprise_id=None, team_id="T0002")
    assert bot is not None
    assert (bot.bot_token, bot.bot_refresh_token, bot.bot_id) == (
        "xoxb-two-secret", "xoxe-1-refresh-secret", "B1")
    assert bot.bot_token_expires_at is not None
    assert bot.bot_token_expires_at == pytest.approx(time.time() + 43_200, abs=5)
    found = store.find_installation(enterprise_id=None, team_id="T0002")
    assert found is not None
    assert (found.team_name, found.bot_scopes, found.user_id) == (
        "Two & <Co>", ["chat:write", "commands"], "UINSTALLER")
    assert found.incoming_webhook_url == "https://hooks.slack.com/services/T/B/webhook-secret"
    # Only the installer's own installation answers for a user; another team is apart.
    assert store.find_installation(enterprise_id=None, team_id="T0002", user_id="U9") is None
    assert store.find_installation(enterprise_id=None, team_id="T0002",
                                   user_id="UINSTALLER") is not None
    assert store.find_bot(enterprise_id=None, team_id="T0003") is None
    store.save(_installation(team="T0003", token="xoxb-three"))
    store.delete_all(enterprise_id=None, team_id="T0002")
    assert store.find_bot(enterprise_id=None, team_id="T0002") is None
    assert store.find_bot(enterprise_id=None, team_id="T0003") is not None


def test_a_new_install_replaces_the_workspace_s_earlier_one(store_settings: Settings) -> None:
    store = EncryptedInstallationStore(_stores(store_settings).records, [KEY])
    store.save(_installation(token="xoxb-first"))
    store.save(_installation(token="xoxb-second", user_id="UOTHER"))
    bot = store.find_bot(enterprise_id=None, team_id="T0002")
    assert bot is not None and bot.bot_token == "xoxb-second"
    assert store.records.all_keys() == [("", "T0002")]


def test_uninstall_deletes_the_team_and_an_org_wide_install_by_its_enterprise(
    store_settings: Settings,
) -> None:
    store = EncryptedInstallationStore(_stores(store_settings).records, [KEY])
    store.save(_installation(team="T0002", enterprise_id="E1"))
    store.save(_installation(team=None, enterprise_id="E2",  # type: ignore[arg-type]
                             is_enterprise_install=True, token="xoxb-org"))
    org = store.find_bot(enterprise_id="E2", team_id="T0009", is_enterprise_install=True)
    assert org is not None and org.bot_token == "xoxb-org"
    store.uninstall("T0002", "E1")
    assert store.find_bot(enterprise_id="E1", team_id="T0002") is None
    store.uninstall("", "E2")
    assert store.records.all_keys() == []


def test_deleting_an_installer_s_user_token_keeps_the_bot(store_settings: Settings) -> None:
    store = EncryptedInstallationStore(_stores(store_settings).records, [KEY])
    store.save(_installation(user_token="xoxp-user-secret"))
    store.delete_installation(enterprise_id=None, team_id="T0002", user_id="USOMEONE")
    found = store.find_installation(enterprise_id=None, team_id="T0002")
    assert found is not None and found.user_token == "xoxp-user-secret"
    store.delete_installation(enterprise_id=None, team_id="T0002", user_id="UINSTALLER")
    found = store.find_installation(enterprise_id=None, team_id="T0002")
    assert found is not None and found.user_token is None and found.bot_token


def test_no_token_is_stored_in_the_clear(store_settings: Settings) -> None:
    store = EncryptedInstallationStore(_stores(store_settings).records, [KEY])
    store.save(_installation(user_token="xoxp-user-secret"))
    rows = _raw_rows(store_settings)
    assert len(rows) == 1
    for secret in ("xoxb-two-secret", "xoxe-1-refresh-secret", "xoxp-user-secret",
                   "webhook-secret"):
        assert secret not in rows[0]
    assert "T0002" in rows[0] and "Two & <Co>" in rows[0]  # what is not secret stays readable


def test_a_new_key_first_reads_the_old_rows_and_encrypts_what_it_saves(
    store_settings: Settings,
) -> None:
    records = _stores(store_settings).records
    EncryptedInstallationStore(records, [KEY]).save(_installation())
    rotated = EncryptedInstallationStore(records, [NEW_KEY, KEY])
    bot = rotated.find_bot(enterprise_id=None, team_id="T0002")
    assert bot is not None and bot.bot_token == "xoxb-two-secret"  # the old key decrypts
    rotated.save(_installation(token="xoxb-saved-again"))
    only_new = EncryptedInstallationStore(records, [NEW_KEY])
    bot = only_new.find_bot(enterprise_id=None, team_id="T0002")
    assert bot is not None and bot.bot_token == "xoxb-saved-again"
    # Without the key that encrypted a row, it reads as not installed (never garbage).
    assert EncryptedInstallationStore(records, [KEY]).find_bot(
        enterprise_id=None, team_id="T0002") is None


def test_reencrypting_every_row_lets_the_old_key_go(store_settings: Settings) -> None:
    records = _stores(store_settings).records
    old = EncryptedInstallationStore(records, [KEY])
    old.save(_installation(team="T0002"))
    old.save(_installation(team="T0003", token="xoxb-three"))
    assert EncryptedInstallationStore(records, [NEW_KEY, KEY]).reencrypt_all() == 2
    only_new = EncryptedInstallationStore(records, [NEW_KEY])
    assert [only_new.find_bot(enterprise_id=None, team_id=t).bot_token  # type: ignore[union-attr]
            for t in ("T0002", "T0003")] == ["xoxb-two-secret", "xoxb-three"]



def test_reencrypting_counts_only_the_rows_it_rewrote(store_settings: Settings) -> None:
    records = _stores(store_settings).records
    EncryptedInstallationStore(records, [KEY]).save(_installation(team="T0002"))
    lost = Fernet.generate_key().decode()  # a key nobody kept
    EncryptedInstallationStore(records, [lost]).save(_installation(team="T0003"))
    assert EncryptedInstallationStore(records, [NEW_KEY, KEY]).reencrypt_all() == 1
    assert EncryptedInstallationStore(records, [lost]).find_bot(  # left as it was
        enterprise_id=None, team_id="T0003") is not None


def test_a_key_that_is_not_fernet_is_refused_without_echoing_it() -> None:
    with pytest.raises(BadTokenKey) as caught:
        token_cipher([KEY, "not-a-key-at-all"])
    assert "key 2 of 2" in str(caught.value) and "not-a-key" not in str(caught.value)
    with pytest.raises(BadTokenKey):
        token_cipher([])


def test_a_change_under_the_row_lock_runs_one_process_at_a_time(
    store_settings: Settings,
) -> None:
    records = _stores(store_settings).records
    store = EncryptedInstallationStore(records, [KEY])
    store.save(_installation(token="xoxb-0"))
    inside = threading.Event()
    order: list[str] = []

    def slow_change(current: StoredInstallation) -> StoredInstallation | None:
        order.append("first in")
        inside.set()
        time.sleep(0.5)
        order.append("first out")
        return None

    def second_change(current: StoredInstallation) -> StoredInstallation | None:
        order.append("second in")
        return None

    # Another connection (thread) takes the same row: it waits for the first to finish.
    first = threading.Thread(target=records.change, args=("", "T0002", slow_change))
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=records.change, args=("", "T0002", second_change))
    second.start()
    first.join(10)
    second.join(10)
    assert order == ["first in", "first out", "second in"]
    assert records.change("", "T0404", second_change) is None  # no such install


def test_a_state_is_good_once_and_only_before_it_expires(store_settings: Settings) -> None:
    states = DatabaseStateStore(_stores(store_settings).states)
    state = states.issue()
    assert len(state) >= 32
    assert states.consume(state) is True
    assert states.consume(state) is False  # used already
    assert states.consume("forged-state") is False
    assert states.consume("") is False
    expired = DatabaseStateStore(_stores(store_settings).states, expiration_seconds=-1)
    old = expired.issue()
    assert states.consume(old) is False
    assert states.consume(old) is False  # and it is gone


def test_states_issued_by_one_process_are_taken_back_by_another(
    store_settings: Settings,
) -> None:
    state = DatabaseStateStore(_stores(store_settings).states).issue()
    assert DatabaseStateStore(_stores(store_settings).states).consume(state) is True


def test_migrate_creates_the_installations_and_processes_wait_for_it(
    empty_database: str, tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=empty_database)
    with pytest.raises(DatabaseNotReady, match=r"installations \(installations\)"):
        require_database(settings, ["installations"])
    assert "installations" in migrate(settings)
    require_database(settings, ["installations"])
    with psycopg.connect(empty_database) as db:
        tables = {row[0] for row in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'installations'")}
    assert {"installations", "oauth_states", "alembic_version"} <= tables
    # On SQLite, a file of its own under DATA_DIR.
    migrate(Settings(data_dir=tmp_path))
    assert (tmp_path / "installations.sqlite").is_file()


def test_a_sqlite_file_locked_too_long_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    # Another process holds the file's write lock (a rotation waiting for Slack, say): every
    # write gives up as StoreUnavailable (retried), never sqlite3's "database is locked".
    settings = Settings(data_dir=tmp_path)
    records = _stores(settings).records
    store = EncryptedInstallationStore(records, [KEY])
    store.save(_installation())
    records.db.execute("PRAGMA busy_timeout=100")  # not 10 s: a fast test
    other = sqlite3.connect(sqlite_path(settings, "installations"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for write in (lambda: store.save(_installation(token="xoxb-new")),
                      lambda: store.update(_installation(), lambda current: current),
                      lambda: store.uninstall("T0002"),
                      lambda: store.reencrypt_all()):
            with pytest.raises(StoreUnavailable):
                write()
        assert records.find("T0002") is not None  # reading goes on (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
    # Nothing was left half-open: the next writes go through.
    assert store.update(_installation(), lambda current: current) is not None
    store.uninstall("T0002")
    assert records.find("T0002") is None
