"""Installing the app into a workspace (OAuth v2): `/slack/install` sends the browser to Slack,
`/slack/oauth_redirect` takes it back, exchanges the code and saves the installation.

These requests come from a browser, not from Slack: they carry no signature, so this blueprint
is apart from `gateway.slack`. A state that is random, good once and tied to the browser by a
cookie stops a forged redirect from installing someone else's workspace here.
"""

from __future__ import annotations

import logging
from html import escape
from urllib.parse import urlsplit

from flask import Blueprint, Response, request, url_for
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import Installation

from estafeta.installations import STATE_EXPIRES, DatabaseStateStore, EncryptedInstallationStore
from estafeta.manifest import bot_scopes  # the scopes the app manifest asks for too
from estafeta.settings import Settings, is_loopback_url
from estafeta.slack_api import NETWORK_ERRORS
from gateway.errors import ApiError
from gateway.state import gateway

log = logging.getLogger(__name__)

bp = Blueprint("oauth", __name__, url_prefix="/slack")

STATE_COOKIE = "slack-app-oauth-state"  # the name Bolt uses
SLACK_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
SLACK_TIMEOUT = 10  # seconds: the browser waits, not Slack


def authorize_url(settings: Settings) -> str:
    """Slack's install page; for a Slack on this machine (a simulator), its own."""
    if is_loopback_url(settings.slack_api_url):
        parts = urlsplit(settings.slack_api_url)
        return f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize"
    return SLACK_AUTHORIZE_URL


def _installs() -> tuple[Settings, EncryptedInstallationStore, DatabaseStateStore]:
    state = gateway()
    if state.installations is None or state.oauth_states is None:
        raise ApiError(404, "not_found", "This app is installed in one workspace only "
                       "(SLACK_CLIENT_ID is not set).")
    return state.settings, state.installations, state.oauth_states


def _redirect_uri(settings: Settings) -> str:
    return settings.slack_redirect_uri or url_for("oauth.redirect", _external=True)


def _page(status: int, title: str, text: str) -> Response:
    body = (f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{escape(title)}'
            f"</title><h1>{escape(title)}</h1><p>{escape(text)}</p></html>")
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.delete_cookie(STATE_COOKIE, path="/slack")
    return response


@bp.get("/install")
def install() -> Response:
    """Send the browser to Slack's install page with a fresh state, tied to it by a cookie."""
    settings, _, states = _installs()
    redirect_uri = _redirect_uri(settings)
    state = states.issue()
    url = AuthorizeUrlGenerator(client_id=settings.slack_client_id, redirect_uri=redirect_uri,
                                scopes=bot_scopes(),
                                authorization_url=authorize_url(settings)).generate(state)
    response = Response(status=302)
    response.headers["Location"] = url
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(STATE_COOKIE, state, max_age=int(STATE_EXPIRES), path="/slack",
                        httponly=True, samesite="Lax",
                        secure=request.is_secure or redirect_uri.startswith("https://"))
    return response


@bp.get("/oauth_redirect")
def redirect() -> Response:
    """Finish an install: check the state, exchange the code, save the installation."""
    settings, installations, states = _installs()
    error = request.args.get("error")
    if error:
        return _page(200, "Not installed", f"Slack did not install the app ({error[:100]}).")
    state = request.args.get("state", "")
    if not state or state != request.cookies.get(STATE_COOKIE) or not states.consume(state):
        # Missing, forged (not this browser's), used already or expired: nothing is stored.
        raise ApiError(400, "invalid_state", "This install link is not valid any more; start "
                       "again from /slack/install.")
    code = request.args.get("code", "")
    if not code or len(code) > 500:
        raise ApiError(400, "bad_request", "The redirect carries no `code`.")
    client = WebClient(base_url=settings.slack_api_base, timeout=SLACK_TIMEOUT,
                       retry_handlers=[])
    try:
        answer = client.oauth_v2_access(client_id=settings.slack_client_id,
                                        client_secret=settings.slack_client_secret,
                                        code=code, redirect_uri=_redirect_uri(settings))
        installation = _installation(client, dict(answer.data))  # type: ignore[arg-type]
    except SlackApiError as exc:
        reason = str(exc.response.get("error") or exc.response.status_code)
        log.warning("an install failed: Slack answered %s", reason)
        raise ApiError(400, "install_failed",
                       f"Slack did not accept the install ({reason}).") from None
    except NETWORK_ERRORS as exc:
        log.warning("an install failed: Slack unreachable (%s)", type(exc).__name__)
        raise ApiError(502, "slack_unreachable",
                       "Slack could not be reached; try again in a moment.") from None
    if not installation.bot_token or not (installation.team_id or installation.enterprise_id):
        raise ApiError(400, "install_failed", "Slack's answer names no workspace or bot token.")
    installations.save(installation)
    log.info("installed in team %s", installation.team_id or installation.enterprise_id)
    name = installation.team_name or installation.enterprise_name or "your workspace"
    return _page(200, "Installed", f"Estafeta is installed in {name}. You can close this page.")


def _installation(client: WebClient, answer: dict[str, object]) -> Installation:
    """The installation an `oauth.v2.access` answer describes (as slack_sdk's flow builds it)."""
    installer = _object(answer.get("authed_user"))
    team = _object(answer.get("team"))
    enterprise = _object(answer.get("enterprise"))
    webhook = _object(answer.get("incoming_webhook"))
    bot_token = _text(answer.get("access_token"))
    is_enterprise_install = answer.get("is_enterprise_install") is True
    bot_id = enterprise_url = None
    if bot_token:
        identity = client.auth_test(token=bot_token)
        bot_id = _text(identity.get("bot_id"))
        if is_enterprise_install:
            enterprise_url = _text(identity.get("url"))
    return Installation(
        app_id=_text(answer.get("app_id")),
        enterprise_id=_text(enterprise.get("id")),
        enterprise_name=_text(enterprise.get("name")),
        enterprise_url=enterprise_url,
        team_id=_text(team.get("id")),
        team_name=_text(team.get("name")),
        bot_token=bot_token,
        bot_id=bot_id,
        bot_user_id=_text(answer.get("bot_user_id")),
        bot_scopes=_text(answer.get("scope")) or "",
        bot_refresh_token=_text(answer.get("refresh_token")),
        bot_token_expires_in=_seconds(answer.get("expires_in")),
        user_id=_text(installer.get("id")) or "",
        user_token=_text(installer.get("access_token")),
        user_scopes=_text(installer.get("scope")) or "",
        user_refresh_token=_text(installer.get("refresh_token")),
        user_token_expires_in=_seconds(installer.get("expires_in")),
        incoming_webhook_url=_text(webhook.get("url")),
        incoming_webhook_channel=_text(webhook.get("channel")),
        incoming_webhook_channel_id=_text(webhook.get("channel_id")),
        incoming_webhook_configuration_url=_text(webhook.get("configuration_url")),
        is_enterprise_install=is_enterprise_install,
        token_type=_text(answer.get("token_type")),
    )


def _object(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _seconds(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
