"""`slack_text.normalise` on hostile text: idempotent, unchanged on ordinary text, linear."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.sentiment import slack_text
from workers.sentiment.analysis import MAX_SCORED_CHARACTERS, Analyzer, scored_text
from workers.sentiment.slack_text import MAX_PASSES, normalise

# Text built from the pieces Slack markup is made of, so that markup nests, is escaped,
# escaped twice, glued to emoji codes and format markers.
_PIECES = [*"ab :+1_*~`<>@#|&;!\n😀é", "&amp;", "&lt;", "&gt;", "<@U1>", "<#C1|x>",
           "<http://x|", ":tada:", ":skin-tone-2:", "```", "http://y", "\u200d", "\ufe0f"]
_MARKUP = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


def _fixpoint(text: str) -> str:
    """The definition normalise implements: `_once` until nothing changes, however long."""
    while (cleaner := slack_text._once(text)) != text:
        text = cleaner
    return text


@settings(max_examples=500, deadline=None)
@given(_MARKUP)
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=20).map("".join))
def test_the_pass_bound_never_changes_what_people_write(text: str) -> None:
    # Twenty pieces nest links at most four deep: short of hostile nesting, everything
    # settles within MAX_PASSES, so the bound changes nothing.
    if slack_text._SPECIAL.search(text):
        assert normalise(text) == _fixpoint(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["&", "amp;", "lt;", "gt;", "a", ";", "&amp;"]),
                max_size=20).map("".join))
def test_one_unescaping_pass_equals_unescaping_until_nothing_changes(text: str) -> None:
    # Slack's escapes undone one level per pass, as often as needed (what normalise did):
    # the single pass over `&(amp;)*(lt;|gt;)?` gives the same text.
    reference = text
    while True:
        undone = reference.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        if undone == reference:
            break
        reference = undone
    assert slack_text._ESCAPED.sub(slack_text._unescaped, text) == reference


def _fit(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


# The hostile shapes of a 40,000-character Slack message (also in bench/hostile_bench.py).
SHAPES: dict[str, Callable[[int], str]] = {
    "amp_chain": lambda n: "&" + "amp;" * ((n - 4) // 4) + "lt;",
    "raw_lt": lambda n: "<" * n,
    "lt_bar": lambda n: _fit("<<<<|", n),
    "markers": lambda n: _fit("*_~", n),
    "backticks": lambda n: _fit("``` `` `a", n),
    "emoji_codes": lambda n: _fit(":a::a:", n),
    "nested_links": lambda n: "&lt;#C1|" * (n // 13) + "x" + "&gt;" * (n // 13),
    "escaped_mentions": lambda n: _fit("&lt;@U1&gt;", n),
    "format_codes": lambda n: _fit("*_:+1:_*", n),
}


def _passes(text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    calls = 0
    once = slack_text._once

    def counted(value: str) -> str:
        nonlocal calls
        calls += 1
        return once(value)

    monkeypatch.setattr(slack_text, "_once", counted)
    normalise(text)
    monkeypatch.setattr(slack_text, "_once", once)
    return calls


@pytest.mark.parametrize("shape", SHAPES)
def test_hostile_text_takes_a_bounded_number_of_passes(shape: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Each pass is a handful of linear regular expressions; what was quadratic was the number
    # of passes (one per `amp;` of a chain, one per level of nesting).
    for size in (4_000, 40_000):
        assert _passes(SHAPES[shape](size), monkeypatch) <= MAX_PASSES


@pytest.mark.parametrize(("text", "clean"), [
    ("&" + "amp;" * 10_000 + "lt;", "<"),
    ("&amp;amp;" * 5_000, "&" * 5_000),
    ("&" + "amp;" * 5_000 + "lt;@U1&" + "amp;" * 5_000 + "gt; hola", "hola"),
    ("<" * 40_000, "<" * 40_000),  # typed angle brackets stay
    ("<<<<|" * 8_000, "<<<<|" * 8_000),
    ("*_~" * 13_000, "*_~" * 13_000),  # markers around nothing mark nothing
    ("``````" * 6_000 + "ok", "ok"),  # code blocks go
    (":a:" * 13_000, ""),  # unknown emoji codes go
    (":tada:" * 6_000, " ".join(["🎉"] * 6_000)),
    ("*bien* " * 5_000, " ".join(["bien"] * 5_000)),
    ("_:+1:_ " * 5_000, " ".join(["_ 👍 _"] * 5_000)),  # markers touching no word stay
])
def test_hostile_text_normalises_as_the_rules_say(text: str, clean: str) -> None:
    assert normalise(text) == clean


def test_markup_nested_past_the_bound_loses_its_markup_characters() -> None:
    depth = 3_000
    text = "&lt;#C1|" * depth + "ok" + "&gt;" * depth
    clean = normalise(text)
    assert "ok" in clean and not set(clean) & set("<>&")
    assert normalise(clean) == clean


def test_only_the_first_characters_of_a_long_message_are_scored() -> None:
    words = "the deploy went great " * 5_000  # 110,000 characters
    scored = scored_text(words)
    assert len(scored) <= MAX_SCORED_CHARACTERS and words.startswith(scored)
    assert not scored.endswith(" ") and scored.split()[-1] in words.split()  # whole words
    analyzer = Analyzer()
    assert analyzer.score(words) == analyzer.score(scored)
    assert analyzer.score("the deploy went great") == analyzer.score("the deploy went great")
