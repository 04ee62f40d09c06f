"""How results are shown: a plain-text answer, its Block Kit form, and the buttons on it.

Every stored text (snippets, titles, knowledge-base names) and the query are escaped once
before they are written back, in the text and in every block alike. The buttons carry what
the next click needs (the query, the page shown, the language) in their `value`; never the
team or the channel, which always come from the click itself.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from estafeta import grammar, mrkdwn
from workers.replies import SlackReplier, TransientError
from workers.search import texts
from workers.search.store import Document, Hit, SearchState

MORE_ACTION = "search.more"
SHARE_ACTION = "search.share"
DOMAIN_RETRY_AFTER = 300.0  # seconds before asking Slack for a team's domain again
MAX_VALUE = 2000  # Slack's limit on a button's value
MAX_BLOCK_TEXT = 3000  # Slack's limit on a section's (and a context element's) text
# Only these become links; `|` or `>` would end the URL early and forge the label.
_LINKABLE = re.compile(r"^https?://[^\s<>|]+$", re.IGNORECASE)
# What a Slack user or conversation id looks like: only such an id becomes a `<@…>`/`<#…>`.
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,40}$")


class BadButton(ValueError):
    """A button value the search service did not write: the click is refused."""


@dataclass(frozen=True)
class PageRef:
    """What a results button carries: the query, the page the click shows (0 first), its
    language, and whether the message is the asker's alone (an ephemeral answer, which may
    be shared)."""

    query: str
    page: int
    lang: str
    ephemeral: bool

    def value(self) -> str:
        """The button's `value` (compact JSON)."""
        return json.dumps({"q": self.query, "p": self.page, "l": self.lang,
                           "e": int(self.ephemeral)}, ensure_ascii=False,
                          separators=(",", ":"))

    @classmethod
    def read(cls, value: str, max_page: int) -> PageRef:
        """The reference in a button's `value`; `BadButton` for anything else."""
        try:
            data = json.loads(value)
        except ValueError:
            raise BadButton("the button value is not JSON") from None
        if not isinstance(data, dict):
            raise BadButton("the button value is not an object")
        query, page, lang, ephemeral = data.get("q"), data.get("p"), data.get("l"), data.get("e")
        if not isinstance(query, str) or not query.strip():
            raise BadButton("the button value has no query")
        if not isinstance(page, int) or isinstance(page, bool) or not 0 <= page <= max_page:
            raise BadButton("the button value has no page, or one out of range")
        if lang not in grammar.LANGS or ephemeral not in (0, 1):
            raise BadButton("the button value has no language or visibility")
        return cls(query, page, str(lang), bool(ephemeral))


@dataclass(frozen=True)
class Shown:
    """One page of results, as someone asked for it."""

    query: str
    page: int  # 0 first
    lang: str
    hits: list[Hit]
    has_more: bool
    page_size: int

    @property
    def first(self) -> int:
        """The number of the first result shown (1 first)."""
        return self.page * self.page_size + 1


