"""The sentiment section of the App Home tab: the person's channels and their mood, against a
real store (on both backends)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from estafeta import grammar
from estafeta.grammar import Command
from estafeta.payloads import Context
from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.replies import SlackReplier
from workers.sentiment.analysis import Analyzer
from workers.sentiment.handlers import HOME_CHANNELS, Mood, build_handlers
from workers.sentiment.scores import Scored
from workers.service import check_handlers

DAY = 86400.0
HOME = Context(team="T1", channel="D1", user="U1", channel_type="im", source="home")


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture
def mood(store_settings: Settings, fake_slack: FakeSlack, analyzer: Analyzer) -> Mood:
    stores = open_stores(store_settings, "sentiment")
    return Mood(stores.moods, analyzer, SlackReplier(fake_slack.api_url, BOT_TOKEN,
                                                     stores.ledger))


def _put(mood: Mood, channel: str, user: str, score: float, *, ago: float = 3600.0,
         team: str = "T1", public: bool = True) -> None:
    mood.store.put(Scored(team, channel, f"{time.time() - ago:.6f}", user, score, "en",
                          public))


def _text(blocks: list[dict[str, Any]]) -> str:
    """Every mrkdwn text of the section, in order."""
    texts = []
    for block in blocks:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts.extend(element["text"] for element in block["elements"])
    return "\n".join(texts)


def test_each_channel_the_person_wrote_in_shows_the_figures_of_mood(mood: Mood) -> None:
    _put(mood, "C1", "U1", 0.8)
    _put(mood, "C1", "U2", 0.6, ago=7200)
    _put(mood, "C1", "U2", -0.1, ago=9 * DAY)  # the 7 days before: the trend
    _put(mood, "C2", "U1", -0.7, ago=2 * DAY)
    _put(mood, "C3", "U2", 0.9)  # the person never wrote there
    blocks = mood.home(HOME, "en")
    assert [b["type"] for b in blocks] == ["section", "context"]
    text = _text(blocks)
    assert "*Mood of your channels* over the last 7 days" in text
    # The same figures `/mood #channel` answers.
    summary = mood.summary(Command("sentiment", "summary", "<#C1>", "en"),
                           Context(team="T1", channel="C9", user="U1", source="slash"))
    assert summary.data["messages"] == 2 and summary.data["average"] == pytest.approx(0.7)
    assert "<#C1> – *positive* (+0.70) from 2 messages :chart_with_upwards_trend:" in text
    assert "<#C2> – *negative* (-0.70) from 1 message\n" in text
    assert "C3" not in text
    # The most recently written in first.
    assert text.index("<#C1>") < text.index("<#C2>")


def test_a_private_channel_counts_only_for_who_wrote_there_and_teams_never_mix(
    mood: Mood,
) -> None:
    _put(mood, "G1", "U2", -0.9, public=False)
    _put(mood, "G1", "U2", -0.8, public=False)
    _put(mood, "CX", "U1", 0.5, team="T2")  # the same person id in another team
    outsider = _text(mood.home(HOME, "en"))
    assert "G1" not in outsider and "CX" not in outsider
    assert "When you write in channels I am in" in outsider
    _put(mood, "G1", "U1", 0.3, public=False)
    member = _text(mood.home(HOME, "en"))
    # A member sees the whole channel's mood, the others' messages included.
    assert "<#G1> – *negative* (-0.47) from 3 messages" in member
    assert "CX" not in member
    other_team = _text(mood.home(Context(team="T2", user="U1", source="home"), "en"))
    assert "<#CX>" in other_team and "G1" not in other_team


def test_the_section_speaks_the_persons_language(mood: Mood) -> None:
    _put(mood, "C1", "U1", -0.6)
    _put(mood, "C2", "U1", 0.2, ago=10 * DAY)  # wrote there, but not this week
    text = _text(mood.home(HOME, "es"))
    assert "*Ánimo de tus canales* en los últimos 7 días" in text
    assert "<#C1> – *negativo* (-0.60) de 1 mensaje\n" in text
    assert "<#C2> – sin mensajes en los últimos 7 días" in text
    assert "Canales donde escribiste en los últimos 30 días" in text


def test_at_most_ten_channels_and_never_the_direct_conversation(mood: Mood) -> None:
    _put(mood, "D1", "U1", 0.5, public=False, ago=60)  # the person's DM with the bot
    for n in range(HOME_CHANNELS + 3):
        _put(mood, f"C{n:02d}", "U1", 0.1, ago=3600 + n * 3600)
    blocks = mood.home(HOME, "en")
    text = _text(blocks)
    assert "D1" not in text
    assert text.count("<#C") == HOME_CHANNELS and "<#C00>" in text
    assert "…and more" in text
    assert len(blocks[0]["text"]["text"]) <= 3000  # Slack's limit of a section's text


def test_nobody_opening_no_home_and_the_declaration_matches_the_handlers(mood: Mood) -> None:
    assert mood.home(Context(team="T1", source="home"), "en") == []
    handlers = build_handlers(mood.store, mood.analyzer, mood.replier)
    declared = grammar.declaration("sentiment")
    assert declared.home and handlers.home is not None
    check_handlers("sentiment", declared, handlers)  # raises on a mismatch
    assert {"channels:history", "groups:history", "chat:write",
            "files:write"} <= set(declared.scopes)


def test_a_private_channel_one_stopped_writing_in_is_no_longer_shown(mood: Mood) -> None:
    _put(mood, "G2", "U1", 0.4, public=False, ago=20 * DAY)  # long ago: perhaps they left
    _put(mood, "G2", "U2", -0.9, public=False)  # what its members say now
    _put(mood, "C2", "U1", 0.4, ago=20 * DAY)  # a public channel stays listed
    shown = _text(mood.home(HOME, "en"))
    assert "G2" not in shown and "<#C2>" in shown
    _put(mood, "G2", "U1", 0.2, public=False)  # writing there again
    assert "<#G2>" in _text(mood.home(HOME, "en"))
