"""Each team's bot token in a worker: read from the installations, cached, rotated once before it
expires (across processes), looked up again once Slack refuses it, never another team's."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.fernet import Fernet
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation

from estafeta.installations import EncryptedInstallationStore
from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import CLIENT_ID, CLIENT_SECRET, FakeSlack
from tests.conftest import BOT_TOKEN, TEAM
from workers.replies import NotInstalled, SlackReplier, StaticToken, TransientError, acting_for
from workers.tokens import ROTATE_BEFORE, ROTATE_TIMEOUT, InstallationTokens, token_source

KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
TEAM_B = "T0042"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        import time
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _store(settings: Settings, keys: tuple[str, ...] = (KEY,)) -> EncryptedInstallationStore:
    return EncryptedInstallationStore(open_stores(settings, "installations").records, keys)


def _install(fake: FakeSlack, store: EncryptedInstallationStore, team: str, token: str,
             refresh_token: str | None = None, expires_in: int | None = None) -> None:
    """Install into `team` as the gateway does: Slack's code exchange, then the store."""
    fake.grant(f"code-{token}", team, token, refresh_token=refresh_token, expires_in=expires_in)
    answer = WebClient(base_url=fake.api_url).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=f"code-{token}")
    store.save(Installation(team_id=team, user_id="UINSTALLER", bot_token=answer["access_token"],
                            bot_id="BBOT", bot_user_id="UBOT",
                            bot_refresh_token=answer.get("refresh_token"),
                            bot_token_expires_in=answer.get("expires_in")))


def _tokens(fake: FakeSlack, store: EncryptedInstallationStore, *, fallback: str = "",
            clock: Callable[[], float] | None = None) -> InstallationTokens:
    extra = {} if clock is None else {"clock": clock}
    return InstallationTokens(store, api_url=fake.api_url, client_id=CLIENT_ID,
                              client_secret=CLIENT_SECRET, fallback_token=fallback,
                              **extra)  # type: ignore[arg-type]


def _refreshes(fake: FakeSlack) -> list[object]:
    return [c for c in fake.calls_to("oauth.v2.access")
            if c.params.get("grant_type") == "refresh_token"]


def test_one_workspace_mode_keeps_its_one_token(tmp_path: object) -> None:
    source = token_source(Settings(slack_bot_token=BOT_TOKEN))
    assert source == StaticToken(BOT_TOKEN)


def test_with_oauth_a_worker_reads_the_installations(store_settings: Settings) -> None:
    settings = Settings(data_dir=store_settings.data_dir, database_url=store_settings.database_url,
                        slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET,
                        slack_token_keys=(KEY,))
    assert isinstance(token_source(settings), InstallationTokens)


