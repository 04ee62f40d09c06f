"""Many workspaces through real workers: a second workspace installs the app (OAuth v2 against
the fake Slack), its commands are answered with its own token, a workspace without an
installation gets nothing from Slack (its message waits in the dead letters), and an
uninstall deletes the workspace's tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from kombu import Connection

import routing
from estafeta.installations import EncryptedInstallationStore
from estafeta.settings import Settings
from gateway import create_app
from gateway.oauth import STATE_COOKIE
from slacksim.fake_slack import CLIENT_ID, CLIENT_SECRET, FakeSlack
from slacksim.signing import SlackSigner, mention_event
from tests.conftest import BOT_TOKEN, TEAM
from tests.integration.broker import Vhost, WorkerProcess
from tests.integration.conftest import worker_env

pytestmark = pytest.mark.integration

TEAM_B = "T0B0B0B"
TOKEN_B = "xoxb-workspace-b"
NOT_INSTALLED = "T0NOAPP"


@dataclass
class Workspaces:
    """A search worker and a gateway that install into many workspaces."""

    vhost: Vhost
    app: Flask
    worker: WorkerProcess
    settings: Settings


@pytest.fixture(scope="module")
def workspaces(rabbitmq: None, tmp_path_factory: pytest.TempPathFactory,
               fake_slack_server: FakeSlack) -> Iterator[Workspaces]:
    """The search service's worker with OAuth on (its own vhost and data dir), and a gateway
    app with the same settings."""
    vhost = Vhost("workspaces")
    data_dir = tmp_path_factory.mktemp("workspaces-data")
    log_dir = tmp_path_factory.mktemp("workspaces-logs")
    env = {**worker_env(vhost, data_dir, fake_slack_server),
           "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
           "SLACK_TOKEN_KEY": Fernet.generate_key().decode()}
    settings = Settings.from_env(env)
    worker = WorkerProcess(routing.SEARCH, env, log_dir)
    app = None
    try:
        worker.wait_consuming(vhost)
        app = create_app({"SETTINGS": settings, "TESTING": True})
        yield Workspaces(vhost, app, worker, settings)
    finally:
        if app is not None:
            app.extensions["estafeta"].publisher.close()
        worker.stop()
        vhost.delete()


@pytest.fixture
def browser(workspaces: Workspaces, fake_slack: FakeSlack) -> FlaskClient:
    """A browser on the gateway (it keeps cookies), every dead letter purged."""
    with Connection(workspaces.vhost.url) as connection:
        routing.SEARCH.dead_queue(connection.default_channel).purge()
    return workspaces.app.test_client()


def _store(workspaces: Workspaces) -> EncryptedInstallationStore:
    store = workspaces.app.extensions["estafeta"].installations
    assert isinstance(store, EncryptedInstallationStore)
    return store


def _install(browser: FlaskClient, fake: FakeSlack, team: str, token: str) -> None:
    """Install the app into `team` the way a person does, through the fake Slack's page."""
    fake.grant(f"code-{team}", team, token)
    to_slack = browser.get("/slack/install")
    assert to_slack.status_code == 302
    state = parse_qs(urlsplit(to_slack.headers["Location"]).query)["state"][0]
    assert browser.get_cookie(STATE_COOKIE, path="/slack").value == state  # type: ignore[union-attr]
    done = browser.get(f"/slack/oauth_redirect?code=code-{team}&state={state}")
    assert done.status_code == 200, done.get_data(as_text=True)


def _mention(browser: FlaskClient, signer: SlackSigner, team: str, text: str,
             channel: str) -> None:
    body, headers, _ = signer.event(mention_event(text, channel=channel), team=team)
    assert browser.post("/slack/events", data=body, headers=headers).status_code == 200


