"""Installing into a workspace: /slack/install and /slack/oauth_redirect against the fake Slack,
the state good once and tied to the browser, and an uninstall that deletes the tokens."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from estafeta.installations import EncryptedInstallationStore
from estafeta.manifest import PLATFORM_SCOPES, bot_scopes
from estafeta.settings import Settings
from gateway import create_app
from gateway.oauth import STATE_COOKIE, authorize_url
from gateway.recording import RecordingPublisher
from gateway.state import Gateway
from slacksim.fake_slack import CLIENT_ID, CLIENT_SECRET, FakeSlack
from slacksim.signing import SlackSigner

NEW_TEAM = "T0042"
NEW_TOKEN = "xoxb-team-42"


@pytest.fixture
def oauth_settings(settings: Settings) -> Settings:
    """The gateway's test settings, installing into many workspaces."""
    return Settings.from_env({
        "BROKER_URL": settings.broker_url, "DATA_DIR": str(settings.data_dir),
        "SLACK_API_URL": settings.slack_api_url, "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_TOKEN_KEY": Fernet.generate_key().decode()})


@pytest.fixture
def oauth_app(oauth_settings: Settings, publisher: RecordingPublisher) -> Iterator[Flask]:
    """A gateway app that installs into workspaces."""
    yield create_app({"SETTINGS": oauth_settings, "PUBLISHER": publisher, "TESTING": True})


@pytest.fixture
def browser(oauth_app: Flask) -> FlaskClient:
    """A browser (a test client keeps cookies)."""
    return oauth_app.test_client()


def _store(app: Flask) -> EncryptedInstallationStore:
    state: Gateway = app.extensions["estafeta"]
    assert state.installations is not None
    return state.installations


def _start_install(browser: FlaskClient) -> str:
    """Follow /slack/install as a browser would; return the state it was given."""
    response = browser.get("/slack/install")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return query["state"][0]


