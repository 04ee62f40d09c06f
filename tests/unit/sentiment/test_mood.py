"""The `/mood` commands and alerts against a real store (on both backends) and the fake Slack
over HTTP."""

from __future__ import annotations

import time

import pytest

from estafeta.grammar import Command
from estafeta.mrkdwn import escape
from estafeta.payloads import Context, HeardMessage
from estafeta.settings import Settings
from estafeta.stores import open_stores
from slacksim.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN
from workers.replies import SlackReplier
from workers.sentiment.analysis import Analyzer
from workers.sentiment.handlers import ALERT_EVERY, Mood
from workers.sentiment.scores import Scope, Scored

SLASH = Context(team="T1", channel="C1", user="U1", channel_type="channel", source="slash")
API = Context(team="T1", channel="C1", user="api", source="api")
DAY = 86400.0


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture
def mood(store_settings: Settings, fake_slack: FakeSlack, analyzer: Analyzer) -> Mood:
    stores = open_stores(store_settings, "sentiment")
    replier = SlackReplier(fake_slack.api_url, BOT_TOKEN, stores.ledger)
    return Mood(stores.moods, analyzer, replier)


def _ask(mood: Mood, verb: str, args: str = "", context: Context = SLASH,
         lang: str = "en") -> tuple[str, dict[str, object], object]:
    handler = {"summary": mood.summary, "analyze": mood.analyze, "alerts": mood.alerts}[verb]
    reply = handler(Command("sentiment", verb, args, lang), context)
    return reply.text, reply.data, reply.upload


def _history(mood: Mood, scores: list[tuple[float, float]], channel: str = "C1",
             public: bool = True) -> None:
    """Scores at (seconds ago, score)."""
    now = time.time()
    mood.store.put_many(Scored("T1", channel, f"{now - ago:.6f}", f"U{n % 3}", score, "en",
                               public) for n, (ago, score) in enumerate(scores))


def test_heard_messages_are_scored_once_and_edits_rescored(mood: Mood) -> None:
    ts = f"{time.time():.6f}"
    message = HeardMessage("T1", "C1", ts, "U1", "This release is great, thank you all!",
                           "channel")
    mood.on_heard(message)
    mood.on_heard(message)
    (day,) = mood.store.days(Scope("T1", channel="C1"), time.time() - DAY, time.time() + 1)
    assert day.messages == 1 and day.average > 0.3
    mood.on_heard(HeardMessage("T1", "C1", ts, "U1", "This release is a disaster.",
                               "channel", subtype="message_changed"))
    (day,) = mood.store.days(Scope("T1", channel="C1"), time.time() - DAY, time.time() + 1)
    assert day.messages == 1 and day.average < -0.3


def test_summary_has_average_shares_trend_worst_moment_and_a_chart(
    mood: Mood, fake_slack: FakeSlack
) -> None:
    before = [(DAY * 9, 0.6), (DAY * 8, 0.5)]  # the 7 days before: cheerful
    _history(mood, [*before, (DAY * 3, -0.8), (DAY * 3 - 60, -0.6), (DAY * 1, 0.4),
                    (3600, 0.0)])
    text, data, upload = _ask(mood, "summary")
    assert data["messages"] == 4 and data["average"] == pytest.approx(-0.25)
    assert data["positive_share"] == 0.25 and data["negative_share"] == 0.5
    assert data["previous_average"] == pytest.approx(0.55) and data["trend"] < 0
    worst = data["most_negative"]
    assert isinstance(worst, dict) and worst["score"] == -0.8
    assert "Worse than the 7 days before" in text and "Most negative moment" in text
    assert len(data["series"]) == 3  # type: ignore[arg-type]
    assert upload is not None and upload.content.startswith(b"\x89PNG")  # type: ignore
    assert upload.channel.startswith("D")  # type: ignore[attr-defined]


def test_summary_of_another_channel_and_period(mood: Mood) -> None:
    _history(mood, [(DAY * 20, -0.5), (DAY * 2, 0.5)], channel="C2")
    _, data, _ = _ask(mood, "summary", "<#C2|random> 30d")
    assert data["subject"] == "<#C2>" and data["days"] == 30 and data["messages"] == 2
    _, data, _ = _ask(mood, "summary", "<#C2>")
    assert data["messages"] == 1


def test_private_channel_summary_only_from_inside(mood: Mood) -> None:
    _history(mood, [(DAY, -0.5)], channel="G1", public=False)
    assert _ask(mood, "summary", "<#G1>")[1]["messages"] == 0
    inside = Context(team="T1", channel="G1", user="U1", channel_type="group", source="slash")
    assert _ask(mood, "summary", "", inside)[1]["messages"] == 1


def test_user_mood_only_for_the_user_themself(mood: Mood) -> None:
    _history(mood, [(DAY, 0.5), (DAY + 1, 0.7), (DAY + 2, -0.2)])  # users U0, U1, U2
    text, data, _ = _ask(mood, "summary", "<@U2>")
    assert data == {"error": "usage"} and "only see your own" in text
    _, data, _ = _ask(mood, "summary", "@me 30d")
    assert data["subject"] == "<@U1>" and data["messages"] == 1
    assert _ask(mood, "summary", "@me", API)[1] == {"error": "usage"}


