"""The one escaping function for user text the bot writes back to Slack."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estafeta.mrkdwn import escape, fit, unescape

# Random text, and random text made of the pieces Slack markup is built from.
_ANY_TEXT = st.text()
_MARKUP_TEXT = st.lists(st.sampled_from(
    [*"<>&|!@#^:;/ ampltg", "&amp;", "&lt;", "&gt;", "<!channel>", "<@U1>", "https://"]),
    max_size=40).map("".join)
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


@settings(max_examples=500, deadline=None)
@given(st.one_of(_ANY_TEXT, _MARKUP_TEXT))
def test_escaped_text_has_no_control_characters_and_round_trips(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    # Every `&` left starts one of Slack's three escapes: no raw `&` can start an entity.
    assert _ENTITY.sub("", escaped).count("&") == 0
    assert unescape(escaped) == text


@settings(max_examples=200, deadline=None)
@given(_MARKUP_TEXT)
def test_escaping_is_not_undone_by_escaping_again(text: str) -> None:
    # Escaped twice, it reads as the escaped form: nothing collapses back into markup.
    assert unescape(escape(escape(text))) == escape(text)


@pytest.mark.parametrize(("typed", "inert"), [
    ("<!channel>", "&lt;!channel&gt;"),
    ("<!here>", "&lt;!here&gt;"),
    ("<!everyone>", "&lt;!everyone&gt;"),
    ("<!subteam^S1|@team>", "&lt;!subteam^S1|@team&gt;"),
    ("<@U1>", "&lt;@U1&gt;"),
    ("<https://evil|label>", "&lt;https://evil|label&gt;"),
    ("Q&A", "Q&amp;A"),
    ("&lt;!channel&gt;", "&amp;lt;!channel&amp;gt;"),
])
def test_slack_markup_typed_by_a_user_stays_text(typed: str, inert: str) -> None:
    assert escape(typed) == inert
    assert unescape(inert) == typed


# Mrkdwn as the bot writes it: escaped user text, Slack's escapes and its angle-bracket tokens.
_WRITTEN = st.lists(st.one_of(
    st.text(max_size=6).map(escape),
    st.sampled_from(["&amp;", "&lt;", "&gt;", "<#C123|general>", "<@U1>", "<!here>",
                     "<https://example.com/a?b=c&amp;d|a &amp; b>", "*", "…", " "])),
    max_size=30).map("".join)
_WHOLE = re.compile(r"<[^<>]*>|&(?:amp|lt|gt);")


@settings(max_examples=500, deadline=None)
@given(_WRITTEN, st.integers(min_value=1, max_value=80))
def test_fit_cuts_to_the_limit_between_tokens(text: str, limit: int) -> None:
    cut = fit(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
        return
    assert cut.endswith("…")
    kept = cut[:-1]
    assert text.startswith(kept)
    # The cut falls outside every escape and token: what is kept holds only whole ones.
    assert all(not m.start() < len(kept) < m.end() for m in _WHOLE.finditer(text))


@pytest.mark.parametrize(("text", "limit", "cut"), [
    ("a" * 10, 20, "a" * 10),
    ("a" * 16 + "&amp;" * 3, 20, "a" * 16 + "…"),
    ("a" * 10 + "&amp;" * 3, 20, "a" * 10 + "&amp;" + "…"),
    ("see <#C123|general> now", 12, "see …"),
    ("see <#C123|general> now", 20, "see <#C123|general>…"),
    ("hi <@U123> there", 8, "hi …"),
    ("<https://example.com|a link>", 10, "…"),
    ("Q&amp;A time", 3, "Q…"),
    ("abc", 3, "abc"),
    ("abcd", 1, "…"),
    ("abcd", 0, ""),
])
def test_fit_drops_a_token_or_escape_it_would_cut_through(text: str, limit: int,
                                                           cut: str) -> None:
    assert fit(text, limit) == cut
