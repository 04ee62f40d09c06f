"""The search service's handlers: index what is heard, answer `find`, `more`, `reindex` and
the buttons on results."""

from __future__ import annotations

import re
from collections.abc import Callable

from estafeta import grammar, mrkdwn
from estafeta.grammar import Command
from estafeta.interactions import Interaction
from estafeta.payloads import Context, HeardMessage
from workers.replies import Reply, SlackReplier
from workers.search import texts
from workers.search.answers import (
    MORE_ACTION,
    SHARE_ACTION,
    Answers,
    PageRef,
    Shown,
    buttons,
    shared_by,
)
from workers.search.names import SlackNames, TeamNames
from workers.search.query import QueryError, parse
from workers.search.store import Document, Scope, SearchStores
from workers.service import LEDGER_RETENTION, ServiceHandlers

PAGE_SIZE = 5
# The last page a button offers (results 496 to 500): a forged value cannot ask for an offset
# that makes every search of the team slow.
MAX_BUTTON_PAGE = 99
# A finished backfill's row only serves a retried `/search reindex` (retries end within an
# hour): kept as long as the reply ledger, then forgotten.
BACKFILL_RETENTION = LEDGER_RETENTION
_CHANNEL = re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$|^#?([A-Z0-9]{6,})$")
# Where a person reads the answer in Slack (an HTTP caller gets text and data only).
_IN_SLACK = frozenset({"slash", "mention", "interaction"})


def document_of(message: HeardMessage) -> Document:
    """The searchable form of a heard message."""
    # An unknown channel type is treated as private: found only from inside that channel.
    return Document(team=message.team, channel=message.channel, ts=message.ts,
                    text=message.text, user=message.user,
                    channel_type=message.channel_type or "unknown",
                    thread_ts=message.thread_ts)


def build_handlers(stores: SearchStores, replier: SlackReplier,
                   start_backfill: Callable[[Context, str, str], str]) -> ServiceHandlers:
    """Handlers bound to this deployment's stores and Slack client.

    `start_backfill(context, channel, lang)` starts a backfill once per request and returns
    the channel of the backfill that request started.
    """
    store, state = stores.documents, stores.state
    answers = Answers(state, replier)
    names = SlackNames(stores.names, replier)

    def results(text: str, page: int, lang: str, context: Context,
                remember: bool = True) -> tuple[Reply, Shown | None]:
        """One page of results for `text`, as `context` may see them (None: a query error)."""
        try:
            query = parse(text, names.resolver(context.team))
        except QueryError as error:
            usage = grammar.help_text("search", lang)
            # The error quotes what was typed.
            return Reply(f"{mrkdwn.escape(str(error))}\n\n{usage}", {"error": str(error)}), None
        # The team boundary, and private conversations only from inside them: both from the
        # request itself (never from what a button carries).
        hits = store.search(query, Scope(context.team, context.inside), PAGE_SIZE + 1,
                            offset=page * PAGE_SIZE)
        if remember:
            state.remember_query(context.team, context.channel, context.user, text, page)
        shown = Shown(text, page, lang, hits[:PAGE_SIZE], len(hits) > PAGE_SIZE, PAGE_SIZE)
        data = {"query": text, "page": page + 1, "has_more": shown.has_more,
                "results": [answers.data(h) for h in shown.hits]}
        return Reply(answers.text(shown), data), shown

    def in_slack(reply: Reply, shown: Shown | None, context: Context, ephemeral: bool) -> Reply:
        """`reply` with its Block Kit form and buttons, for a person reading it in Slack."""
        if shown is not None and context.source in _IN_SLACK:
            more = shown.has_more and shown.page < MAX_BUTTON_PAGE
            reply.blocks = answers.blocks(shown, buttons(shown, ephemeral=ephemeral, more=more))
        return reply

    def run(text: str, page: int, command: Command, context: Context) -> Reply:
        reply, shown = results(text, page, command.lang, context)
        # A slash command's answer is the asker's alone: it may be shared.
        return in_slack(reply, shown, context, ephemeral=context.source == "slash")

    def find(command: Command, context: Context) -> Reply:
        return run(command.args, 0, command, context)

    def more(command: Command, context: Context) -> Reply:
        last = state.last_query(context.team, context.channel, context.user)
        if last is None:
            return Reply(texts.get(command.lang, "nothing_before"),
                         {"error": "no previous query"})
        query, page = last
        return run(query, page + 1, command, context)

    def next_clicked(item: Interaction, context: Context, lang: str) -> Reply:
        """The "Next results" button: the next page takes the place of the clicked message."""
        ref = PageRef.read(item.value, MAX_BUTTON_PAGE)
        reply, shown = results(ref.query, ref.page, ref.lang, context)
        reply = in_slack(reply, shown, context, ephemeral=ref.ephemeral)
        reply.replace_original = True
        # A message the channel sees stays one the channel sees.
        reply.in_channel = not ref.ephemeral
        return reply

    def share_clicked(item: Interaction, context: Context, lang: str) -> Reply:
        """The "Share in channel" button: the page shown, posted anew for the whole channel."""
        ref = PageRef.read(item.value, MAX_BUTTON_PAGE)
        # Found again here, in the channel's own scope: nothing it may not see is shared.
        reply, shown = results(ref.query, ref.page, ref.lang, context, remember=False)
        if shown is None or not shown.hits:
            quoted = mrkdwn.escape(ref.query)
            return Reply(texts.get(ref.lang, "nothing_to_share").format(q=quoted),
                         {"error": "nothing to share"})
        line = shared_by(context.user, ref.lang)
        reply.text = f"{line}\n{reply.text}"
        reply.blocks = answers.blocks(shown, [], above=line)
        reply.in_channel = True
        return reply

    def reindex(command: Command, context: Context) -> Reply:
        lang = command.lang
        try:
            channel = _reindex_channel(command.args.strip(), context,
                                       names.resolver(context.team))
        except QueryError as error:
            return Reply(mrkdwn.escape(str(error)), {"error": str(error)})
        except LookupError as unknown:
            name = str(unknown.args[0])
            return Reply(texts.get(lang, "unknown_channel").format(name=mrkdwn.escape(name)),
                         {"error": "unknown channel", "channel_name": name})
        if not channel:
            return Reply(texts.get(lang, "reindex_what"), {"error": "no channel"})
        # A re-run of this request (a retry) gets the backfill it started the first time.
        channel = start_backfill(context, channel, lang)
        return Reply(texts.get(lang, "reindexing").format(channel=channel),
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
        interactions={MORE_ACTION: next_clicked, SHARE_ACTION: share_clicked},
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
