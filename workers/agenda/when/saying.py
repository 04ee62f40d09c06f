"""Saying it back: a `When` in words, as echoed before saving."""

from __future__ import annotations

import re
from datetime import datetime

from workers.agenda.when.model import When
from workers.agenda.when.resolving import _rule_fields, _split_until
from workers.agenda.when.vocabulary import _RRULE_DAYS
from workers.agenda.when.wording import _DAY_NAMES, _MONTH_NAMES, _format_clock, _format_day

_DAY_PLURALS_ES = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábados", "domingos"]
_ORDINAL_NAMES = {
    "en": {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"},
    "es": {1: "primer", 2: "segundo", 3: "tercer", 4: "cuarto", -1: "último"},
}


def _join(words: list[str], lang: str) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + (" y " if lang == "es" else " and ") + words[-1]


def _english_ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10,
                                                                                     "th")
    return f"{number}{suffix}"


def _describe_rule(text: str, lang: str) -> str:
    """An RRULE in words: "every Monday", "todos los lunes"; the raw rule if it is unusual."""
    fields = _rule_fields(text)
    fields.pop("UNTIL", None)  # said apart, as a day in the user's zone
    clock = ""
    if fields.get("BYHOUR", "").isdigit() and fields.get("BYMINUTE", "").isdigit():
        # Only written when the first one fell in a DST gap: say the time the rule keeps.
        moment = datetime(2000, 1, 1, int(fields.pop("BYHOUR")), int(fields.pop("BYMINUTE")))
        clock = " " + _format_clock(moment, lang)
    words = _describe_fields(fields, lang)
    return f"RRULE {text}" if words is None else words + clock


def _describe_fields(fields: dict[str, str], lang: str) -> str | None:
    es = lang == "es"
    freq = fields.pop("FREQ", "")
    interval = int(fields.pop("INTERVAL", "1"))
    days = [day for day in fields.pop("BYDAY", "").split(",") if day]
    monthday = fields.pop("BYMONTHDAY", None)
    month = fields.pop("BYMONTH", None)
    if fields:  # COUNT, BYSETPOS...: not worth putting into words
        return None
    if freq in ("MINUTELY", "HOURLY", "DAILY") and not (days or monthday or month):
        if interval == 1:
            english = {"MINUTELY": "every minute", "HOURLY": "every hour", "DAILY": "every day"}
            spanish = {"MINUTELY": "cada minuto", "HOURLY": "cada hora", "DAILY": "todos los días"}
            return (spanish if es else english)[freq]
        english = {"MINUTELY": "minutes", "HOURLY": "hours", "DAILY": "days"}
        spanish = {"MINUTELY": "minutos", "HOURLY": "horas", "DAILY": "días"}
        return f"cada {interval} {spanish[freq]}" if es else f"every {interval} {english[freq]}"
    if freq == "WEEKLY" and all(day in _RRULE_DAYS for day in days) and not (monthday or month):
        numbers = sorted(_RRULE_DAYS.index(day) for day in days)
        if numbers == [0, 1, 2, 3, 4] and interval == 1:
            return "de lunes a viernes" if es else "every weekday (Monday to Friday)"
        if numbers == [5, 6] and interval == 1:
            return "todos los fines de semana" if es else "every weekend"
        if es:
            names = _join([_DAY_PLURALS_ES[n] for n in numbers], "es")
            if interval == 1:
                return f"todos los {names}" if names else "todas las semanas"
            return f"cada {interval} semanas" + (f", los {names}" if names else "")
        names = _join([_DAY_NAMES["en"][n] for n in numbers], "en")
        if interval == 1:
            return f"every {names}" if names else "every week"
        return f"every {interval} weeks" + (f" on {names}" if names else "")
    if freq == "MONTHLY" and not month:
        if es:
            every = "todos los meses" if interval == 1 else f"cada {interval} meses"
        else:
            every = "every month" if interval == 1 else f"every {interval} months"
        if monthday and monthday.isdigit() and not days:
            if es:
                return f"{every}, el día {monthday}"
            return f"{every} on the {_english_ordinal(int(monthday))}"
        position = re.fullmatch(r"(-?\d)(MO|TU|WE|TH|FR|SA|SU)", days[0]) if days else None
        if position and len(days) == 1 and not monthday and int(position[1]) in (1, 2, 3, 4, -1):
            which = _ORDINAL_NAMES[lang][int(position[1])]
            weekday = _DAY_NAMES[lang][_RRULE_DAYS.index(position[2])]
            return f"el {which} {weekday} de cada mes" if es and interval == 1 else (
                f"{every}, el {which} {weekday}" if es else f"{every} on the {which} {weekday}")
        return every if not (days or monthday) else None
    if freq == "YEARLY" and not days:
        if es:
            every = "todos los años" if interval == 1 else f"cada {interval} años"
        else:
            every = "every year" if interval == 1 else f"every {interval} years"
        if month and monthday and month.isdigit() and monthday.isdigit():
            name = _MONTH_NAMES[lang][int(month) - 1]
            return f"{every}, el {monthday} de {name}" if es else f"{every} on {monthday} {name}"
        return every if not (month or monthday) else None
    return None


def describe(when: When, lang: str) -> str:
    """The exact time in words, in the user's timezone: what to echo back before saving."""
    lang = lang if lang in ("en", "es") else "en"
    start = when.start
    zone = start.tzinfo
    zone_name = getattr(zone, "key", None) or start.tzname() or "UTC"
    text = f"{_format_day(start.date(), lang)} {_format_clock(start, lang)} ({zone_name})"
    if when.rrule:
        text += ", " + _describe_rule(when.rrule, lang)
        if zone is not None:
            until = _split_until(when.rrule, zone)[1]
            if until is not None:
                last = _format_day(until.astimezone(zone).date(), lang)
                text += f", hasta el {last}" if lang == "es" else f", until {last}"
    if not when.time_given:
        if lang == "es":
            assumed = f"la {start:%H:%M}" if start.hour == 1 else f"las {start:%H:%M}"
            text += f" — no se indicó la hora, se asume{'' if start.hour == 1 else 'n'} {assumed}"
        else:
            text += f" — no time was given, {start:%H:%M} assumed"
    return text
