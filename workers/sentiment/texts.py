"""What the sentiment service says, in English and Spanish."""

from __future__ import annotations

from typing import Any

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "empty": "Give me a text to analyse: `/mood analyze <text>`.",
        "score": "{label} ({score:+.2f}, read as {lang})",
        "none": "I have heard no messages from {subject} in the last {days} days.",
        "usage": "I don't understand `{word}`. Try `/mood`, `/mood #channel 30d` or "
                 "`/mood @me`.",
        "period": "The period must be from 1d to {max}d.",
        "only_self": "You can only see your own mood: `/mood @me`.",
        "no_channel": "Name a channel: `/mood #channel`.",
        "summary": "Mood of {subject} over the last {days} days: *{label}* ({average:+.2f}) "
                   "from {messages} messages; {pos:.0%} positive, {neg:.0%} negative.",
        "trend_up": "Better than the {days} days before ({previous:+.2f}).",
        "trend_down": "Worse than the {days} days before ({previous:+.2f}).",
        "trend_flat": "About the same as the {days} days before ({previous:+.2f}).",
        "worst": "Most negative moment: {day} ({average:+.2f} over {messages} messages).",
        "chart_title": "Mood over the last {days} days",
        "alerts_where": "Alerts belong to a channel: use `/mood alerts on` in it.",
        "alerts_usage": "Use `/mood alerts on` or `/mood alerts off`.",
        "alerts_on": "Mood alerts are on for <#{channel}>: I'll post here (at most every "
                     "6 hours) when the last hour is well below the usual mood.",
        "alerts_off": "Mood alerts are off for <#{channel}>.",
        "alert": ":warning: The mood in <#{channel}> has dropped: {recent:+.2f} over the last "
                 "{count} messages of the hour, against {baseline:+.2f} usually. "
                 "Maybe worth checking in.",
        "home_title": "*Mood of your channels* over the last {days} days",
        "home_line": "{channel} – *{label}* ({average:+.2f}) from {messages}{trend}",
        "home_quiet": "{channel} – no messages in the last {days} days",
        "home_none": "When you write in channels I am in, their mood shows here.",
        "home_more": "…and more: the {count} where you wrote most recently are shown.",
        "home_footer": "Channels where you wrote in the last {lookback} days. "
                       "`/mood #channel 30d` tells more.",
    },
    "es": {
        "empty": "Dame un texto que analizar: `/mood analiza <texto>`.",
        "score": "{label} ({score:+.2f}, leído como {lang})",
        "none": "No he oído mensajes de {subject} en los últimos {days} días.",
        "usage": "No entiendo `{word}`. Prueba `/mood`, `/mood #canal 30d` o `/mood @yo`.",
        "period": "El periodo va de 1d a {max}d.",
        "only_self": "Solo puedes ver tu propio ánimo: `/mood @yo`.",
        "no_channel": "Di un canal: `/mood #canal`.",
        "summary": "Ánimo de {subject} en los últimos {days} días: *{label}* "
                   "({average:+.2f}) de {messages} mensajes; {pos:.0%} positivos, "
                   "{neg:.0%} negativos.",
        "trend_up": "Mejor que los {days} días anteriores ({previous:+.2f}).",
        "trend_down": "Peor que los {days} días anteriores ({previous:+.2f}).",
        "trend_flat": "Más o menos igual que los {days} días anteriores ({previous:+.2f}).",
        "worst": "Momento más negativo: {day} ({average:+.2f} en {messages} mensajes).",
        "chart_title": "Ánimo en los últimos {days} días",
        "alerts_where": "Las alertas son de un canal: usa `/mood alertas on` en él.",
        "alerts_usage": "Usa `/mood alertas on` o `/mood alertas off`.",
        "alerts_on": "Alertas de ánimo activadas en <#{channel}>: avisaré aquí (como mucho "
                     "cada 6 horas) cuando la última hora esté muy por debajo de lo habitual.",
        "alerts_off": "Alertas de ánimo desactivadas en <#{channel}>.",
        "alert": ":warning: El ánimo en <#{channel}> ha caído: {recent:+.2f} en los últimos "
                 "{count} mensajes de la hora, frente a {baseline:+.2f} habitualmente. "
                 "Quizá convenga preguntar qué pasa.",
        "home_title": "*Ánimo de tus canales* en los últimos {days} días",
        "home_line": "{channel} – *{label}* ({average:+.2f}) de {messages}{trend}",
        "home_quiet": "{channel} – sin mensajes en los últimos {days} días",
        "home_none": "Cuando escribas en canales donde estoy, su ánimo aparecerá aquí.",
        "home_more": "…y más: se muestran los {count} donde escribiste más recientemente.",
        "home_footer": "Canales donde escribiste en los últimos {lookback} días. "
                       "`/mood #canal 30d` cuenta más.",
    },
}
_LABELS = {
    "en": {"positive": "positive", "neutral": "neutral", "negative": "negative"},
    "es": {"positive": "positivo", "neutral": "neutral", "negative": "negativo"},
}
_MESSAGES = {"en": ("message", "messages"), "es": ("mensaje", "mensajes")}
TREND_FLAT = 0.05  # a change of the average smaller than this is "about the same"


def get(lang: str, key: str) -> str:
    """The text `key` in `lang` (English when the language is unknown)."""
    return _TEXTS.get(lang, _TEXTS["en"])[key]


def label(lang: str, name: str) -> str:
    """A label (negative, neutral, positive) in `lang`."""
    return _LABELS.get(lang, _LABELS["en"])[name]


def summary(lang: str, data: dict[str, Any]) -> str:
    """The summary of `handlers.summarise`'s data, for people."""
    lines = [get(lang, "summary").format(
        subject=data["subject"], days=data["days"], label=label(lang, data["label"]),
        average=data["average"], messages=data["messages"], pos=data["positive_share"],
        neg=data["negative_share"])]
    if data["trend"] is not None:
        trend = data["trend"]
        key = "trend_flat" if abs(trend) < TREND_FLAT else (
            "trend_up" if trend > 0 else "trend_down")
        lines.append(get(lang, key).format(days=data["days"],
                                           previous=data["previous_average"]))
    worst = data["most_negative"]
    if worst is not None and worst["average"] < 0:
        lines.append(get(lang, "worst").format(**worst))
    return "\n".join(lines)


def trend_mark(trend: float | None) -> str:
    """An emoji after a Home line when the mood rose or fell against the period before."""
    if trend is None or abs(trend) < TREND_FLAT:
        return ""
    return " :chart_with_upwards_trend:" if trend > 0 else " :chart_with_downwards_trend:"


def messages(lang: str, count: int) -> str:
    """`1 message`, `2 messages`, in `lang`."""
    one, many = _MESSAGES.get(lang, _MESSAGES["en"])
    return f"{count} {one if count == 1 else many}"