def test_http_callers_get_the_series_as_json_and_no_upload(mood: Mood) -> None:
    _history(mood, [(DAY, 0.5)])
    _, data, upload = _ask(mood, "summary", "", API)
    assert upload is None and data["series"][0]["messages"] == 1  # type: ignore[index]


def test_bad_arguments_get_a_usage_reply(mood: Mood) -> None:
    assert "1d to 365d" in _ask(mood, "summary", "900d")[0]
    assert _ask(mood, "summary", "<#C1> frobnicate")[1] == {"error": "usage"}


def test_analyze_in_both_languages(mood: Mood) -> None:
    text, data, _ = _ask(mood, "analyze", "qué desastre de reunión, no sirvió para nada",
                         lang="es")
    assert data["label"] == "negative" and data["lang"] == "es" and "negativo" in text
    _, data, _ = _ask(mood, "analyze", "Thanks, that fixed it! :tada:")
    assert data["label"] == "positive" and data["lang"] == "en"


def test_alert_fires_once_when_the_last_hour_is_far_below_the_baseline(
    mood: Mood, fake_slack: FakeSlack
) -> None:
    assert "on for <#C1>" in _ask(mood, "alerts", "on")[0]
    _history(mood, [(DAY * d + n * 60, 0.4) for d in range(1, 8) for n in range(5)])
    _history(mood, [(600 + n, -0.7) for n in range(6)])
    assert mood.check_alert("T1", "C1") is True
    assert mood.check_alert("T1", "C1") is False  # rate-limited
    (alert,) = fake_slack.posted("C1")
    assert "dropped" in alert["text"]
    # Six hours on, the channel is still sour: one more alert, no sooner.
    _history(mood, [(-ALERT_EVERY + n, -0.7) for n in range(6)])
    assert mood.check_alert("T1", "C1", now=time.time() + ALERT_EVERY - 60) is False
    assert mood.check_alert("T1", "C1", now=time.time() + ALERT_EVERY + 1) is True
    assert len(fake_slack.posted("C1")) == 2


def test_no_alert_without_opt_in_or_without_a_real_drop(mood: Mood,
                                                        fake_slack: FakeSlack) -> None:
    _history(mood, [(DAY * d + n * 60, 0.4) for d in range(1, 8) for n in range(5)])
    _history(mood, [(600 + n, -0.7) for n in range(6)])
    assert mood.check_alert("T1", "C1") is False  # not opted in
    _ask(mood, "alerts", "off")
    assert mood.check_alert("T1", "C1") is False
    _history(mood, [(DAY * d, -0.5) for d in range(1, 8)], channel="C3")
    _history(mood, [(600 + n, -0.6) for n in range(6)], channel="C3")
    mood.store.set_alerts("T1", "C3", True, "en", "U1")
    assert mood.check_alert("T1", "C3") is False  # gloomy, but as gloomy as usual
    assert fake_slack.posted() == []


def test_alerts_are_switched_from_inside_a_channel_only(mood: Mood) -> None:
    assert _ask(mood, "alerts", "on", API)[1] == {"error": "usage"}
    assert _ask(mood, "alerts", "maybe")[1] == {"error": "usage"}
    assert "desactivadas" in _ask(mood, "alerts", "off", lang="es")[0]


# What the bot writes back never pings or links on a user's behalf ---------------------------

@pytest.mark.parametrize("typed", ["<!channel>", "<!here>", "<!everyone>",
                                   "<!subteam^S1|@team>", "<https://evil.example|label>"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_usage_reply_quotes_the_word_escaped(mood: Mood, typed: str, lang: str) -> None:
    text, data, _ = _ask(mood, "summary", f"30d {typed}", lang=lang)
    assert data == {"error": "usage"}
    assert typed not in text and f"`{escape(typed)}`" in text


def test_an_http_callers_channel_is_not_written_as_markup(mood: Mood) -> None:
    # Only a Slack id is ever wrapped in `<#…>`; free text from an HTTP body is not one.
    hostile = Context(team="T1", channel="C1> <!channel", user="api", source="api")
    text, data, _ = _ask(mood, "summary", "", hostile)
    assert data == {"error": "usage"} and "<!channel" not in text and "Name a channel" in text


def test_a_hostile_40000_character_message_is_scored_and_stored(mood: Mood) -> None:
    text = "terrible " + "&amp;" * 4000 + "<" * 10_000 + ":a:" * 6000 + "*_~" * 2000
    assert len(text) > 40_000
    mood.on_heard(HeardMessage("T1", "C1", f"{time.time():.6f}", "U1", text, "channel"))
    (day,) = mood.store.days(Scope("T1", channel="C1"), time.time() - DAY, time.time() + 1)
    assert day.messages == 1 and day.average < 0


def test_a_summary_in_slack_is_block_kit_with_its_text_as_the_fallback() -> None:
    from workers.sentiment.handlers import summary_blocks

    text = ("Mood of <#C1> over the last 7 days: *negative* (-0.25) from 4 messages.\n"
            "Worse than the 7 days before (+0.55).\nMost negative moment: 2026-11-28.")
    headline, details = summary_blocks(text)
    assert headline == {"type": "section", "text": {"type": "mrkdwn",
                                                    "text": text.split("\n")[0]}}
    assert [e["text"] for e in details["elements"]] == text.split("\n")[1:]
    assert summary_blocks("No messages.") == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "No messages."}}]
