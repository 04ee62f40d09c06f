"""Search queries with the modifiers Slack users know, compiled to a safe FTS5 expression.

`"exact phrase"`, `from:@user`, `in:#channel`, `before:YYYY-MM-DD`, `after:YYYY-MM-DD`,
`-word`. People and channels are either Slack's escaped forms (`<@U…|ana>`, `<#C…|general>`)
or plain names, which a `Names` resolver turns into ids. Whatever the user types, the FTS5
expression is built from quoted stems only, so no input (unbalanced quotes, stray operators,
`NEAR`, `*`) can be a syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from workers.search import text

MAX_QUERY_LENGTH = 500

_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
# Slack's escaped forms: `<@U1>`, `<@U1|ana>`, `<#C1|general>`, `<#C1|>`.
_ESCAPED = {"from": re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$"),
            "in": re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$")}
# A bare id (HTTP callers may write one): Slack's ids are upper case, names never are.
_BARE_ID = {"from": re.compile(r"^@?([UW][A-Z0-9]{2,})$"),
            "in": re.compile(r"^#?([CGD][A-Z0-9]{2,})$")}
_NAME = re.compile(r"^[@#]?([^\s<>|@#][^\s<>|]*)$")


class QueryError(ValueError):
    """The query cannot be run; the message says why, for the user."""


class Names(Protocol):
    """Resolves plain channel and people names of one team to Slack ids."""

    def channel(self, name: str) -> list[str]:
        """Ids of the channels called `name` ([] if none)."""

    def user(self, name: str) -> list[str]:
        """Ids of the people called `name` ([] if none)."""


@dataclass
class Query:
    """A parsed search query."""

    words: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    from_users: list[str] = field(default_factory=list)
    in_channels: list[str] = field(default_factory=list)
    before: float | None = None  # epoch seconds, exclusive
    after: float | None = None  # epoch seconds, exclusive (the whole day is excluded)

    @property
    def has_text(self) -> bool:
        """Whether there is anything to match in the text."""
        return bool(self.words or self.phrases)

    def highlight_stems(self) -> set[str]:
        """Stems worth highlighting in results."""
        stems: set[str] = set()
        for word in self.words + [w for phrase in self.phrases for w in phrase]:
            if not text.is_stop_word(word):
                stems.update(text.query_stems(word))
        return stems

    def match_expression(self, prefix: str = "") -> str:
        """The FTS5 MATCH expression for the text part (empty if there is none).

        `prefix` is glued to every term: an index may partition its vocabulary (by team, say).
        """
        parts = []
        for word in self.words:
            parts.append(_any_stem(word, prefix))
        for phrase in self.phrases:
            kept = [w for w in phrase if not text.is_stop_word(w)]
            # The phrase as a Spanish message and as an English message would have indexed it.
            variants = sorted({" ".join(prefix + text.stem(w, language) for w in kept)
                               for language in ("es", "en")})
            if kept:
                parts.append("(" + " OR ".join(f'"{v}"' for v in variants) + ")")
        expression = " AND ".join(parts)
        if expression and self.excluded:
            # One NOT over all excluded words: nesting one NOT per word overflows FTS5's
            # parser stack at about a hundred of them.
            excluded = " OR ".join(_any_stem(word, prefix) for word in self.excluded)
            expression = f"({expression}) NOT ({excluded})"
        return expression

    @property
    def filters_rows(self) -> bool:
        """Whether rows must be filtered by author, channel or date beyond the text match."""
        return bool(self.from_users or self.in_channels or self.before is not None
                    or self.after is not None)


def _any_stem(word: str, prefix: str) -> str:
    stems = text.query_stems(word)
    alternatives = " OR ".join(f'"{prefix}{stem}"' for stem in stems)
    return f"({alternatives})" if len(stems) > 1 else alternatives


def _day(value: str, modifier: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"`{modifier}:{value}` is not a date; write it as YYYY-MM-DD.") from None


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def parse(raw: str, names: Names | None = None) -> Query:
    """Parse what the user typed; raise `QueryError` only for a query that cannot mean anything.

    `names` resolves `in:#general` and `from:@ana`; without it a plain name is taken as an id.
    """
    if len(raw) > MAX_QUERY_LENGTH:
        raise QueryError(f"That query is too long ({len(raw)} characters; the limit is "
                         f"{MAX_QUERY_LENGTH}).")
    query = Query()
    for token in _TOKEN.findall(raw):
        negative = token.startswith("-") and len(token) > 1
        body = token[1:] if negative else token
        if body.startswith('"'):
            phrase = text.words(body.strip('"'))
            if negative:
                query.excluded.extend(w for w in phrase if not text.is_stop_word(w))
            elif len(phrase) == 1:
                query.words.extend(phrase)
            elif phrase:
                query.phrases.append(phrase)
            continue
        modifier, colon, value = body.partition(":")
        if colon and value and modifier.lower() in {"from", "in", "before", "after"}:
            _apply_modifier(query, modifier.lower(), value, names)
            continue
        for word in text.words(body):
            if text.is_stop_word(word):
                continue
            (query.excluded if negative else query.words).append(word)
    if not (query.has_text or query.from_users or query.in_channels):
        raise QueryError("Tell me what to look for: some words, a \"phrase\", "
                         "`from:@someone` or `in:#channel`.")
    return query


def _apply_modifier(query: Query, modifier: str, value: str, names: Names | None) -> None:
    if modifier in {"from", "in"}:
        (query.from_users if modifier == "from" else query.in_channels).extend(
            _ids(modifier, value, names))
    elif modifier == "before":
        query.before = _epoch(_day(value, modifier))
    else:
        day = _day(value, modifier)
        query.after = _epoch(day) + 86400  # "after 2026-01-31" starts on February 1st


def _ids(modifier: str, value: str, names: Names | None) -> list[str]:
    """The ids `from:`/`in:` `value` names: escaped forms and bare ids as they are, plain
    names through `names`."""
    what = "person" if modifier == "from" else "channel"
    for pattern in (_ESCAPED[modifier], _BARE_ID[modifier]):
        match = pattern.match(value)
        if match:
            return [match.group(1)]
    match = _NAME.match(value)
    if not match:
        raise QueryError(f"`{modifier}:{value}` does not name a {what}.")
    name = match.group(1)
    if names is None:
        return [name]
    ids = names.user(name) if modifier == "from" else names.channel(name)
    if not ids:
        if modifier == "from":
            raise QueryError(f"I don't know anyone called @{name}.")
        raise QueryError(f"I don't know a channel called #{name}.")
    return ids
