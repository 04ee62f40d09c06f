"""What every engine of the search index shares: who may find what, how results are ranked,
and how they are shown.

The full-text vocabulary is partitioned: every indexed stem carries a short prefix derived from
the team (public channels, knowledge bases) or from the team and the conversation (private
channels, DMs). A query only ever names the terms of what its caller may see, so isolation
holds by construction on every engine.

Results are ranked by BM25 over a few pages' worth of candidates, then re-ordered with a mild
bonus for recent messages; a result's snippet is a window of its text around the first match.
"""

from __future__ import annotations

import hashlib

from workers.search import text
from workers.search.store import PUBLIC, Document, Scope

RECENCY_DAYS = 30.0  # a message this old has lost half of its (mild) recency bonus
CANDIDATES = 4  # rank this many times a page by relevance, then re-rank with recency
SNIPPET_WORDS = 24
# How much of a result's text is searched for the words to highlight: a match further in is
# not shown (the snippet is then the text's start); Slack's 40,000-character messages would
# otherwise cost every search that finds them a stem lookup per word.
HIGHLIGHT_CHARACTERS = 4_000
SNIPPET_TOKEN_CHARACTERS = 60  # a 40,000-character "word" is shown as its first 60


def partition(team: str, channel: str | None = None) -> str:
    """The vocabulary partition of a team's public documents, or of one private conversation.

    A short hash, so that it is a plain ASCII word that can prefix every stem.
    """
    key = team if channel is None else f"{team}/{channel}"
    return "p" + hashlib.blake2s(key.encode(), digest_size=5).hexdigest() + "x"


def partition_of(document: Document) -> str:
    """Who may find `document`: its team (public channels, knowledge bases) or its channel."""
    if document.channel_type in (PUBLIC, "kb"):
        return partition(document.team)
    return partition(document.team, document.channel)


def visible_partitions(scope: Scope) -> list[str]:
    """The partitions a searcher may read: the team's, and the private conversation it is in."""
    partitions = [partition(scope.team)]
    if scope.channel:
        partitions.append(partition(scope.team, scope.channel))
    return partitions


def candidate_count(limit: int, offset: int) -> int:
    """How many of the most relevant matches are re-ranked with recency for one page."""
    return (offset + limit) * CANDIDATES + 20


def recency_bonus(at: float, now: float) -> float:
    """Between 0 and 1: 1 for a message written now, half for one `RECENCY_DAYS` old."""
    return 1.0 / (1.0 + max(0.0, now - at) / (RECENCY_DAYS * 86400))


def _shorten(token: str) -> str:
    """A word of a snippet, cut at `SNIPPET_TOKEN_CHARACTERS` (never inside `&amp;`)."""
    if len(token) <= SNIPPET_TOKEN_CHARACTERS:
        return token
    cut = token[:SNIPPET_TOKEN_CHARACTERS - 1]
    amp = cut.rfind("&", -5)
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def highlight(original: str, stems: set[str], words: int = SNIPPET_WORDS) -> str:
    """A window of `original` around the first matching word, matches in *bold*.

    Only the first `HIGHLIGHT_CHARACTERS` of the text are searched for a match and a word is
    shown up to `SNIPPET_TOKEN_CHARACTERS`, so a result's snippet costs and weighs the same
    whether its message has 40 characters or Slack's 40,000.
    """
    plain = text.plain(original)
    if len(plain) > HIGHLIGHT_CHARACTERS:
        cut = plain.rfind(" ", 0, HIGHLIGHT_CHARACTERS + 1)
        plain = plain[:cut if cut > HIGHLIGHT_CHARACTERS // 2 else HIGHLIGHT_CHARACTERS]
        truncated = True
    else:
        truncated = False
    tokens = plain.split()
    marked: dict[int, bool] = {}

    def is_match(i: int) -> bool:
        if i not in marked:
            marked[i] = any(stem in stems for w in text.words(tokens[i])
                            for stem in text.query_stems(w))
        return marked[i]

    # Stems are computed only up to the first match and inside the window.
    first = next((i for i in range(len(tokens)) if is_match(i)), 0)
    start = max(0, first - words // 3)
    window = [f"*{_shorten(tokens[i])}*" if is_match(i) else _shorten(tokens[i])
              for i in range(start, min(len(tokens), start + words))]
    prefix = "… " if start > 0 else ""
    suffix = " …" if truncated or start + words < len(tokens) else ""
    return prefix + " ".join(window) + suffix


def document_terms(document: Document, prefix: str) -> list[str]:
    """The stems that represent `document` (its title and text) in the index, in order, each
    glued to its partition `prefix`."""
    return [prefix + t for t in text.index_terms(f"{document.title} {document.text}").split()]