def test_without_a_client_id_there_is_nothing_to_install(client: FlaskClient) -> None:
    for path in ("/slack/install", "/slack/oauth_redirect?code=c&state=s"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json is not None and response.json["error"] == "not_found"


def test_install_sends_the_browser_to_slack_with_a_state_and_a_cookie(
    browser: FlaskClient, fake_slack: FakeSlack,
) -> None:
    response = browser.get("/slack/install")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    # A Slack on this machine (the simulator) serves its own install page.
    assert f"{location.scheme}://{location.netloc}" == fake_slack.base_url
    assert location.path == "/oauth/v2/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    scopes = query["scope"][0].split(",")
    # What the app manifest asks for: the platform's scopes and every service's.
    assert set(PLATFORM_SCOPES) <= set(scopes) and scopes == sorted(scopes) == bot_scopes()
    assert {"commands", "chat:write"} <= set(scopes)
    assert query["redirect_uri"] == ["http://localhost/slack/oauth_redirect"]
    cookie = response.headers["Set-Cookie"]
    assert f"{STATE_COOKIE}={query['state'][0]}" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here: a browser would not send it back
    again = parse_qs(urlsplit(browser.get("/slack/install").headers["Location"]).query)
    assert again["state"] != query["state"]  # a fresh state every time


def test_the_cookie_is_secure_behind_https_and_real_slack_is_slack(
    oauth_settings: Settings, publisher: RecordingPublisher,
) -> None:
    app = create_app({"SETTINGS": oauth_settings, "PUBLISHER": publisher, "TESTING": True})
    response = app.test_client().get("/slack/install", base_url="https://bot.example")
    assert "Secure" in response.headers["Set-Cookie"]
    assert "redirect_uri=https://bot.example/slack/oauth_redirect" in response.headers["Location"]
    real = Settings.from_env({"SLACK_API_URL": "https://slack.com/api/"})
    assert authorize_url(real) == "https://slack.com/oauth/v2/authorize"


def test_a_finished_install_stores_the_team_s_token_and_says_so(
    browser: FlaskClient, oauth_app: Flask, fake_slack: FakeSlack,
) -> None:
    fake_slack.grant("code-42", NEW_TEAM, NEW_TOKEN, team_name="<b>Acme</b> & co")
    state = _start_install(browser)
    response = browser.get(f"/slack/oauth_redirect?code=code-42&state={state}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "&lt;b&gt;Acme&lt;/b&gt; &amp; co" in page and "<b>" not in page
    bot = _store(oauth_app).find_bot(enterprise_id=None, team_id=NEW_TEAM)
    assert bot is not None and bot.bot_token == NEW_TOKEN and bot.bot_id == "BBOT"
    assert STATE_COOKIE in response.headers["Set-Cookie"]  # the cookie is cleared
    exchange = fake_slack.calls_to("oauth.v2.access")
    assert len(exchange) == 1 and exchange[0].params["code"] == "code-42"
    assert "client_secret" not in exchange[0].params  # sent as basic auth, as slack_sdk does
    # The state is spent: the same redirect again stores nothing more.
    fake_slack.grant("code-43", NEW_TEAM, "xoxb-again")
    browser.set_cookie(STATE_COOKIE, state, path="/slack")
    reused = browser.get(f"/slack/oauth_redirect?code=code-43&state={state}")
    assert reused.status_code == 400 and reused.json["error"] == "invalid_state"  # type: ignore[index]
    bot = _store(oauth_app).find_bot(enterprise_id=None, team_id=NEW_TEAM)
    assert bot is not None and bot.bot_token == NEW_TOKEN


def test_the_simulator_s_install_page_sends_the_browser_back_with_the_code(
    browser: FlaskClient, oauth_app: Flask, fake_slack: FakeSlack,
) -> None:
    fake_slack.grant("code-page", NEW_TEAM, NEW_TOKEN)
    to_slack = browser.get("/slack/install").headers["Location"]

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.build_opener(NoRedirect).open(to_slack, timeout=5)
    back = urlsplit(caught.value.headers["Location"])
    assert caught.value.code == 302 and back.path == "/slack/oauth_redirect"
    response = browser.get(f"{back.path}?{back.query}")
    assert response.status_code == 200
    assert _store(oauth_app).find_bot(enterprise_id=None, team_id=NEW_TEAM) is not None


@pytest.mark.parametrize("how", ["no state", "forged state", "no cookie", "another cookie",
                                 "expired state", "no code"])
def test_a_redirect_without_this_browser_s_live_state_stores_nothing(
    how: str, browser: FlaskClient, oauth_app: Flask, fake_slack: FakeSlack,
) -> None:
    fake_slack.grant("code-42", NEW_TEAM, NEW_TOKEN)
    if how == "expired state":
        states = oauth_app.extensions["estafeta"].oauth_states
        states.expiration_seconds = -1
    state = _start_install(browser)
    query = {"no state": "code=code-42", "forged state": "code=code-42&state=forged",
             "no code": f"state={state}"}.get(how, f"code=code-42&state={state}")
    if how == "forged state":
        browser.set_cookie(STATE_COOKIE, "forged", path="/slack")
    elif how == "no cookie":
        browser.delete_cookie(STATE_COOKIE, path="/slack")
    elif how == "another cookie":
        browser.set_cookie(STATE_COOKIE, _start_install(oauth_app.test_client()), path="/slack")
    response = browser.get(f"/slack/oauth_redirect?{query}")
    assert 400 <= response.status_code < 500
    assert response.json is not None and response.json["error"] in {"invalid_state",
                                                                     "bad_request"}
    assert _store(oauth_app).records.all_keys() == []
    assert fake_slack.calls_to("oauth.v2.access") == []  # no code was ever exchanged


def test_a_code_slack_refuses_or_a_denied_install_stores_nothing(
    browser: FlaskClient, oauth_app: Flask, fake_slack: FakeSlack,
) -> None:
    state = _start_install(browser)
    response = browser.get(f"/slack/oauth_redirect?code=never-granted&state={state}")
    assert response.status_code == 400
    assert response.json is not None and "invalid_code" in response.json["message"]
    state = _start_install(browser)
    denied = browser.get(f"/slack/oauth_redirect?error=access_denied&state={state}")
    assert denied.status_code == 200 and "access_denied" in denied.get_data(as_text=True)
    assert _store(oauth_app).records.all_keys() == []


def test_a_wrong_client_secret_is_refused_by_slack(
    oauth_settings: Settings, publisher: RecordingPublisher, fake_slack: FakeSlack,
) -> None:
    settings = Settings.from_env({
        "DATA_DIR": str(oauth_settings.data_dir), "BROKER_URL": oauth_settings.broker_url,
        "SLACK_API_URL": oauth_settings.slack_api_url, "SLACK_SIGNING_SECRET": "s",
        "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "wrong",
        "SLACK_TOKEN_KEY": oauth_settings.slack_token_keys[0]})
    app = create_app({"SETTINGS": settings, "PUBLISHER": publisher, "TESTING": True})
    browser = app.test_client()
    fake_slack.grant("code-42", NEW_TEAM, NEW_TOKEN)
    state = _start_install(browser)
    response = browser.get(f"/slack/oauth_redirect?code=code-42&state={state}")
    assert response.status_code == 400
    assert response.json is not None and "bad_client_secret" in response.json["message"]
    assert _store(app).records.all_keys() == []


def test_uninstalling_deletes_the_team_s_tokens_and_no_other_team_s(
    browser: FlaskClient, oauth_app: Flask, fake_slack: FakeSlack,
) -> None:
    signer = SlackSigner("test-signing-secret")
    for code, team in (("code-a", NEW_TEAM), ("code-b", "T0043")):
        fake_slack.grant(code, team, f"xoxb-{team}")
        state = _start_install(browser)
        assert browser.get(f"/slack/oauth_redirect?code={code}&state={state}").status_code == 200
    body, headers, _ = signer.event({"type": "app_uninstalled"}, team=NEW_TEAM)
    response = browser.post("/slack/events", data=body, headers=headers)
    assert response.status_code == 200
    store = _store(oauth_app)
    assert store.find_bot(enterprise_id=None, team_id=NEW_TEAM) is None
    assert store.find_bot(enterprise_id=None, team_id="T0043") is not None
    body, headers, _ = signer.event({"type": "tokens_revoked",
                                     "tokens": {"bot": ["UBOT"]}}, team="T0043")
    assert browser.post("/slack/events", data=body, headers=headers).status_code == 200
    assert store.records.all_keys() == []