def test_a_team_s_token_is_cached_and_read_again_after_a_minute(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    store, clock = _store(store_settings), Clock()
    _install(fake_slack, store, TEAM_B, "xoxb-b-1")
    tokens = _tokens(fake_slack, store, clock=clock)
    assert tokens.token_for(TEAM_B) == "xoxb-b-1"
    _install(fake_slack, store, TEAM_B, "xoxb-b-2")  # installed again meanwhile
    clock.now += 30
    assert tokens.token_for(TEAM_B) == "xoxb-b-1"  # cached
    clock.now += 31
    assert tokens.token_for(TEAM_B) == "xoxb-b-2"


def test_a_refused_token_is_looked_up_again_at_once(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    store = _store(store_settings)
    _install(fake_slack, store, TEAM_B, "xoxb-b-1")
    tokens = _tokens(fake_slack, store)
    replier = SlackReplier(fake_slack.api_url, "", ledger=None, tokens=tokens)  # type: ignore[arg-type]
    with acting_for(TEAM_B):
        replier.post_message("C1", "first")
        fake_slack.revoke("xoxb-b-1")
        _install(fake_slack, store, TEAM_B, "xoxb-b-2")
        with pytest.raises(SlackApiError, match="invalid_auth"):
            replier.post_message("C1", "refused")
        replier.post_message("C1", "second")  # the new token, without waiting a minute
    assert [p["text"] for p in fake_slack.posted(team=TEAM_B)] == ["first", "second"]
    assert [c.token for c in fake_slack.calls_to("chat.postMessage")] == ["xoxb-b-1", "xoxb-b-2"]


def test_a_token_about_to_expire_is_rotated_saved_and_reencrypted(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    _install(fake_slack, _store(store_settings), TEAM_B, "xoxe.xoxb-b-1", "xoxe-1-refresh",
             expires_in=int(ROTATE_BEFORE) - 60)
    store = _store(store_settings, (NEW_KEY, KEY))  # a new key put first since the install
    tokens = _tokens(fake_slack, store)
    token = tokens.token_for(TEAM_B)
    assert token is not None and token != "xoxe.xoxb-b-1"
    assert fake_slack.tokens[token] == TEAM_B
    assert len(_refreshes(fake_slack)) == 1
    # Saved: with the new key alone (re-encrypted), with the new refresh token and expiry.
    bot = _store(store_settings, (NEW_KEY,)).find_bot(enterprise_id=None, team_id=TEAM_B)
    assert bot is not None and bot.bot_token == token
    assert bot.bot_refresh_token not in (None, "xoxe-1-refresh")
    assert bot.bot_token_expires_at is not None
    # The fresh token lasts: asked again, nothing is refreshed.
    assert tokens.token_for(TEAM_B) == token
    assert len(_refreshes(fake_slack)) == 1
    with acting_for(TEAM_B):
        SlackReplier(fake_slack.api_url, "", ledger=None,  # type: ignore[arg-type]
                     tokens=tokens).post_message("C1", "hello")
    assert fake_slack.posted(team=TEAM_B)[0]["text"] == "hello"


def test_two_processes_rotating_one_token_refresh_it_once(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    _install(fake_slack, _store(store_settings), TEAM_B, "xoxe.xoxb-b-1", "xoxe-1-refresh",
             expires_in=60)
    fake_slack.stall("oauth.v2.access", 0.3)  # both are waiting for the lock meanwhile
    workers = [_tokens(fake_slack, _store(store_settings)) for _ in range(3)]
    got: list[str | None] = []
    threads = [threading.Thread(target=lambda w=w: got.append(w.token_for(TEAM_B)))
               for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    # Slack spends a refresh token when it is used: a second refresh would have failed.
    assert len(_refreshes(fake_slack)) == 1
    assert len(got) == 3 and len(set(got)) == 1 and got[0] not in (None, "xoxe.xoxb-b-1")


def test_an_expired_token_whose_refresh_slack_refuses_leaves_the_team_without_one(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    store = _store(store_settings)
    _install(fake_slack, store, TEAM_B, "xoxe.xoxb-b-1", "xoxe-1-refresh", expires_in=60)
    WebClient(base_url=fake_slack.api_url).oauth_v2_access(  # someone spent the refresh token
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, grant_type="refresh_token",
        refresh_token="xoxe-1-refresh")
    clock = Clock()
    clock.now += 120  # past its expiry
    assert _tokens(fake_slack, store, clock=clock).token_for(TEAM_B) is None


def test_a_team_without_an_installation_gets_no_token_not_even_the_static_one(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    store = _store(store_settings)
    _install(fake_slack, store, TEAM_B, "xoxb-b-1")
    # SLACK_BOT_TOKEN belongs to TEAM (auth.test says so): it serves TEAM only.
    tokens = _tokens(fake_slack, store, fallback=BOT_TOKEN)
    assert tokens.token_for(TEAM) == BOT_TOKEN
    assert tokens.token_for(TEAM_B) == "xoxb-b-1"
    assert tokens.token_for("T0404") is None
    assert tokens.token_for("") is None
    assert len(fake_slack.calls_to("auth.test")) == 1  # asked once
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, ledger=None,  # type: ignore[arg-type]
                           tokens=tokens)
    before = len(fake_slack.calls)
    with acting_for("T0404"), pytest.raises(NotInstalled):
        replier.post_message("C1", "for nobody")
    assert len(fake_slack.calls) == before  # nothing reached Slack


def test_a_refused_static_token_serves_no_team_any_more(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    tokens = _tokens(fake_slack, _store(store_settings), fallback=BOT_TOKEN)
    assert tokens.token_for(TEAM) == BOT_TOKEN
    fake_slack.revoke(BOT_TOKEN)
    tokens.refused(TEAM, BOT_TOKEN)
    assert tokens.token_for(TEAM) is None



class _Slow(BaseHTTPRequestHandler):
    """A Slack that answers every call late (`delay`), with `status` and `Retry-After`."""

    delay = 0.0
    status = 200
    retry_after = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay)
        body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
        try:
            self.send_response(self.status)
            if self.retry_after:
                self.send_header("Retry-After", self.retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up first

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _slack_answering(**behaviour: object) -> Iterator[str]:
    """The base URL of a Slack that behaves as `_Slow` with `behaviour`."""
    handler = type("Handler", (_Slow,), behaviour)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    finally:
        server.shutdown()
        server.server_close()


def _rotating(fake: FakeSlack, store: EncryptedInstallationStore, api_url: str,
              clock: Callable[[], float] | None = None) -> InstallationTokens:
    extra = {} if clock is None else {"clock": clock}
    return InstallationTokens(store, api_url=api_url, client_id=CLIENT_ID,
                              client_secret=CLIENT_SECRET, **extra)  # type: ignore[arg-type]


def test_a_refresh_slack_is_slow_to_answer_gives_up_soon_and_keeps_the_valid_token(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    # The refresh holds the installation's lock: it must end well before the other writers'
    # lock wait does (PostgreSQL's 3 s lock_timeout), not after the usual 10 s call timeout.
    store = _store(store_settings)
    _install(fake_slack, store, TEAM_B, "xoxe.xoxb-b-1", "xoxe-1-refresh",
             expires_in=int(ROTATE_BEFORE) - 60)
    with _slack_answering(delay=5.0) as slow:
        tokens = _rotating(fake_slack, store, slow)
        started = time.monotonic()
        token = tokens.token_for(TEAM_B)
        took = time.monotonic() - started
        # Meanwhile the lock was let go: another writer of the row gets it at once.
        started = time.monotonic()
        assert store.update(_stored(store), lambda current: None) is not None
        waited = time.monotonic() - started
    assert took < ROTATE_TIMEOUT + 1.0 < 4.0
    assert waited < 1.0
    assert token == "xoxe.xoxb-b-1"  # still good for minutes: kept
    assert _stored(store).bot_token == "xoxe.xoxb-b-1"  # nothing half-saved


def _stored(store: EncryptedInstallationStore) -> Installation:
    """TEAM_B's installation as stored."""
    found = store.find_installation(enterprise_id=None, team_id=TEAM_B)
    assert found is not None
    return found


def test_an_expired_token_slack_rate_limits_the_refresh_of_is_retried_when_slack_says(
    store_settings: Settings, fake_slack: FakeSlack,
) -> None:
    store = _store(store_settings)
    _install(fake_slack, store, TEAM_B, "xoxe.xoxb-b-1", "xoxe-1-refresh", expires_in=60)
    clock = Clock()
    clock.now += 120  # past its expiry: no token to fall back on
    with _slack_answering(status=429, retry_after="7") as limited, \
            pytest.raises(TransientError) as raised:
        _rotating(fake_slack, store, limited, clock=clock).token_for(TEAM_B)
    assert raised.value.retry_after == 7


def test_tokens_and_replies_share_one_list_of_slack_s_errors() -> None:
    import workers.replies
    import workers.tokens
    from estafeta import slack_api

    for module in (workers.replies, workers.tokens):
        assert module.REFUSED_TOKEN_ERRORS is slack_api.REFUSED_TOKEN_ERRORS
    assert not hasattr(workers.tokens, "_NETWORK_ERRORS")
    assert not hasattr(workers.tokens, "_transient")