def test_a_second_workspace_installs_and_is_answered_with_its_own_token(
    workspaces: Workspaces, browser: FlaskClient, fake_slack: FakeSlack, signer: SlackSigner,
) -> None:
    _install(browser, fake_slack, TEAM_B, TOKEN_B)
    bot = _store(workspaces).find_bot(enterprise_id=None, team_id=TEAM_B)
    assert bot is not None and bot.bot_token == TOKEN_B
    # A slash command of that workspace: its language is asked of Slack with its token.
    url = fake_slack.response_url()
    body, headers = signer.slash_command("/search", "deploy", response_url=url, team=TEAM_B)
    assert browser.post("/slack/commands", data=body, headers=headers).status_code == 200
    assert fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=20)
    lookups = fake_slack.calls_to("users.info", team=TEAM_B)
    assert lookups and {c.token for c in lookups} == {TOKEN_B}
    # A mention is answered in its thread, posted with that workspace's token only.
    _mention(browser, signer, TEAM_B, "<@UBOT> search deploy", channel="C0BBB")
    posts = fake_slack.wait_for(lambda: fake_slack.posted("C0BBB"), timeout=20)
    assert len(posts) == 1
    web_api = [c for c in fake_slack.calls if c.method != "response_url"]
    assert web_api and all(c.team == TEAM_B and c.token == TOKEN_B for c in web_api
                           if not c.method.startswith("oauth.")
                           and c.method != "auth.test"), web_api
    assert fake_slack.calls_of(TEAM) == []  # the static token's workspace took no part
    assert TOKEN_B not in workspaces.worker.log()  # no token in the logs


def test_a_workspace_without_an_installation_gets_nothing_and_its_message_waits(
    workspaces: Workspaces, browser: FlaskClient, fake_slack: FakeSlack, signer: SlackSigner,
) -> None:
    _install(browser, fake_slack, TEAM_B, TOKEN_B)
    _mention(browser, signer, NOT_INSTALLED, "<@UBOT> search deploy", channel="C0NONE")
    dead = routing.SEARCH.dead_queue.name
    assert workspaces.vhost.wait_for_depth(dead, 1, timeout=20) == 1
    assert fake_slack.calls_of(NOT_INSTALLED) == []
    assert fake_slack.posted("C0NONE") == []
    # Not with another workspace's token, nor with SLACK_BOT_TOKEN (it is TEAM's).
    assert [c for c in fake_slack.calls if c.params.get("channel") == "C0NONE"] == []
    assert "has no installation" in workspaces.worker.log()
    # SLACK_BOT_TOKEN still answers for its own workspace, which has no installation.
    _mention(browser, signer, TEAM, "<@UBOT> search deploy", channel="C0TEAM")
    posts = fake_slack.wait_for(lambda: fake_slack.calls_to("chat.postMessage", team=TEAM),
                                timeout=20)
    assert posts[0].token == BOT_TOKEN and posts[0].params["channel"] == "C0TEAM"


def test_an_uninstalled_workspace_s_tokens_are_gone(
    workspaces: Workspaces, browser: FlaskClient, fake_slack: FakeSlack, signer: SlackSigner,
) -> None:
    _install(browser, fake_slack, TEAM_B, TOKEN_B)
    _install(browser, fake_slack, "T0CCCCC", "xoxb-workspace-c")
    body, headers, _ = signer.event({"type": "app_uninstalled"}, team=TEAM_B)
    assert browser.post("/slack/events", data=body, headers=headers).status_code == 200
    store = _store(workspaces)
    assert store.find_installation(enterprise_id=None, team_id=TEAM_B) is None
    assert store.find_bot(enterprise_id=None, team_id="T0CCCCC") is not None
    files = sorted(Path(workspaces.settings.data_dir).glob("installations.sqlite*"))
    raw = b"".join(path.read_bytes() for path in files)  # the WAL file included
    assert raw and TOKEN_B.encode() not in raw and b"xoxb-workspace-c" not in raw
    # Slack revokes the tokens too: the worker that cached one is refused once, looks the
    # workspace up again, finds nothing, and sends nothing more.
    fake_slack.revoke(TOKEN_B)
    before = len(fake_slack.calls)
    _mention(browser, signer, TEAM_B, "<@UBOT> search deploy", channel="C0GONE")
    assert workspaces.vhost.wait_for_depth(routing.SEARCH.dead_queue.name, 1, timeout=20) == 1
    assert fake_slack.posted("C0GONE") == []
    after = fake_slack.calls[before:]
    assert [c for c in after if c.team == TEAM_B] == []  # nothing Slack accepted
    # At most the one refused attempt with the cached token; nothing with another token.
    assert all(c.method.endswith("!invalid_auth") for c in after if c.token == TOKEN_B)
    assert [c for c in after if c.token and c.token != TOKEN_B] == []