def _mention(sigil: str, slack_id: str) -> str:
    """`<@U…>` or `<#C…>` for a real Slack id; anything else shown as inert text."""
    return f"<{sigil}{slack_id}>" if _SLACK_ID.match(slack_id) else mrkdwn.escape(slack_id)


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

    @staticmethod
    def _snippet(hit: Hit) -> str:
        # Message text arrives with Slack's own escapes: undo them once, escape once.
        return mrkdwn.escape(mrkdwn.unescape(hit.snippet))

    def _kb_label(self, document: Document, link: str) -> str:
        title = mrkdwn.escape(document.title)
        return f"<{mrkdwn.escape(link)}|{title}>" if _LINKABLE.match(link) else f"*{title}*"

    def line(self, hit: Hit) -> str:
        """One result as a line of Slack mrkdwn; every stored text in it is inert."""
        document = hit.document
        link = self.permalink(document)
        snippet = self._snippet(hit)
        if document.channel.startswith("kb:"):
            label = self._kb_label(document, link)
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

    def hit_blocks(self, hit: Hit, lang: str) -> list[Block]:
        """One result as blocks: its snippet, then who, where, when and a link to it."""
        document = hit.document
        link = self.permalink(document)
        if document.channel.startswith("kb:"):
            about = f"{self._kb_label(document, link)} · {mrkdwn.escape(document.channel[3:])}"
        else:
            when = datetime.fromtimestamp(document.at, tz=UTC).strftime("%Y-%m-%d")
            where = _mention("#", document.channel)
            who = (texts.get(lang, "by_in").format(user=_mention("@", document.user),
                                                   channel=where)
                   if document.user else where)
            about = f"{who} · {when}"
            if _LINKABLE.match(link):
                about += f" · <{link}|{texts.get(lang, 'view')}>"
        return [
            SectionBlock(text=MarkdownTextObject(
                text=mrkdwn.fit(self._snippet(hit), MAX_BLOCK_TEXT) or "…")),
            ContextBlock(elements=[MarkdownTextObject(text=mrkdwn.fit(about, MAX_BLOCK_TEXT))]),
        ]

    def text(self, shown: Shown) -> str:
        """The plain answer: what notifications, screen readers and HTTP clients get."""
        quoted = mrkdwn.escape(shown.query)
        if not shown.hits:
            key = "none" if shown.page == 0 else "no_more"
            return texts.get(shown.lang, key).format(q=quoted)
        last = shown.first + len(shown.hits) - 1
        lines = [texts.get(shown.lang, "found").format(first=shown.first, last=last, q=quoted)]
        lines += [self.line(hit) for hit in shown.hits]
        if shown.has_more:
            lines.append(texts.get(shown.lang, "more"))
        return "\n".join(lines)

    def blocks(self, shown: Shown, buttons: list[ButtonElement],
               above: str = "") -> list[dict[str, Any]]:
        """The Block Kit answer: a heading, each hit between dividers, then the buttons.

        `above`: a line of mrkdwn shown first (who shared the results).
        """
        heading = self.text(shown).split("\n", 1)[0]  # the first line of the text answer
        blocks: list[Block] = []
        if above:
            blocks.append(ContextBlock(elements=[
                MarkdownTextObject(text=mrkdwn.fit(above, MAX_BLOCK_TEXT))]))
        blocks.append(SectionBlock(
            text=MarkdownTextObject(text=mrkdwn.fit(heading, MAX_BLOCK_TEXT))))
        for hit in shown.hits:
            blocks.append(DividerBlock())
            blocks.extend(self.hit_blocks(hit, shown.lang))
        if buttons:
            blocks.append(DividerBlock())
            blocks.append(ActionsBlock(block_id="search.buttons", elements=buttons))
        return [block.to_dict() for block in blocks]


def buttons(shown: Shown, *, ephemeral: bool, more: bool) -> list[ButtonElement]:
    """The buttons under a page of results: the next page (when `more`), and sharing an
    answer only its asker sees (when `ephemeral`)."""
    elements = []
    if more and shown.hits:
        ref = PageRef(shown.query, shown.page + 1, shown.lang, ephemeral)
        if len(ref.value()) <= MAX_VALUE:
            elements.append(ButtonElement(text=texts.get(shown.lang, "next_button"),
                                          action_id=MORE_ACTION, value=ref.value()))
    if ephemeral and shown.hits:
        ref = PageRef(shown.query, shown.page, shown.lang, ephemeral)
        if len(ref.value()) <= MAX_VALUE:
            elements.append(ButtonElement(text=texts.get(shown.lang, "share_button"),
                                          action_id=SHARE_ACTION, value=ref.value(),
                                          style="primary"))
    return elements


def shared_by(user: str, lang: str) -> str:
    """The line above shared results: who shared them (a Slack user id, never user text)."""
    who = f"<@{user}>" if _SLACK_ID.match(user) else texts.get(lang, "someone")
    return texts.get(lang, "shared_by").format(user=who)
