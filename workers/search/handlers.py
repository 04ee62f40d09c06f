"""The search service's handlers: index what is heard, answer `find`, `more` and `reindex`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from estafeta import grammar, mrkdwn
from estafeta.grammar import Command
from estafeta.payloads import Context, HeardMessage
from workers.replies import Reply, SlackReplier, TransientError
from workers.search.names import SlackNames, TeamNames
from workers.search.query import QueryError, parse
from workers.search.store import Document, Hit, Scope, SearchState, SearchStores
from workers.service import LEDGER_RETENTION, ServiceHandlers

PAGE_SIZE = 5
DOMAIN_RETRY_AFTER = 300.0  # seconds before asking Slack for a team's domain again
# A finished backfill's row only serves a retried `/search reindex` (retries end within an
# hour): kept as long as the reply ledger, then forgotten.
BACKFILL_RETENTION = LEDGER_RETENTION
_CHANNEL = re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$|^#?([A-Z0-9]{6,})$")
# Only these become links; `|` or `>` would end the URL early and forge the label.
_LINKABLE = re.compile(r"^https?://[^\s<>|]+$", re.IGNORECASE)

TEXTS = {
    "en": {
        "none": "Nothing found for “{q}”.",
        "found": "Results {first}–{last} for “{q}”:",
        "more": "`/search more` for the next results.",
        "no_more": "No more results for “{q}”.",
        "nothing_before": "Search for something first, then ask for `more`.",
        "reindex_what": "Which channel? `/search reindex #channel`.",
        "unknown_channel": "I don't know a channel called #{name}.",
        "reindexing": "Reading the history of <#{channel}> again, in the background at bulk "
                      "priority. I'll post a summary there when it's done.",
    },
    "es": {
        "none": "No encontré nada para «{q}».",
        "found": "Resultados {first}–{last} para «{q}»:",
        "more": "`/search mas` para ver más.",
        "no_more": "No hay más resultados para «{q}».",
        "nothing_before": "Busca algo primero y luego pide `mas`.",
        "reindex_what": "¿Qué canal? `/search reindexa #canal`.",
        "unknown_channel": "No conozco ningún canal llamado #{name}.",
        "reindexing": "Vuelvo a leer el historial de <#{channel}> en segundo plano, con "
                      "prioridad baja. Publicaré un resumen allí cuando termine.",
    },
}


def document_of(message: HeardMessage) -> Document:
    """The searchable form of a heard message."""
    # An unknown channel type is treated as private: found only from inside that channel.
    return Document(team=message.team, channel=message.channel, ts=message.ts,
                    text=message.text, user=message.user,
                    channel_type=message.channel_type or "unknown",
                    thread_ts=message.thread_ts)


class Answers:
    """Formats hits for people and for HTTP clients; knows each team's Slack domain."""

    def __init__(self, state: SearchState, replier: SlackReplier) -> None:
        self.state = state
        self.replier = replier
        self._domain_retry_at: dict[str, float] = {}

    def permalink(self, document: Document) -> str:
        """A link to the message in Slack, or the document's own URL."""
        if document.url or document.channel.startswith("kb:"):
            return document.url
        base = f"https://{self._domain(document.team)}.slack.com/archives/{document.channel}"
        link = f"{base}/p{document.ts.replace('.', '')}"
        if document.thread_ts and document.thread_ts != document.ts:
            link += f"?thread_ts={document.thread_ts}&cid={document.channel}"
        return link

    def _domain(self, team: str) -> str:
        known = self.state.team_domain(team)
        if known is not None:
            return known
        if time.monotonic() < self._domain_retry_at.get(team, 0.0):
            return "app"
        try:
            domain = str(self.replier.call("team_info", team=team)["team"]["domain"])
        except (TransientError, SlackApiError, KeyError, TypeError):
            # app.slack.com links work too. Ask again later, not on every search: a slow
            # Slack must not slow every answer down.
            self._domain_retry_at[team] = time.monotonic() + DOMAIN_RETRY_AFTER
            return "app"
        self.state.remember_team_domain(team, domain)
        return domain

    def line(self, hit: Hit) -> str:
        """One result as a line of Slack mrkdwn; every stored text in it is inert."""
        document = hit.document
        link = self.permalink(document)
        # Message text arrives with Slack's own escapes: undo them once, escape once.
        snippet = mrkdwn.escape(mrkdwn.unescape(hit.snippet))
        if document.channel.startswith("kb:"):
            title = mrkdwn.escape(document.title)
            label = (f"<{mrkdwn.escape(link)}|{title}>" if _LINKABLE.match(link)
                     else f"*{title}*")
            return f"• {label} ({mrkdwn.escape(document.channel[3:])}): {snippet}"
        when = datetime.fromtimestamp(document.at, tz=UTC).strftime("%Y-%m-%d")
        return f"• <@{document.user}> in <#{document.channel}> {when} <{link}|view>: {snippet}"

    def data(self, hit: Hit) -> dict[str, Any]:
        """One result as JSON."""
        document = hit.document
        return {
            "channel": document.channel, "ts": document.ts, "user": document.user,
            "title": document.title, "snippet": hit.snippet,
            "permalink": self.permalink(document),
        }


