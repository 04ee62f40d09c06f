"""The Slack app manifest: what api.slack.com's "Create an app → From a manifest" takes.

Built from the same declarations the gateway reads (`grammar.declarations()`): every service's
slash command and bot scopes, and the events the gateway subscribes to, so that the app
configured in Slack and the code that answers it cannot drift apart. `estafeta manifest`
prints it as YAML.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any
from urllib.parse import urlsplit

import yaml

from estafeta import grammar

NAME = "Estafeta"
DESCRIPTION = "Search what your team said, keep its agenda and reminders, feel its mood."
BACKGROUND_COLOR = "#2c2d30"

# The gateway's endpoints (gateway/slack.py, gateway/oauth.py), under the public base URL.
COMMANDS_PATH = "/slack/commands"
EVENTS_PATH = "/slack/events"
INTERACTIONS_PATH = "/slack/interactions"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"

# What the gateway subscribes to (gateway/events.py `classify`), with the scope each needs:
# mentions run commands, messages are heard, the Home tab is built when opened, and an
# uninstall or a revoked token makes it forget the team's tokens.
BOT_EVENTS: dict[str, tuple[str, ...]] = {
    "app_mention": ("app_mentions:read",),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "app_home_opened": (),
    "app_uninstalled": (),
    "tokens_revoked": (),
}
# What the gateway and the code every service shares need whatever the services declare:
# slash commands, the events above, replies (chat.postMessage, chat.postEphemeral, their
# delivery checks in history) and a person's locale (users.info).
PLATFORM_SCOPES = ("commands", "chat:write", "users:read",
                   *(scope for scopes in BOT_EVENTS.values() for scope in scopes))

_BACKTICKS = re.compile(r"`([^`]*)`")


def bot_scopes() -> list[str]:
    """Every bot scope the app asks for, sorted: the platform's and every service's."""
    declared = {scope for d in grammar.declarations() for scope in d.scopes}
    return sorted(set(PLATFORM_SCOPES) | declared)


def plain(mrkdwn_text: str) -> str:
    """An overview line as plain text: Slack shows a command's description unformatted."""
    return _BACKTICKS.sub(r"\1", mrkdwn_text).replace("*", "").strip()


def usage_hint(declared: grammar.ServiceCommands) -> str:
    """What Slack suggests after the command: its verbs, in English, and free text."""
    verbs = " | ".join([*(verb.words.en[0] for verb in declared.verbs if verb.words.en),
                        grammar.HELP])
    return f"[{verbs}] or text" if declared.free_text_verb else f"[{verbs}] …"


def _url(base: str, path: str) -> str:
    return base.rstrip("/") + path


def check_base_url(url: str) -> str:
    """The public base URL of the gateway, or `ValueError` saying what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"--url must be the gateway's public https:// address, like "
                         f"https://estafeta.example.com (got {url!r})")
    return url.rstrip("/")


def manifest(base_url: str = "", *, socket_mode: bool = False,
             token_rotation: bool = False) -> dict[str, Any]:
    """The app manifest: request URLs under `base_url` unless in Socket Mode, where Slack
    sends everything over the socket (an OAuth redirect still needs `base_url`)."""
    if not base_url and not socket_mode:
        raise ValueError("without Socket Mode Slack needs the gateway's public URL (--url)")
    base = check_base_url(base_url) if base_url else ""
    http = not socket_mode
    commands = []
    for declared in grammar.declarations():
        if not declared.slash_command:
            continue
        command: dict[str, Any] = {
            "command": declared.slash_command,
            "description": plain(declared.overview["en"]),
            "usage_hint": usage_hint(declared),
            # Slack's "Escape channels, users, and links": `#general` arrives as
            # `<#C…|general>`, the channel id `/mood #channel` and `/search reindex` read.
            "should_escape": True,
        }
        if http:
            command["url"] = _url(base, COMMANDS_PATH)
        commands.append(command)
    shortcuts = [{"name": s.name, "type": "global", "callback_id": s.callback_id,
                  "description": s.description}
                 for declared in grammar.declarations() for s in declared.shortcuts]
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if http:
        events = {"request_url": _url(base, EVENTS_PATH), **events}
        interactivity["request_url"] = _url(base, INTERACTIONS_PATH)
    oauth: dict[str, Any] = {"scopes": {"bot": bot_scopes()}}
    if base:
        oauth = {"redirect_urls": [_url(base, OAUTH_REDIRECT_PATH)], **oauth}
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": NAME, "description": DESCRIPTION,
                                "background_color": BACKGROUND_COLOR},
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": NAME.lower(), "always_online": True},
            "slash_commands": commands,
            **({"shortcuts": shortcuts} if shortcuts else {}),
        },
        "oauth_config": oauth,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": token_rotation,
        },
    }


def command_line(base_url: str, socket_mode: bool, token_rotation: bool) -> str:
    """The `estafeta manifest` command that prints this manifest."""
    words = ["estafeta", "manifest"]
    if base_url:
        words += ["--url", base_url]
    if socket_mode:
        words.append("--socket-mode")
    if token_rotation:
        words.append("--token-rotation")
    return " ".join(words)


def dump(base_url: str = "", *, socket_mode: bool = False,
         token_rotation: bool = False) -> str:
    """The manifest as YAML, after a comment saying how to make it again."""
    header = (f"# The Slack app manifest of {NAME}, generated by "
              f"`{command_line(base_url, socket_mode, token_rotation)}`.\n"
              "# Paste it at https://api.slack.com/apps → Create New App → From a manifest;\n"
              "# generate it again whenever a service's slash command or scopes change.\n")
    body = yaml.safe_dump(manifest(base_url, socket_mode=socket_mode,
                                   token_rotation=token_rotation),
                          sort_keys=False, allow_unicode=True, width=100)
    return header + body


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `estafeta manifest`."""
    parser.add_argument("--url", default="", help="the gateway's public https:// base URL "
                        "(request URLs and the OAuth redirect go under it)")
    parser.add_argument("--socket-mode", action="store_true",
                        help="events, commands and interactions over Socket Mode: no "
                        "request URLs (the gateway runs `estafeta socket`)")
    parser.add_argument("--token-rotation", action="store_true",
                        help="turn on token rotation (bot tokens expire every 12 hours)")


def run(args: argparse.Namespace) -> int:
    """Print the manifest for parsed options; a bad URL is one line on stderr and exit 2."""
    try:
        text = dump(args.url, socket_mode=args.socket_mode, token_rotation=args.token_rotation)
    except ValueError as exc:
        print(f"estafeta manifest: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0
