"""Sentiment of Slack messages in Spanish and English: the public scoring API.

Pure: no Slack, no database, no Celery. A message is normalised (`slack_text`), its language
decided (`language`, or the caller's fallback — the channel's usual language — when the text
is too short to tell), then its first `MAX_SCORED_CHARACTERS` scored by VADER (English) or
the Spanish VADER-style scorer (`spanish`). Both give a compound score in [-1, 1]; `label`
turns it into one of `LABELS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workers.sentiment.english import EnglishScorer
from workers.sentiment.language import decide, detect_language, guess
from workers.sentiment.slack_text import normalise
from workers.sentiment.spanish import SpanishScorer

__all__ = ["LABELS", "MAX_SCORED_CHARACTERS", "NEGATIVE", "POSITIVE", "Analyzer", "Score",
           "detect_language", "label", "normalise", "scored_text"]

LABELS = ("negative", "neutral", "positive")
# Label thresholds on the compound score, chosen on the tuning halves of the labelled Slack
# sets only (`python -m workers.sentiment.evaluate --thresholds`): the mean of the English and
# Spanish macro-F1 is maximised on a 0.05 grid. One pair serves both languages: the Spanish
# scorer uses VADER's scale. A score at or above POSITIVE is positive, at or below NEGATIVE
# negative; the channel summaries should count shares with the same thresholds.
POSITIVE = 0.15
NEGATIVE = -0.15

# A message is scored on its first 1,000 characters of normalised text. That is ten times the
# longest of the 723 labelled Slack messages (106 characters), and by then the compound score
# has long saturated (x / sqrt(x² + 15) is 0.98 at x = 20: a few dozen sentiment words).
# Past it, cost is all that grows, and VADER's grows with the square of the words (its idiom
# and `but` checks re-read the message for every sentiment word): 7 ms at 1,000 characters of
# the worst text, 85 ms at 4,000, seconds at Slack's 40,000.
MAX_SCORED_CHARACTERS = 1_000
# Raw text read to find them: markup, links and code shrink when normalised, so ten times as
# much; the rest of a 40,000-character message is not even normalised.
MAX_READ_CHARACTERS = 10 * MAX_SCORED_CHARACTERS


def _prefix(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, cut at a space when one is near the end."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(" ", 0, limit + 1), text.rfind("\n", 0, limit + 1))
    return text[:cut] if cut > limit // 2 else text[:limit]


def scored_text(text: str) -> str:
    """The part of a Slack message that is scored: normalised, at most 1,000 characters."""
    return _prefix(normalise(_prefix(text, MAX_READ_CHARACTERS)), MAX_SCORED_CHARACTERS)


def label(compound: float) -> str:
    """`negative`, `neutral` or `positive` for a compound score."""
    if compound >= POSITIVE:
        return "positive"
    if compound <= NEGATIVE:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class Score:
    """The sentiment of one message."""

    compound: float  # in [-1, 1]
    label: str  # one of LABELS
    lang: str  # "es" or "en": the language it was scored as


class Analyzer:
    """Scores Slack messages; build one per process (loading takes about a second)."""

    def __init__(self) -> None:
        self.english = EnglishScorer()
        self.spanish = SpanishScorer()

    def compound(self, clean: str, lang: str) -> float:
        """The compound score of normalised text in a given language (`es` or `en`)."""
        clean = _prefix(clean, MAX_SCORED_CHARACTERS)
        return self.spanish.polarity(clean) if lang == "es" else self.english.polarity(clean)

    def score(self, text: str, fallback_lang: str | None = None) -> Score:
        """The sentiment of a Slack message; `fallback_lang` for text too short to tell."""
        clean = scored_text(text)
        lang = decide(clean, fallback_lang)
        if lang is None:
            # Undecidable and no usual language to fall back on (`genial`, `lol`, `👍`): the
            # scorer that recognises more sentiment is the likelier language.
            spanish, english = self.spanish.polarity(clean), self.english.polarity(clean)
            if abs(spanish) == abs(english):
                lang = guess(clean)[0]
                compound = spanish if lang == "es" else english
            else:
                lang, compound = ("es", spanish) if abs(spanish) > abs(english) else (
                    "en", english)
        else:
            compound = self.compound(clean, lang)
        compound = round(compound, 4)
        return Score(compound, label(compound), lang)

    def score_many(self, texts: Sequence[str], fallback_lang: str | None = None) -> list[Score]:
        """The sentiment of each message, in order; repeated texts are scored once."""
        seen: dict[str, Score] = {}
        scores = []
        for text in texts:
            found = seen.get(text)
            if found is None:
                found = seen[text] = self.score(text, fallback_lang)
            scores.append(found)
        return scores
