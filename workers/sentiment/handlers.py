"""The sentiment service's handlers: score what is heard, answer `/mood`."""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from grammar import Command
from payloads import Context, HeardMessage
from settings import Settings
from workers.replies import Reply
from workers.sentiment.scores import ScoreStore, label
from workers.service import ServiceHandlers

SUMMARY_DAYS = 7

_TEXTS = {
    "en": {
        "empty": "Give me a text to analyse: `/mood analyze <text>`.",
        "score": "{label} ({score:+.2f})",
        "none": "I have heard no messages in <#{channel}> in the last {days} days.",
        "summary": (
            "Mood of <#{channel}> over the last {days} days: {label} ({average:+.2f}) "
            "from {messages} messages; {pos:.0%} positive, {neg:.0%} negative."
        ),
    },
    "es": {
        "empty": "Dame un texto que analizar: `/mood analiza <texto>`.",
        "score": "{label} ({score:+.2f})",
        "none": "No he oído mensajes en <#{channel}> en los últimos {days} días.",
        "summary": (
            "Ánimo de <#{channel}> en los últimos {days} días: {label} ({average:+.2f}) "
            "de {messages} mensajes; {pos:.0%} positivos, {neg:.0%} negativos."
        ),
    },
}
_LABELS = {
    "en": {"positive": "positive", "neutral": "neutral", "negative": "negative"},
    "es": {"positive": "positivo", "neutral": "neutral", "negative": "negativo"},
}


def build_handlers(settings: Settings) -> ServiceHandlers:
    """Handlers bound to this deployment's score file."""
    store = ScoreStore(settings.data_dir / "sentiment.sqlite")
    analyzer = SentimentIntensityAnalyzer()

    def score(text: str) -> float:
        return float(analyzer.polarity_scores(text)["compound"])

    def on_heard(message: HeardMessage) -> None:
        if message.deleted:
            store.delete(message.team, message.channel, message.ts)
        else:
            store.put(message.team, message.channel, message.ts, message.user,
                      score(message.text), public=message.channel_type == "channel")

    def analyze(command: Command, context: Context) -> Reply:
        texts = _TEXTS[command.lang]
        if not command.args:
            return Reply(texts["empty"], {"error": "empty"})
        value = score(command.args)
        name = label(value)
        text = texts["score"].format(label=_LABELS[command.lang][name], score=value)
        return Reply(text, {"score": value, "label": name})

    def summary(command: Command, context: Context) -> Reply:
        texts = _TEXTS[command.lang]
        result = store.summary(context.team, context.channel, SUMMARY_DAYS,
                               include_private=context.inside == context.channel)
        data = {"channel": context.channel, "days": SUMMARY_DAYS, **result.__dict__}
        if not result.messages:
            return Reply(texts["none"].format(channel=context.channel, days=SUMMARY_DAYS), data)
        text = texts["summary"].format(
            channel=context.channel, days=SUMMARY_DAYS,
            label=_LABELS[command.lang][label(result.average)], average=result.average,
            messages=result.messages, pos=result.positive_share, neg=result.negative_share,
        )
        return Reply(text, data)

    return ServiceHandlers(commands={"analyze": analyze, "summary": summary}, on_heard=on_heard)
