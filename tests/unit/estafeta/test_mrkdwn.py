"""The one escaping function for user text the bot writes back to Slack."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estafeta.mrkdwn import escape, unescape

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