def build_handlers(stores: SearchStores, replier: SlackReplier,
                   start_backfill: Callable[[Context, str, str], str]) -> ServiceHandlers:
    """Handlers bound to this deployment's stores and Slack client.

    `start_backfill(context, channel, lang)` starts a backfill once per request and returns
    the channel of the backfill that request started.
    """
    store, state = stores.documents, stores.state
    answers = Answers(state, replier)
    names = SlackNames(stores.names, replier)

    def run(text: str, page: int, command: Command, context: Context) -> Reply:
        texts = TEXTS[command.lang]
        try:
            query = parse(text, names.resolver(context.team))
        except QueryError as error:
            usage = grammar.help_text("search", command.lang)
            # The error quotes what was typed.
            return Reply(f"{mrkdwn.escape(str(error))}\n\n{usage}", {"error": str(error)})
        hits = store.search(query, Scope(context.team, context.inside), PAGE_SIZE + 1,
                            offset=page * PAGE_SIZE)
        state.remember_query(context.team, context.channel, context.user, text, page)
        shown, has_more = hits[:PAGE_SIZE], len(hits) > PAGE_SIZE
        data = {"query": text, "page": page + 1, "has_more": has_more,
                "results": [answers.data(h) for h in shown]}
        quoted = mrkdwn.escape(text)
        if not shown:
            key = "none" if page == 0 else "no_more"
            return Reply(texts[key].format(q=quoted), data)
        first = page * PAGE_SIZE + 1
        lines = [texts["found"].format(first=first, last=first + len(shown) - 1, q=quoted)]
        lines += [answers.line(hit) for hit in shown]
        if has_more:
            lines.append(texts["more"])
        return Reply("\n".join(lines), data)

    def find(command: Command, context: Context) -> Reply:
        return run(command.args, 0, command, context)

    def more(command: Command, context: Context) -> Reply:
        last = state.last_query(context.team, context.channel, context.user)
        if last is None:
            return Reply(TEXTS[command.lang]["nothing_before"], {"error": "no previous query"})
        query, page = last
        return run(query, page + 1, command, context)

    def reindex(command: Command, context: Context) -> Reply:
        texts = TEXTS[command.lang]
        try:
            channel = _reindex_channel(command.args.strip(), context,
                                       names.resolver(context.team))
        except QueryError as error:
            return Reply(mrkdwn.escape(str(error)), {"error": str(error)})
        except LookupError as unknown:
            name = str(unknown.args[0])
            return Reply(texts["unknown_channel"].format(name=mrkdwn.escape(name)),
                         {"error": "unknown channel", "channel_name": name})
        if not channel:
            return Reply(texts["reindex_what"], {"error": "no channel"})
        # A re-run of this request (a retry) gets the backfill it started the first time.
        channel = start_backfill(context, channel, command.lang)
        return Reply(texts["reindexing"].format(channel=channel),
                     {"channel": channel, "started": True})

    def on_heard(message: HeardMessage) -> None:
        if message.deleted:
            store.delete(message.team, message.channel, message.ts)
        else:
            store.upsert([document_of(message)])

    def prune() -> dict[str, object]:
        return {"backfills_pruned": stores.backfills.prune(BACKFILL_RETENTION)}

    return ServiceHandlers(
        commands={"find": find, "more": more, "reindex": reindex},
        on_heard=on_heard,
        maintenance=[prune],
    )


def _reindex_channel(args: str, context: Context, names: TeamNames) -> str:
    """The channel `/search reindex ARGS` means: an escaped form, an id, a name, or here.

    Raises `LookupError(name)` for a name nobody knows.
    """
    if not args:
        return context.channel
    match = _CHANNEL.match(args)
    if match:
        return str(match.group(1) or match.group(2))
    name = args.lstrip("#")
    ids = names.channel(name) if name and not any(c in name for c in " <>|") else []
    if len(ids) != 1:
        raise LookupError(name)
    return ids[0]
