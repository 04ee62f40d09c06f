"""Sentiment of Slack messages in Spanish and English: the public scoring API.

Pure: no Slack, no database, no Celery. A message is normalised (`slack_text`), its language
decided (`language`, or the caller's fallback — the channel's usual language — when the text
is too short to tell), then scored by VADER (English) or the Spanish VADER-style scorer
(`spanish`). Both give a compound score in [-1, 1]; `label` turns it into one of `LABELS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workers.sentiment.english import EnglishScorer
from workers.sentiment.language import decide, detect_language, guess
from workers.sentiment.slack_text import normalise
from workers.sentiment.spanish import SpanishScorer

__all__ = ["LABELS", "NEGATIVE", "POSITIVE", "Analyzer", "Score", "detect_language", "label",
           "normalise"]

LABELS = ("negative", "neutral", "positive")
# Label thresholds on the compound score, chosen on the tuning halves of the labelled Slack
# sets only (`python -m workers.sentiment.evaluate --thresholds`): the mean of the English and
# Spanish macro-F1 is maximised on a 0.05 grid. One pair serves both languages: the Spanish
# scorer uses VADER's scale. A score at or above POSITIVE is positive, at or below NEGATIVE
# negative; the channel summaries should count shares with the same thresholds.
POSITIVE = 0.15
NEGATIVE = -0.15


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
        return self.spanish.polarity(clean) if lang == "es" else self.english.polarity(clean)

    def score(self, text: str, fallback_lang: str | None = None) -> Score:
        """The sentiment of a Slack message; `fallback_lang` for text too short to tell."""
        clean = normalise(text)
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
