"""English sentiment: VADER, taught work-chat words and the emoji Slack users post most.

Plain VADER turns an emoji into its English name and scores the words, so `👍` (“thumbs up”),
`🙌`, `🚀` and `✅` score nothing and `🔥` (“fire”) scores negative. Emoji listed in
`data/emoji.tsv` are scored as words with the table's valence instead, as in Spanish.
`data/chat_en.tsv` adds words VADER lacks (`outage`, `flaky`, `lgtm`) and silences some it
scores as praise (`ok`, `please`); `super` goes too, because VADER reads it as a positive
word rather than a degree word, so `super annoying` came out positive.
"""

from __future__ import annotations

from importlib import resources

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from workers.sentiment.slack_text import EMOJI, emoji_table


def _chat_words() -> dict[str, float]:
    text = resources.files("workers.sentiment").joinpath("data/chat_en.tsv").read_text("utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {word: float(valence) for word, valence in rows}


class EnglishScorer:
    """VADER's compound score in [-1, 1] for normalised English text."""

    def __init__(self) -> None:
        self.vader = SentimentIntensityAnalyzer()
        for word, valence in _chat_words().items():
            if valence:
                self.vader.lexicon[word] = valence
            else:
                self.vader.lexicon.pop(word, None)
        valences = emoji_table()[1]
        for emoji, valence in valences.items():
            self.vader.emojis.pop(emoji, None)
            if valence:
                self.vader.lexicon[emoji] = valence

    def polarity(self, text: str) -> float:
        """Compound score in [-1, 1] of normalised English text."""
        if not text.isascii():  # VADER splits on spaces: `done✅` must be `done ✅`
            text = EMOJI.sub(r" \g<0> ", text)
        return float(self.vader.polarity_scores(text)["compound"])
