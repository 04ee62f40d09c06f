"""What a phrase becomes: `When`, `Parsed`, or `Unclear` with the question to ask; the limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workers.agenda.when.wording import _capital, _format_clock, _format_day

DEFAULT_HOUR = 9
MAX_YEARS_AHEAD = 5
# A reminder is for a person: anything more frequent is a flood of messages (and makes every
# listing walk thousands of occurrences).
MIN_REPEAT = timedelta(minutes=5)
MIN_REPEAT_MINUTES = int(MIN_REPEAT.total_seconds() // 60)

REASONS = frozenset({"no_time", "past", "ambiguous_hour", "ambiguous_date", "no_title", "too_far",
                     "too_often"})

# Hours assumed for a part of the day named without a time ("tonight", "esta tarde").
PART_HOURS = {"morning": DEFAULT_HOUR, "afternoon": 15, "evening": 19, "night": 20}

# A date without a year that fell this recently is more likely a slip than a date next year.
_RECENTLY_PAST = timedelta(days=31)


@dataclass(frozen=True)
class When:
    """When an event starts and, if it repeats, how."""

    start: datetime  # timezone-aware, in the user's timezone (zoneinfo.ZoneInfo)
    rrule: str | None  # RFC 5545 RRULE value without DTSTART, e.g. "FREQ=WEEKLY;BYDAY=MO"
    time_given: bool  # False when the user gave a date but no time (DEFAULT_HOUR was assumed)


@dataclass(frozen=True)
class Parsed:
    """A phrase split into the event title and its time."""

    what: str  # the title with the time words removed; never empty
    when: When
    lang: str  # "en" or "es": the language the phrase was written in


class Unclear(ValueError):
    """The phrase cannot be turned into a date safely; `question()` says what to ask the user."""

    reason: str  # one of REASONS
    options: tuple[datetime, ...]  # naive local readings to offer, or the time found in the past
    lang: str  # the language the phrase seemed to be written in

    def __init__(
        self, reason: str, options: tuple[datetime, ...] = (), *, with_time: bool = True
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(reason)
        self.reason = reason
        self.options = options
        self.lang = "en"
        self._with_time = with_time

    def question(self, lang: str) -> str:
        """What to ask the user, in `lang` ("en" or "es")."""
        es = lang == "es"
        shown = [self._show(option, lang) for option in self.options]
        if self.reason == "no_time":
            if es:
                return ("No encuentro ninguna fecha ni hora. Prueba: "
                        "`/agenda añade enviar el informe mañana a las 10`")
            return ("I could not find a date or time in that. Try: "
                    "`/agenda add send the report tomorrow at 10am`")
        if self.reason == "no_title":
            if es:
                return ("¿De qué te lo recuerdo? Pon el asunto y la fecha, por ejemplo: "
                        "`/agenda añade enviar el informe mañana a las 10`")
            return ("What should I remind you about? Give a title and the time, for example: "
                    "`/agenda add send the report tomorrow at 10am`")
        if self.reason == "past":
            found = f" ({shown[0]})" if shown else ""
            if es:
                return (f"Esa fecha ya ha pasado{found}. ¿Para cuándo? "
                        "Por ejemplo: `mañana a las 10`")
            return (f"That time has already passed{found}. When should it be? "
                    "For example: `tomorrow at 10am`")
        if self.reason == "too_often":
            if es:
                return (f"Como mucho puedo repetir un recordatorio cada {MIN_REPEAT_MINUTES} "
                        "minutos. Prueba por ejemplo `cada 15 minutos` o `cada hora`.")
            return (f"A reminder can repeat at most every {MIN_REPEAT_MINUTES} minutes. Try, "
                    "for example, `every 15 minutes` or `every hour`.")
        if self.reason == "too_far":
            if es:
                return (f"Eso es dentro de más de {MAX_YEARS_AHEAD} años. "
                        "Elige una fecha más cercana.")
            return (f"That is more than {MAX_YEARS_AHEAD} years ahead. "
                    "Please choose an earlier date.")
        if self.reason == "ambiguous_hour":
            if len(self.options) == 2:
                low, high = sorted(self.options, key=lambda option: option.hour)
                say = f"{low.hour}:{low.minute:02d}" if low.minute else str(low.hour)
                if es:
                    return (f"¿A las {low:%H:%M} o a las {high:%H:%M}? "
                            f"Di `{say} de la mañana` o `{say} de la tarde`.")
                return f"Did you mean {low:%H:%M} or {high:%H:%M}? Say `{say}am` or `{say}pm`."
            if es:
                return "¿A qué hora exactamente? Escribe una sola hora, por ejemplo `a las 17:00`."
            return "At what time exactly? Give one time, for example `at 17:00`."
        if len(shown) >= 2:  # ambiguous_date with readings to offer
            if es:
                return (f"¿{_capital(shown[0])} o {shown[1]}? Escribe la fecha con el nombre del "
                        "mes, por ejemplo `el 3 de diciembre`.")
            return (f"Did you mean {shown[0]} or {shown[1]}? Write the date with the month name, "
                    "for example `on 3 december`.")
        if es:
            return "¿Qué día exactamente? Por ejemplo: `el lunes`, `el 3 de diciembre`."
        return "Which day exactly? For example: `on monday`, `on 3 december`."

    def _show(self, option: datetime, lang: str) -> str:
        text = _format_day(option.date(), lang)
        if lang == "es":
            text = "el " + text
        return f"{text} {_format_clock(option, lang)}" if self._with_time else text
