"""The index's text handling on hostile text: unchanged on what Slack sends, and linear."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.search import text

# The previous pattern: `[^>|]*` also ran over `<`, so each raw `<` was tried to the end.
_OLD_LINK = re.compile(r"<(?:[^>|]*\|)?([^>]*)>")
# What Slack sends: `<`, `>` and `&` typed by people arrive escaped; raw `<` only opens markup.
_SLACK_PIECES = ["deploy ", "reunión ", "&lt;", "&gt;", "&amp;", "a|b ", "<@U1>", "<@U1|ana>",
                 "<#C1|general>", "<#C1>", "<https://x.io/a?b=1&amp;c=2|the runbook>",
                 "<https://x.io>", "<mailto:ops@x.io|ops>", "<!here>", "<!subteam^S1|@team>",
                 "<!date^1392734382^{date}|Feb 18>", " ", "\n"]


def _old_plain(value: str) -> str:
    def label(match: re.Match[str]) -> str:
        inner = match.group(1)
        return "" if text._USER_OR_CHANNEL.match(inner) else inner

    return _OLD_LINK.sub(label, value)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_SLACK_PIECES), max_size=30).map("".join))
def test_plain_is_unchanged_on_slack_message_text(value: str) -> None:
    assert text.plain(value) == _old_plain(value)


def _fit(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


SHAPES: dict[str, Callable[[int], str]] = {
    "raw_lt": lambda n: "<" * n,
    "lt_bar": lambda n: _fit("<<<<|", n),
    "lt_words": lambda n: _fit("<ab |", n),
    "amp_chain": lambda n: "&" + "amp;" * (n // 4),
    "markers": lambda n: _fit("*_~", n),
    "emoji_codes": lambda n: _fit(":a::a:", n),
    "backticks": lambda n: _fit("``` `` `a", n),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("call", [text.plain, text.index_terms], ids=["plain", "index_terms"])
def test_hostile_text_cannot_stall_the_indexer(shape: str, call: Callable[[str], object]) -> None:
    # Not a performance target (that is `make bench`): a guard against backtracking. Before
    # the link pattern was fixed, 40,000 raw `<` took 16 s here; linear work takes a few ms,
    # so a limit 100 times that still fails only when the work is quadratic again.
    started = time.perf_counter()
    call(SHAPES[shape](40_000))
    assert time.perf_counter() - started < 2.0


def test_hostile_text_keeps_its_words_and_loses_only_markup() -> None:
    assert text.plain("<" * 40_000) == "<" * 40_000
    assert text.plain("<<<<|" * 8_000 + "<@U1> <#C1|general> deploy") == (
        "<<<<|" * 8_000 + " general deploy")
    assert text.words("<" * 20_000 + " reunión " + "<<|" * 5_000) == ["reunion"]
    assert text.index_terms("deploy " + "<" * 40_000 + " failed") == "deploy fail"
